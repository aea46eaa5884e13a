"""Errors of the daemon's own making (the engine's are in burnd.burn.errors)."""

from __future__ import annotations

from burnd.errors import BurndError


class InvalidOption(BurndError):
    dbus_name = "InvalidOption"


class NoSuchDrive(BurndError):
    dbus_name = "NoSuchDrive"


class NoSuchGroup(BurndError):
    dbus_name = "NoSuchGroup"


class NotCancelable(BurndError):
    dbus_name = "NotCancelable"


class ShuttingDown(BurndError):
    dbus_name = "ShuttingDown"
