"""The error hierarchy every layer raises.

Each error carries a message a person can act on (what happened, why, what to do) and a
``dbus_name`` so the service layer can map it to ``org.burnd.Burnd1.Error.<Name>`` without a
lookup table that could drift from the classes. Subsystems subclass these in their own modules.
"""

from __future__ import annotations

DBUS_ERROR_PREFIX = "org.burnd.Burnd1.Error."


class BurndError(Exception):
    """Base of every error burnd shows to a user."""

    dbus_name = "Failed"

    @property
    def dbus_error(self) -> str:
        return DBUS_ERROR_PREFIX + self.dbus_name


class BadImage(BurndError):
    """The file is not a readable disc image (corrupt, truncated, lying headers, wrong type)."""

    dbus_name = "BadImage"


class UnsupportedImage(BadImage):
    """A recognised image format or feature that burnd deliberately does not read."""

    dbus_name = "UnsupportedImage"


class DeviceError(BurndError):
    """A device node cannot be opened or used (missing, permission, busy, not SCSI)."""

    dbus_name = "DeviceError"


class DeviceBusy(DeviceError):
    """Another process holds the device exclusively or has it mounted."""

    dbus_name = "DriveBusy"


class NotAnOpticalDrive(DeviceError):
    """The device is not an MMC optical drive; burnd refuses to send it anything but INQUIRY."""

    dbus_name = "NotAnOpticalDrive"


class NotAuthorized(BurndError):
    """The caller may not do this (not root, not in burnd's group, or not the job's owner)."""

    dbus_name = "NotAuthorized"


class ConfigError(BurndError):
    """The configuration file (or a setting passed on the command line) is invalid."""

    dbus_name = "BadConfig"


class DriveTimeout(BurndError):
    """The drive did not become ready, or a command did not finish, in the allowed time."""

    dbus_name = "Timeout"
