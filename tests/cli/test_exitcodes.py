"""Every error burnd can name maps to a documented exit code, through one table."""

from __future__ import annotations

from burnctl.exitcodes import ERROR_EXIT, MEANING, Exit, describe, exit_for
from tests.fixtures.errors import all_error_classes

GENERIC = {"Failed", "BadConfig", "BadAutoAttachRule", "BadBacking", "StartupFailed", "CacheFull"}  # daemon-side faults: "any other failure"


def test_every_burnd_error_has_a_specific_code():
    names = {cls.dbus_name for cls in all_error_classes()}
    assert {"MediumTooSmall", "VerifyMismatch", "Cancelled", "NotAuthorized", "WrongMedium"} <= names
    unmapped = sorted(n for n in names - GENERIC if n not in ERROR_EXIT)
    assert unmapped == []


def test_named_outcomes():
    prefix = "org.burnd.Burnd1.Error."
    assert exit_for(prefix + "MediumTooSmall") is Exit.TOO_LARGE
    assert exit_for(prefix + "WrongMedium") is Exit.MEDIUM and exit_for("NoMedium") is Exit.MEDIUM
    assert exit_for(prefix + "WriteFailed") is Exit.WRITE_FAILED
    assert exit_for(prefix + "VerifyMismatch") is Exit.VERIFY_MISMATCH
    assert exit_for(prefix + "Cancelled") is Exit.CANCELLED
    assert exit_for(prefix + "NotAuthorized") is Exit.NOT_AUTHORIZED
    assert exit_for("org.freedesktop.DBus.Error.AccessDenied") is Exit.NOT_AUTHORIZED
    assert exit_for("org.freedesktop.DBus.Error.ServiceUnknown") is Exit.UNREACHABLE
    assert exit_for(prefix + "SomethingNew") is Exit.FAILED


def test_codes_are_distinct_and_documented():
    assert len({int(c) for c in Exit}) == len(Exit) and set(MEANING) == set(Exit)
    table = describe()
    for code in Exit:
        assert f"{int(code):>3}  {MEANING[code]}" in table
