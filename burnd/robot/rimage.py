"""Rimage DTP-4500 / RAS 13 autoloader ("LIBERTY 4" firmware), as sniffed by ragingcomputer.com
and driven by LFRipping.

38400 8N1 with RTS/CTS. A command is ESC ``!`` … ``C``; a reply is ESC … EOT. Like LFRipping,
every motion is followed by status polls (``!e1C``) until the unit reports ready, so a busy
arm is told from a finished one.

Commands used: ``!e0C`` version, ``!e1C`` status (``!e1SSS000C``: 000 ready, 002 busy,
003 no disc, 005/006 door, 007 no drive tray), ``!f12600C`` home the arm, ``!f120B2C`` /
``!f120B1C`` grab from / place into bin B (0-based), ``!f124D0C`` / ``!f124D1C`` /
``!f124D2C`` move to / place into / grab from drive D (1 = bottom … 4 = top), ``!f020BC``
bin level. Grabs answer ``!f11C`` (holding a disc) or ``!f10C`` (nothing there).

Unsure in the reference, decided here (verify on a real unit):
- replies to moves and placements are not documented; taken as ``!f11C`` like the arm home;
- the bin level reply ``!f01`` + one digit + five digits + ``C``: the five digits / 10 are
  the arm's stop offset and the count is 108 − (offset − 2304) / 12 (LFRipping's reading:
  36000 = empty; 65534 = no answer); counts are approximate;
- a jammed arm is taken to stay "busy" (002): the driver reports RobotJammed when a motion is
  not ready after ``motion_timeout``;
- bin roles are the configuration's (default: input bins 0 and 1, accept 2, reject 3, as in
  LFRipping's two input and two output bins); bay 0 is the bottom drive.
"""

from __future__ import annotations

import time
from typing import Any

from burnd.robot.base import (
    Bin,
    InputBinEmpty,
    Robot,
    RobotDoorOpen,
    RobotJammed,
    RobotProtocolError,
    RobotStatus,
    TrayNotOpen,
    bin_full_error,
    take_options,
)
from burnd.robot.serialport import SerialLink, SerialSettings

DEFAULT_SERIAL = SerialSettings(baudrate=38400, parity="N", rtscts=True)
ESC, EOT = b"\x1b", b"\x04"
HOLDING, EMPTY_HANDED = "!f11C", "!f10C"
NO_VALUE = 65534
BIN_CAPACITY = 108
EMPTY_OFFSET, DISC_STEP = 2304, 12
STATUS_TEXT = {0: "ready", 2: "busy", 3: "no disc", 5: "bay door problem", 6: "door open",
               7: "no drive tray detected"}
POLL = 0.02


def command(body: str) -> bytes:
    return ESC + body.encode("ascii")


def parse_reply(raw: bytes) -> str:
    if not raw.startswith(ESC) or not raw.endswith(EOT):
        raise RobotProtocolError(f"reply {raw!r} is not an ESC … EOT frame — check the protocol and the "
                                 f"serial settings (38400 8N1 RTS/CTS)", raw.decode("latin-1"))
    return raw[1:-1].decode("ascii", "replace")


def parse_status(body: str) -> int:
    if len(body) != 10 or not body.startswith("!e1") or not body.endswith("C") or not body[3:9].isdigit():
        raise RobotProtocolError(f"status reply {body!r} is not !e1NNNNNNC", body)
    return int(body[3:6])


def parse_value(body: str) -> int:
    if len(body) != 11 or not body.startswith("!f01") or not body.endswith("C") or not body[4:10].isdigit():
        raise RobotProtocolError(f"value reply {body!r} is not !f01NNNNNNC", body)
    return int(body[5:10])


def value_for_count(count: int, capacity: int = BIN_CAPACITY) -> int:
    """The bin level reply value for ``count`` discs (the inverse of :func:`count_from_value`)."""
    return (EMPTY_OFFSET + (capacity - count) * DISC_STEP) * 10


