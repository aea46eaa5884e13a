"""Faults injected by the emulator's plan: the burn ends in the right state with the right
message, the tray is unlocked, and success is never reported."""

from __future__ import annotations

import io
import logging

import pytest

from burnd.burn import BurnOptions, MediumNotWritable, SessionOpen, WriteFailed, burn, close_session
from tests.burn.conftest import POLL, image_bytes

SIZE = 900 * 2048


def _burn(rig, **options: object):  # type: ignore[no-untyped-def]
    return burn(rig.drive, io.BytesIO(image_bytes(SIZE)), BurnOptions(**options), poll=POLL)  # type: ignore[arg-type]


@pytest.mark.parametrize("media", ["dvd+r", "bd-re", "cd-r"])
def test_write_error_mid_burn_reports_its_lba(make_rig, media: str) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig(media, faults=["write lba>=400: 3/0C/00"])
    with pytest.raises(WriteFailed) as info:
        _burn(rig)
    assert info.value.lba is not None and 384 <= info.value.lba <= 400
    assert "write error" in str(info.value) and "did NOT succeed" in str(info.value)
    assert 0 < info.value.written_blocks <= 400
    assert not rig.burner._state.locked


def test_medium_removed_mid_burn(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("dvd+r", faults=["remove medium after 5 writes"])
    with pytest.raises(WriteFailed, match="removed") as info:
        _burn(rig)
    assert info.value.written_blocks == 5 * 16
    assert not rig.burner._state.locked


@pytest.mark.parametrize("rules", [["sync: 2/04/08 x3"], ["close: 2/04/07 x2"], ["write: 2/04/08 x5"],
                                   ["write: 2/04/08 after 10 x3", "sync: 2/04/08 x2", "close: 2/04/07 x3"]])
def test_long_write_in_progress_is_waited_out(make_rig, rules: list[str]) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-r", faults=rules)
    result = _burn(rig)
    assert result.verified
    assert all(rule.expired for rule in rig.burner.faults.rules)


def test_power_calibration_error(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("dvd-r", faults=["first write: 5/73/03"])
    with pytest.raises(WriteFailed, match="power calibration") as info:
        _burn(rig)
    assert info.value.written_blocks == 0
    assert not rig.burner._state.locked


def test_unit_attention_mid_burn_is_fatal(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-r", faults=["write: 6/29/00 after 4 x1"])
    with pytest.raises(WriteFailed, match="reset") as info:
        _burn(rig)
    assert info.value.written_blocks == 4 * 32
    assert not rig.burner._state.locked


def test_drive_reset_event_mid_burn(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("dvd+r", faults=["reset after 3 writes"])
    with pytest.raises(WriteFailed, match="reset"):
        _burn(rig)
    assert not rig.burner._state.locked


def test_drive_vanishes(make_rig, caplog) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-re", faults=["disappear after 10 writes"])
    with caplog.at_level(logging.WARNING, logger="burnd.burn"), pytest.raises(WriteFailed, match="disappeared"):
        _burn(rig)
    assert any("could not unlock" in r.message for r in caplog.records)


def test_error_while_closing(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("dvd+r", faults=["close: 3/72/00"])
    with pytest.raises(WriteFailed, match="all data was written") as info:
        _burn(rig)
    assert info.value.written_blocks == 912
    assert not rig.burner._state.locked


def test_hardware_error_is_not_retried(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-re", faults=["write: 4/44/00 after 2 x1"])
    with pytest.raises(WriteFailed, match="at LBA 64"):
        _burn(rig)
    assert rig.burner.command_log.count(0x2A) == 3


def test_aborted_command_is_reissued_a_few_times(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-re", faults=["write: 4/08/03 after 2 x3"])
    assert _burn(rig).verified
    hopeless = make_rig("bd-re", faults=["write: b/00/00 after 2"])
    with pytest.raises(WriteFailed, match="aborted"):
        _burn(hopeless)
    assert hopeless.burner.command_log.count(0x2A) == 2 + 4


@pytest.mark.parametrize("media", ["cd-r", "dvd-r", "dvd+r", "bd-r"])
def test_session_left_open_is_refused_then_closed(make_rig, media: str) -> None:  # type: ignore[no-untyped-def]
    rule = "close: 3/72/00 x1" if media == "cd-r" else "close: 3/72/00 after 1 x1"
    rig = make_rig(media, capacity=30_000, faults=[rule])
    with pytest.raises(WriteFailed, match="all data was written"):
        _burn(rig, multisession=True)
    with pytest.raises(SessionOpen, match="close_session"):
        _burn(rig, multisession=True)
    report = close_session(rig.drive, poll=POLL)
    assert report.disc_status == "appendable" and report.last_session_state == "empty"
    second = _burn(rig, multisession=True)
    assert second.verified and second.start_lba > second.plan.data_blocks
    final = close_session(rig.drive, finalize=True, poll=POLL)
    assert final.disc_status == "complete"
    with pytest.raises(MediumNotWritable):
        close_session(rig.drive)
    assert not rig.burner._state.locked


def test_close_session_refusals(make_rig) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MediumNotWritable, match="no sessions"):
        close_session(make_rig("bd-re").drive)
    blank_disc = make_rig("dvd+r")
    with pytest.raises(MediumNotWritable, match="blank"):
        close_session(blank_disc.drive)
    closed = make_rig("dvd+r")
    _burn(closed, multisession=True)
    with pytest.raises(MediumNotWritable, match="already closed"):
        close_session(closed.drive)
    assert close_session(closed.drive, finalize=True, poll=POLL).disc_status == "complete"
