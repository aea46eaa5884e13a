"""Errors of the burn engine: refusals before anything is written, and failures after.

A refusal (:class:`BurnRefused` and subclasses) guarantees that no WRITE, BLANK or FORMAT was
sent: the disc is as it was. Failures after the first WRITE say what was written and in what
state the disc was left. The ``dbus_name`` values are distinct from each other and from those
of ``burnd.scsi.sense``, so a client can tell a refusal from a drive's own answer.
"""

from __future__ import annotations

from burnd.errors import BurndError


class BurnError(BurndError):
    """Base of the burn engine's errors."""

    dbus_name = "BurnFailed"


class BurnRefused(BurnError):
    """The burn (or blank/format) was refused before anything was sent that changes the disc."""

    dbus_name = "BurnRefused"


class MediumMissing(BurnRefused):
    dbus_name = "MediumMissing"


class MediumNotWritable(BurnRefused):
    """Pressed (ROM) media, a finalized disc, or a write-protected one."""

    dbus_name = "MediumNotWritable"


class MediumTooSmall(BurnRefused):
    dbus_name = "MediumTooSmall"


class WrongMedium(BurnRefused):
    """The medium class cannot hold the image at all (a DVD-size image on a CD)."""

    dbus_name = "WrongMedium"


class MediumNotBlank(BurnRefused):
    """A disc holding data would have to be blanked or overwritten without the user's consent."""

    dbus_name = "MediumNotBlank"


class SessionOpen(BurnRefused):
    """The disc's last session was left open (an interrupted burn): a new session written into
    it would be invisible, so it must be closed first (:func:`burnd.burn.close_session`)."""

    dbus_name = "SessionOpen"


class OptionNotSupported(BurnRefused):
    """An option the medium cannot honour (simulation on DVD+R, multi-session on DVD-R DL...)."""

    dbus_name = "OptionNotSupported"


class WriteFailed(BurnError):
    """A WRITE (or the closing commands after it) failed; ``lba`` is where, when known."""

    dbus_name = "WriteFailed"

    def __init__(self, message: str, lba: int | None = None, written_blocks: int = 0) -> None:
        super().__init__(message)
        self.lba = lba
        self.written_blocks = written_blocks


class VerifyMismatch(BurnError):
    """The disc's data differs from the image; ``first_lba``..``last_lba`` is the first bad run."""

    dbus_name = "VerifyMismatch"

    def __init__(self, message: str, first_lba: int | None = None, last_lba: int | None = None) -> None:
        super().__init__(message)
        self.first_lba = first_lba
        self.last_lba = last_lba


class Cancelled(BurnError):
    """The user cancelled; ``written_blocks`` were written and the disc was closed if possible."""

    dbus_name = "Cancelled"

    def __init__(self, message: str, written_blocks: int = 0) -> None:
        super().__init__(message)
        self.written_blocks = written_blocks