def count_from_value(value: int, capacity: int = BIN_CAPACITY) -> int | None:
    if value == NO_VALUE:
        return None
    above_empty = (value // 10 - EMPTY_OFFSET) // DISC_STEP
    return capacity - min(max(above_empty, 0), capacity)


class RimageRobot(Robot):
    protocol = "rimage-ras13"
    max_drives = 4
    default_serial = DEFAULT_SERIAL

    def __init__(self, name: str, link: SerialLink, drives: int = 4, *, input_bins: tuple[int, ...] = (0, 1),
                 accept_bin: int = 2, reject_bin: int = 3, bin_capacity: int = BIN_CAPACITY) -> None:
        super().__init__(name, drives)
        bins = (*input_bins, accept_bin, reject_bin)
        if not input_bins or len(set(bins)) != len(bins) or not all(0 <= b <= 3 for b in bins):
            raise ValueError(f"robot {name}: bins must be distinct numbers 0..3 with at least one input bin, "
                             f"got input {list(input_bins)}, accept {accept_bin}, reject {reject_bin}")
        self._link = link
        self._input_bins = input_bins
        self._targets = {Bin.ACCEPT: accept_bin, Bin.REJECT: reject_bin}
        self._capacity = bin_capacity

    @classmethod
    def create(cls, name: str, link: SerialLink, drives: int, options: dict[str, Any]) -> RimageRobot:
        o = take_options(cls.protocol, options, {"input_bins": [0, 1], "accept_bin": 2, "reject_bin": 3,
                                                 "bin_capacity": BIN_CAPACITY})
        return cls(name, link, drives, input_bins=tuple(o["input_bins"]), accept_bin=o["accept_bin"],
                   reject_bin=o["reject_bin"], bin_capacity=o["bin_capacity"])

    # ------------------------------------------------------------------ exchanges

    def _read_frame(self, timeout: float) -> bytes:
        return self._link.read_until(EOT, timeout)

    def _query(self, body: str) -> str:
        return parse_reply(self._link.query(command(body), self._read_frame))

    def _status_code(self) -> int:
        return parse_status(self._query("!e1C"))

    def _motion(self, body: str, what: str) -> str:
        """Send a motion, then poll status until the unit is ready again; the motion's reply."""
        self._link.write(command(body))
        reply = parse_reply(self._read_frame(self._link.settings.motion_timeout))
        deadline = time.monotonic() + self._link.settings.motion_timeout
        while True:
            code = self._status_code()
            if code in (0, 3):
                return reply
            if code in (5, 6):
                raise RobotDoorOpen(f"robot {self.name}: {what} stopped: {STATUS_TEXT[code]} — close the "
                                    f"robot's door, then resume the batch", f"!e1{code:03d}")
            if code == 7:
                raise TrayNotOpen(f"robot {self.name}: {what}: no drive tray detected — the tray did not open; "
                                  f"check the drive, then resume", f"!e1{code:03d}")
            if code != 2:
                raise RobotProtocolError(f"robot {self.name}: unknown status {code:03d} after {what}",
                                         f"!e1{code:03d}")
            if time.monotonic() >= deadline:
                raise RobotJammed(f"robot {self.name}: {what} did not finish within "
                                  f"{self._link.settings.motion_timeout:g} s (the unit stays busy) — open the "
                                  f"robot, free the arm, then resume the batch", "!e1002")
            time.sleep(POLL)

    def _grab(self, body: str, what: str) -> bool:
        reply = self._motion(body, what)
        if reply not in (HOLDING, EMPTY_HANDED):
            raise RobotProtocolError(f"robot {self.name}: {what} answered {reply!r}, not {HOLDING} or "
                                     f"{EMPTY_HANDED}", reply)
        return reply == HOLDING

    def bin_count(self, number: int) -> int | None:
        return count_from_value(parse_value(self._query(f"!f020{number}C")), self._capacity)

    # ------------------------------------------------------------------ Robot

    def init(self) -> None:
        self._query("!e0C")
        self._motion("!f12600C", "homing the arm")

    def status(self) -> RobotStatus:
        code = self._status_code()
        counts: dict[Bin, int | None] = {Bin.INPUT: None}
        inputs = [self.bin_count(b) for b in self._input_bins]
        counts[Bin.INPUT] = None if None in inputs else sum(n for n in inputs if n is not None)
        for target, number in self._targets.items():
            counts[target] = self.bin_count(number)
        return RobotStatus(code == 0, STATUS_TEXT.get(code, f"status {code:03d}"), counts, f"!e1{code:03d}")

    def load(self, bay: int) -> None:
        self.check_bay(bay)
        source = next((b for b in self._input_bins if self._grab(f"!f120{b}2C", f"picking from bin {b}")), None)
        if source is None:
            raise InputBinEmpty(f"robot {self.name}: no disc in input bin(s) "
                                f"{', '.join(map(str, self._input_bins))} — fill them, then resume", EMPTY_HANDED)
        drive = bay + 1
        self._motion(f"!f124{drive}0C", f"moving to drive {drive}")
        try:
            self._motion(f"!f124{drive}1C", f"placing into drive {drive}")
        except TrayNotOpen:
            self._motion(f"!f120{source}1C", f"returning the disc to bin {source}")
            raise

    def unload(self, bay: int, target: Bin) -> None:
        self.check_bay(bay)
        number = self._targets[target]
        count = self.bin_count(number)
        if count is not None and count >= self._capacity:
            raise bin_full_error(target, self.name, f"bin {number}: {count}")
        drive = bay + 1
        self._motion(f"!f124{drive}0C", f"moving to drive {drive}")
        if not self._grab(f"!f124{drive}2C", f"taking the disc from drive {drive}"):
            raise TrayNotOpen(f"robot {self.name}: no disc in the tray of drive {drive} — check the drive, then "
                              f"resume", EMPTY_HANDED)
        self._motion(f"!f120{number}1C", f"dropping into the {target.value} bin ({number})")

    def close(self) -> None:
        self._link.close()
