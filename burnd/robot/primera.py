"""Primera Composer (the first model), after a forum repost of the vendor's command sheet.

Pick-and-place triples ``M<source><destination>``: ``I`` input bin, ``R`` / ``r`` recorder 1 /
2, ``P`` printer, ``O`` output bin (``MIR`` input → recorder 1, ``MPO`` printer → output...).

Unsure in the reference, decided here (verify on a real unit — this driver is the least
certain of the four):
- the line: the sheet says 14400 bps 8N1 without flow control (the poster's own code opens
  56000); 14400 is the default, ``baudrate`` overrides it;
- the sheet's reply section is missing. Replies are taken as the two-letter codes of the
  Rimage DTP-800 set, which the hyperdiscs wiki calls "reminiscent of the Primera command
  set": ``CC`` done, ``IC`` not recognised, ``IE`` malformed, ``MN`` attempted but failed,
  ``DF`` reject drawer full; commands and replies end with CR as in that set;
- recorder → output (``MRO``) follows the sheet's pattern but is not on the surviving part;
- the sheet names no reject destination: ``reject_slot`` (a letter) must be configured, and
  without it unloading to reject is refused;
- ``MN`` does not say why: a failed load may be an empty input bin or a jam, so it is a plain
  RobotError naming both; no status query or reset is known, so ``init`` sends nothing and
  ``status`` reports that it cannot tell.
"""

from __future__ import annotations

from typing import Any

from burnd.robot.base import (
    Bin,
    Robot,
    RobotError,
    RobotProtocolError,
    RobotStatus,
    RobotUnsupported,
    bin_full_error,
    take_options,
)
from burnd.robot.serialport import SerialLink, SerialSettings

DEFAULT_SERIAL = SerialSettings(baudrate=14400, parity="N")
RECORDERS = ("R", "r")
INPUT, OUTPUT = "I", "O"
KNOWN_SLOTS = frozenset({INPUT, OUTPUT, "P", *RECORDERS})
REPLY_TEXT = {"CC": "done", "IC": "command not recognised", "IE": "command malformed",
              "MN": "move attempted but failed", "DF": "reject drawer full"}


class PrimeraRobot(Robot):
    protocol = "primera-composer"
    max_drives = 2
    default_serial = DEFAULT_SERIAL

    def __init__(self, name: str, link: SerialLink, drives: int = 2, *, reject_slot: str | None = None) -> None:
        super().__init__(name, drives)
        if reject_slot is not None and (not isinstance(reject_slot, str) or len(reject_slot) != 1
                                        or reject_slot in KNOWN_SLOTS):
            raise ValueError(f"robot {name}: reject_slot must be one letter other than "
                             f"{', '.join(sorted(KNOWN_SLOTS))}, not {reject_slot!r}")
        self._link = link
        self._reject = reject_slot

    @classmethod
    def create(cls, name: str, link: SerialLink, drives: int, options: dict[str, Any]) -> PrimeraRobot:
        o = take_options(cls.protocol, options, {"reject_slot": None})
        return cls(name, link, drives, reject_slot=o["reject_slot"])

    def _move(self, source: str, destination: str, what: str) -> None:
        line = f"M{source}{destination}"
        self._link.write(line.encode("ascii") + b"\r")
        reply = self._link.read_until(b"\r", self._link.settings.motion_timeout).decode("ascii", "replace").strip()
        if reply == "CC":
            return
        if reply == "DF":
            raise bin_full_error(Bin.REJECT, self.name, reply)
        if reply == "MN":
            raise RobotError(f"robot {self.name}: {what} ({line}) failed — the Composer does not say why: check "
                             f"for an empty input bin or a stuck arm, then resume", reply)
        if reply in REPLY_TEXT:
            raise RobotProtocolError(f"robot {self.name}: {line}: {REPLY_TEXT[reply]} — the unit does not speak "
                                     f"this command set as assumed", reply)
        raise RobotProtocolError(f"robot {self.name}: {line} answered {reply!r} — check the protocol and the "
                                 f"baud rate", reply)

    def init(self) -> None:
        """No reset or sign-on command is known for the Composer."""

    def status(self) -> RobotStatus:
        return RobotStatus(True, "unknown: the Composer's known commands include no status query",
                           {Bin.INPUT: None, Bin.ACCEPT: None, Bin.REJECT: None})

    def load(self, bay: int) -> None:
        self.check_bay(bay)
        self._move(INPUT, RECORDERS[bay], f"loading recorder {bay + 1}")

    def unload(self, bay: int, target: Bin) -> None:
        self.check_bay(bay)
        if target is Bin.ACCEPT:
            self._move(RECORDERS[bay], OUTPUT, f"unloading recorder {bay + 1}")
            return
        if self._reject is None:
            raise RobotUnsupported(f"robot {self.name}: the Composer's command sheet names no reject bin; set "
                                   f"reject_slot in the robot's configuration, or take the disc out of recorder "
                                   f"{bay + 1} by hand and resume")
        self._move(RECORDERS[bay], self._reject, f"rejecting from recorder {bay + 1}")

    def close(self) -> None:
        self._link.close()
