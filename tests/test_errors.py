"""Every user-visible error maps to a well-formed, distinct D-Bus error name.

The service layer will turn exceptions into ``org.burnd.Burnd1.Error.<Name>`` by reading
``dbus_name``; a subclass that forgets to set its own name would silently masquerade as its
parent, and a malformed name would make the bus reject the reply.
"""

from __future__ import annotations

import re

from burnd.errors import DBUS_ERROR_PREFIX, BurndError
from tests.fixtures.errors import all_error_classes

MEMBER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def test_every_error_has_a_valid_dbus_name() -> None:
    for cls in all_error_classes():
        assert MEMBER.match(cls.dbus_name), f"{cls.__qualname__}: bad D-Bus name {cls.dbus_name!r}"


def test_dbus_error_carries_the_prefix() -> None:
    assert BurndError("x").dbus_error == DBUS_ERROR_PREFIX + "Failed"


def test_dbus_names_are_not_inherited_silently() -> None:
    classes = all_error_classes()
    assert len(classes) >= 8
    for cls in classes:
        if cls is BurndError:
            continue
        assert "dbus_name" in vars(cls), f"{cls.__module__}.{cls.__qualname__} must set its own dbus_name"


def test_dbus_names_are_distinct() -> None:
    names: dict[str, str] = {}
    for cls in all_error_classes():
        where = f"{cls.__module__}.{cls.__qualname__}"
        assert cls.dbus_name not in names, f"{where} reuses {cls.dbus_name!r} of {names.get(cls.dbus_name)}"
        names[cls.dbus_name] = where
