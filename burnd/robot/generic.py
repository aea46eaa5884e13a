"""The "generic" single-letter command set (hyperdiscs wiki "Command Sets -- Generic").

Amtren / Disc Makers / Kodak kiosk robots and their relatives: 9600 8N1 (some 38400), no flow
control, one ASCII byte per command, one byte back: ``X`` done, ``E`` failed. After an ``E``
the driver asks ``S`` for the reason.

Used here: ``V`` sign-on, ``C`` reset/calibrate, ``I`` input bin → drive, ``A`` drive → accept
bin, ``G`` drive → picker then ``R`` picker → reject bin, ``S`` status.

Unsure in the reference, decided here (verify on a real unit):
- the form of the ``S`` reply: taken as two ASCII digits (the documented codes are written
  00, 14, 22...) with no terminator;
- ``V``'s reply: taken as one ``X``/``E`` byte (some units may send a version text);
- the generic set drives one drive bank; the second-bank commands (``P``/``H``/``B``) are
  unconfirmed, so this driver serves one bay;
- no status code says "reject bin full": an ``E`` on ``R`` with status 00 is a plain
  RobotError, and the batch's own bin counting (bin capacities in the configuration) is what
  stops before overfilling;
- Kodak units answer ``E`` to ``I`` when five or fewer discs remain, with (presumably) status
  00: an ``E`` on ``I`` without a reason is reported as InputBinEmpty, saying so.
"""

from __future__ import annotations

from typing import Any

from burnd.robot.base import (
    Bin,
    InputBinEmpty,
    Robot,
    RobotError,
    RobotJammed,
    RobotProtocolError,
    RobotStatus,
    TrayNotOpen,
    take_options,
)
from burnd.robot.serialport import SerialLink, SerialSettings

DEFAULT_SERIAL = SerialSettings(baudrate=9600, parity="N")

OK, FAILED = b"X", b"E"
STATUS_TEXT = {
    0: "ready",
    14: "top sensor fault",
    15: "float sensor fault",
    16: "disc sensor fault",
    18: "up encoder timeout",
    19: "down encoder timeout",
    21: "drive tray empty",
    22: "input bin empty",
    23: "printer empty",
}
JAM_CODES = frozenset({14, 15, 16, 18, 19})


def parse_status(reply: bytes) -> int:
    """The two-digit status code; RobotProtocolError for anything else."""
    text = reply.decode("ascii", "replace")
    if len(reply) != 2 or not text.isdigit():
        raise RobotProtocolError(f"the robot's status reply {reply!r} is not two digits — is it really a "
                                 f"generic-protocol robot, at the configured baud rate?", text)
    return int(text)


def status_error(robot: str, command: str, code: int) -> RobotError:
    """The error for an ``E`` to ``command`` given the status code that explains it."""
    what = STATUS_TEXT.get(code, f"status code {code:02d}")
    raw = f"E {code:02d}"
    if code in JAM_CODES:
        return RobotJammed(f"robot {robot}: {command} failed ({what}) — open the robot, free the arm or "
                           f"disc, then resume the batch", raw)
    if code == 22 or (code == 0 and command == "load"):
        hint = "" if code == 22 else " (some units, e.g. Kodak, refuse to load when 5 or fewer discs remain)"
        return InputBinEmpty(f"robot {robot}: no disc to load{hint} — fill the input bin, then resume", raw)
    if code == 21:
        return TrayNotOpen(f"robot {robot}: {command} failed: no disc in the drive tray — check that the "
                           f"tray opened and the disc was not already taken", raw)
    return RobotError(f"robot {robot}: {command} failed ({what}) — check the robot's panel, then resume", raw)


class GenericRobot(Robot):
    protocol = "generic"
    max_drives = 1

    default_serial = DEFAULT_SERIAL

    def __init__(self, name: str, link: SerialLink, drives: int = 1) -> None:
        super().__init__(name, drives)
        self._link = link

    @classmethod
    def create(cls, name: str, link: SerialLink, drives: int, options: dict[str, Any]) -> GenericRobot:
        take_options(cls.protocol, options, {})
        return cls(name, link, drives)

    def _status_code(self) -> int:
        return parse_status(self._link.query(b"S", lambda t: self._link.read_exact(2, t)))

    def _motion(self, letter: bytes, command: str) -> None:
        self._link.write(letter)
        reply = self._link.read_exact(1, self._link.settings.motion_timeout)
        if reply == OK:
            return
        if reply != FAILED:
            raise RobotProtocolError(f"robot {self.name}: {command} answered {reply!r}, not X or E — check "
                                     f"the protocol and serial settings", reply.decode("latin-1"))
        raise status_error(self.name, command, self._status_code())

    def init(self) -> None:
        self._motion(b"V", "sign-on")
        self._motion(b"C", "calibrate")

    def status(self) -> RobotStatus:
        code = self._status_code()
        return RobotStatus(code == 0, STATUS_TEXT.get(code, f"status code {code:02d}"),
                           {Bin.INPUT: 0 if code == 22 else None}, f"{code:02d}")

    def load(self, bay: int) -> None:
        self.check_bay(bay)
        self._motion(b"I", "load")

    def unload(self, bay: int, target: Bin) -> None:
        self.check_bay(bay)
        if target is Bin.ACCEPT:
            self._motion(b"A", "unload to accept")
        else:
            self._motion(b"G", "pick from drive")
            self._motion(b"R", "drop into reject")

    def close(self) -> None:
        self._link.close()

