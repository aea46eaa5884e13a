"""Exit codes scripts can branch on, and the one table mapping burnd's error names onto them.

The table is keyed by the short D-Bus error name (``org.burnd.Burnd1.Error.<Name>``), which is
also every ``BurndError.dbus_name``: local image verbs and daemon verbs therefore end with the
same code for the same kind of failure.
"""

from __future__ import annotations

import enum

from burnd.errors import DBUS_ERROR_PREFIX


class Exit(enum.IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    UNREACHABLE = 3
    NOT_AUTHORIZED = 4
    MEDIUM = 5
    TOO_LARGE = 6
    WRITE_FAILED = 7
    VERIFY_MISMATCH = 8
    CANCELLED = 9
    BAD_IMAGE = 10
    NO_DRIVE = 11
    BUSY = 12
    ROBOT = 13


MEANING = {
    Exit.OK: "success",
    Exit.FAILED: "any other failure",
    Exit.USAGE: "usage error (bad arguments or options)",
    Exit.UNREACHABLE: "the burnd daemon is not reachable",
    Exit.NOT_AUTHORIZED: "not authorized",
    Exit.MEDIUM: "no medium, or the wrong medium (not blank, not writable, wrong kind)",
    Exit.TOO_LARGE: "the image is too large for the medium",
    Exit.WRITE_FAILED: "writing (or reading) the disc failed",
    Exit.VERIFY_MISMATCH: "verification found a difference",
    Exit.CANCELLED: "cancelled",
    Exit.BAD_IMAGE: "the image (or a local image operation) failed",
    Exit.NO_DRIVE: "no such drive or robot, or not an optical drive",
    Exit.BUSY: "the drive or daemon is busy; try again later",
    Exit.ROBOT: "the disc robot needs attention (jam, empty or full bin, no answer, misconfigured)",
}

_BY_CODE: dict[Exit, tuple[str, ...]] = {
    Exit.USAGE: ("InvalidOption", "OptionNotSupported", "NotVirtual", "NameTaken", "NotCancelable",
                  "NotPausable"),
    Exit.NOT_AUTHORIZED: ("NotAuthorized",),
    Exit.MEDIUM: ("NoMedium", "MediumMissing", "WrongMedium", "MediumNotBlank", "MediumNotWritable",
                  "WriteProtected", "SessionOpen", "NotReady", "MediumChanged", "BlankArea"),
    Exit.TOO_LARGE: ("MediumTooSmall", "EndOfMedium"),
    Exit.WRITE_FAILED: ("WriteFailed", "BurnFailed", "BurnRefused", "MediumError", "HardwareError", "DriveError",
                        "TransportError", "CommandAborted", "DeviceGone", "Timeout", "IllegalRequest",
                        "BadDriveResponse", "TransferTooLarge", "NotSupported", "PermissionDenied"),
    Exit.VERIFY_MISMATCH: ("VerifyMismatch", "VerifyFailed", "ChecksumFailed"),
    Exit.CANCELLED: ("Cancelled",),
    Exit.BAD_IMAGE: ("BadImage", "UnsupportedImage", "CreateFailed", "EditFailed", "ExtractFailed", "ViewFailed"),
    Exit.NO_DRIVE: ("NoSuchDrive", "NoSuchGroup", "NotAnOpticalDrive", "NotAVirtualDrive", "DeviceError"),
    Exit.BUSY: ("DriveBusy", "RetryLater", "ShuttingDown"),
    Exit.ROBOT: ("RobotError", "RobotJammed", "InputBinEmpty", "RejectBinFull", "AcceptBinFull",
                 "RobotNotResponding", "RobotDoorOpen", "RobotTrayProblem", "RobotProtocolError",
                 "RobotUnsupported", "RobotPortError", "RobotNeedsCalibration", "TooManyFailures",
                 "BadRobotConfig"),
}

ERROR_EXIT: dict[str, Exit] = {name: code for code, names in _BY_CODE.items() for name in names}

#: bus-level errors meaning nobody answers for org.burnd.Burnd1
UNREACHABLE_ERRORS = frozenset({
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoReply",
    "org.freedesktop.DBus.Error.Disconnected",
    "org.freedesktop.DBus.Error.Spawn.ServiceNotFound",
    "org.freedesktop.DBus.Error.Spawn.ChildExited",
})


def exit_for(error_name: str) -> Exit:
    """The exit code for a D-Bus error name (full or short); FAILED for anything unknown."""
    if error_name in UNREACHABLE_ERRORS:
        return Exit.UNREACHABLE
    if error_name in ("org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.AuthFailed"):
        return Exit.NOT_AUTHORIZED
    short = error_name.removeprefix(DBUS_ERROR_PREFIX)
    return ERROR_EXIT.get(short, Exit.FAILED)


def describe() -> str:
    """The exit-code table as --help and the man page show it."""
    return "\n".join(f"  {int(code):>3}  {MEANING[code]}" for code in Exit)


class CliError(Exception):
    """A failure burnctl reports as one line and ends with ``code``."""

    def __init__(self, message: str, code: Exit = Exit.FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
