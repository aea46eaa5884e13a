"""A software disc robot on the far end of a real pseudo-terminal, for tests and demos.

The robot's mechanics (:class:`Mechanics`: input/accept/reject bins, a gripper, N bays whose
drives are :class:`burnd.emu.VirtualBurner` instances) are shared by one personality per
protocol, which parses that protocol's frames from the pty master and answers as the
documented unit does (timings shortened). The host side opens the slave ``/dev/pts/N`` by
path with pyserial, so the kernel's tty layer sits between driver and robot as it does with a
USB serial adapter.

Discs are files: a blank placed in a drive is a fresh backing file inserted into that bay's
VirtualBurner (then the tray is opened again, leaving the disc lying in the open tray as a
robot leaves it); taking a disc out removes the medium and keeps the file in the bin it is
dropped into, so a test can re-read every disc in the accept bin afterwards.

Each bay's burner is wrapped in :class:`TraySensor`, a Transport that passes every command
through and watches START STOP UNIT, so the robot knows whether the host opened the tray.
Placing a disc on a closed tray jams the arm, as it would on the real thing.

Faults (:meth:`Mechanics.inject`): ``jam`` (the next motion jams), ``jam after N`` (the
N+1th motion from now jams), ``silent`` (the robot stops answering), ``empty input`` (the
input bin is emptied), ``reject full`` (the reject bin is full at its current count). A jam
lasts until ``clear jam`` (the operator opening the lid); ``answer`` ends ``silent`` and
``refill N`` puts blanks in the input bin.
"""

from __future__ import annotations

import logging
import os
import re
import select
import threading
import time
import tty
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

from burnd.emu import VirtualBurner
from burnd.robot import aleratec, rimage
from burnd.robot.base import Bin
from burnd.scsi.transport import Buffer, CommandResult, Direction

log = logging.getLogger("burnd.robot.sim")

START_STOP_UNIT = 0x1B
RIMAGE_BIN_ROLES = {0: Bin.INPUT, 1: Bin.INPUT, 2: Bin.ACCEPT, 3: Bin.REJECT}
"""The simulated RAS 13's bins, matching the driver's default roles."""


class TraySensor:
    """A Transport over a VirtualBurner that records whether the tray is open, from the
    START STOP UNIT commands the host sends (the robot's tray sensor)."""

    def __init__(self, burner: VirtualBurner) -> None:
        self.burner = burner
        self.tray_open = False

    @property
    def name(self) -> str:
        return self.burner.name

    def execute(self, cdb: bytes, direction: Direction, data: Buffer | bytes | int | None = None,
                timeout: float = 30.0) -> CommandResult:
        result = self.burner.execute(cdb, direction, data, timeout)
        if cdb and cdb[0] == START_STOP_UNIT and result.ok and cdb[4] & 0x02:
            self.tray_open = not cdb[4] & 0x01
        return result


@dataclass(frozen=True, slots=True)
class SimDisc:
    number: int
    path: str


class SimFault(Exception):
    """A motion the mechanics could not do; ``kind`` is what a personality reports."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


ACTIONS = ("jam", "jam after N", "silent", "answer", "empty input", "reject full", "clear jam", "refill N")
"""What :meth:`Mechanics.inject` takes: faults, and the operator's hands (``answer`` undoes
``silent``: the cable is back; ``refill N`` puts N blanks in the input bin)."""


def parse_action(text: str) -> tuple[str, int | None]:
    """``(verb, N)`` for one of :data:`ACTIONS` (N for the two that take a count); ValueError
    naming the choices otherwise. Pure, so a configuration can be checked before a robot exists."""
    words = text.lower().split()
    counted = {"jam after": words[:2] == ["jam", "after"], "refill": words[:1] == ["refill"]}
    for verb, matches in counted.items():
        if matches and len(words) == len(verb.split()) + 1 and words[-1].isdigit():
            return verb, int(words[-1])
    verb = " ".join(words)
    if verb in ACTIONS:
        return verb, None
    raise ValueError(f"unknown robot action {text!r}: use one of {', '.join(ACTIONS)}")


class Mechanics:
    """Bins, gripper and bays; every motion goes through :meth:`_move` (jams, timing)."""

    def __init__(self, bays: list[VirtualBurner], blanks: int, disc_dir: str | os.PathLike[str], *,
                 media: str = "cd-r", capacity: int | None = None, bin_capacity: int = 108,
                 reject_capacity: int | None = None, move_seconds: float = 0.0) -> None:
        self.bays = [TraySensor(b) for b in bays]
        self.held: list[SimDisc | None] = [None] * len(bays)
        self._dir = Path(disc_dir)
        self._media, self._capacity = media, capacity
        self._made = 0
        self.input: list[SimDisc] = [self._new_disc() for _ in range(blanks)]
        self.bins: dict[Bin, list[SimDisc]] = {Bin.ACCEPT: [], Bin.REJECT: []}
        self.capacity = {Bin.INPUT: bin_capacity, Bin.ACCEPT: bin_capacity,
                         Bin.REJECT: bin_capacity if reject_capacity is None else reject_capacity}
        self.gripper: SimDisc | None = None
        self.jammed = False
        self.silent = False
        self.calibrated = True
        self.moves = 0
        self._jam_at: int | None = None
        self._move_seconds = move_seconds
        self.lock = threading.RLock()

    def _new_disc(self) -> SimDisc:
        self._made += 1
        return SimDisc(self._made, str(self._dir / f"disc-{self._made:04d}.img"))

    def add_blanks(self, count: int) -> None:
        """The operator refills the input bin."""
        with self.lock:
            self.input.extend(self._new_disc() for _ in range(count))

    # ------------------------------------------------------------------ faults
    def inject(self, action: str) -> None:
        """Play a fault or the operator; ``action`` as :func:`parse_action` reads it."""
        verb, count = parse_action(action)
        with self.lock:
            if verb == "jam":
                self._jam_at = self.moves
            elif verb == "jam after":
                self._jam_at = self.moves + (count or 0)
            elif verb == "silent":
                self.silent = True
            elif verb == "answer":
                self.silent = False
            elif verb == "empty input":
                self.input.clear()
            elif verb == "reject full":
                self.capacity[Bin.REJECT] = len(self.bins[Bin.REJECT])
            elif verb == "clear jam":
                self.clear_jam()
            else:
                self.add_blanks(count or 0)

    def clear_jam(self) -> None:
        """The operator frees the arm; a disc it held goes back on top of the input bin."""
        with self.lock:
            self.jammed = False
            if self.gripper is not None:
                self.input.insert(0, self.gripper)
                self.gripper = None

    def move(self) -> None:
        """One arm motion: counted, timed, and where a jam strikes."""
        if self.jammed:
            raise SimFault("jam")
        if self._jam_at is not None and self.moves >= self._jam_at:
            self._jam_at = None
            self.jammed = True
            raise SimFault("jam")
        self.moves += 1
        if self._move_seconds:
            time.sleep(self._move_seconds)

    # ------------------------------------------------------------------ motions
    def home(self) -> None:
        self.move()

    def pick_input(self) -> None:
        self.move()
        if self.gripper is not None:
            raise SimFault("jam")
        if not self.input:
            raise SimFault("empty")
        self.gripper = self.input.pop(0)

    def place_in_bay(self, bay: int) -> None:
        self.move()
        sensor = self.bays[bay]
        if self.gripper is None:
            raise SimFault("no disc")
        if not sensor.tray_open or self.held[bay] is not None:
            self.jammed = True
            raise SimFault("tray")
        disc, self.gripper = self.gripper, None
        sensor.burner.insert(self._media, backing=disc.path, capacity=self._capacity)
        sensor.burner.open_tray()
        self.held[bay] = disc

    def grab_from_bay(self, bay: int) -> None:
        self.move()
        sensor = self.bays[bay]
        disc = self.held[bay]
        if self.gripper is not None:
            raise SimFault("jam")
        if disc is None or not sensor.tray_open:
            raise SimFault("no disc")
        sensor.burner.remove_medium()
        sensor.burner.open_tray()
        self.held[bay], self.gripper = None, disc

    def drop(self, target: Bin) -> None:
        self.move()
        if self.gripper is None:
            raise SimFault("no disc")
        if target is Bin.INPUT:
            self.input.insert(0, self.gripper)
        else:
            if len(self.bins[target]) >= self.capacity[target]:
                raise SimFault("full")
            self.bins[target].append(self.gripper)
        self.gripper = None


class Personality(ABC):
    """One protocol's framing and answers over :class:`Mechanics`."""

    def __init__(self, mech: Mechanics) -> None:
        self.mech = mech
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Bytes from the host → the replies to every complete command among them."""
        self._pending += data
        replies: list[bytes] = []
        while (frame := self.next_frame()) is not None:
            with self.mech.lock:
                if self.mech.silent:
                    continue
                replies.extend(self.handle(frame))
        return replies

    @abstractmethod
    def next_frame(self) -> bytes | None:
        ...

    @abstractmethod
    def handle(self, frame: bytes) -> list[bytes]:
        ...

    def _take_line(self, end: bytes) -> bytes | None:
        cut = self._pending.find(end)
        if cut < 0:
            return None
        line = bytes(self._pending[:cut])
        del self._pending[:cut + len(end)]
        return line


class GenericPersonality(Personality):
    """One byte per command; X or E back; S answers two digits (see burnd.robot.generic)."""

    CODES: ClassVar[dict[str, int]] = {"jam": 18, "empty": 22, "no disc": 21, "tray": 16, "full": 0}

    def __init__(self, mech: Mechanics) -> None:
        super().__init__(mech)
        self.code = 0

    def next_frame(self) -> bytes | None:
        if not self._pending:
            return None
        byte = bytes(self._pending[:1])
        del self._pending[:1]
        return byte

    def handle(self, frame: bytes) -> list[bytes]:
        m = self.mech
        if frame == b"S":
            return [f"{18 if m.jammed else self.code:02d}".encode()]
        actions = {b"V": lambda: None, b"C": m.home, b"I": lambda: (m.pick_input(), m.place_in_bay(0)),
                   b"A": lambda: (m.grab_from_bay(0), m.drop(Bin.ACCEPT)), b"G": lambda: m.grab_from_bay(0),
                   b"R": lambda: m.drop(Bin.REJECT)}
        action = actions.get(frame)
        if action is None:
            return [b"E"]
        try:
            action()
        except SimFault as fault:
            self.code = self.CODES[fault.kind]
            return [b"E"]
        self.code = 0
        return [b"X"]


class RimagePersonality(Personality):
    """ESC ! … C commands, ESC … EOT replies; status polls follow every motion."""

    def __init__(self, mech: Mechanics) -> None:
        super().__init__(mech)
        self.state = 0

    def next_frame(self) -> bytes | None:
        start = self._pending.find(rimage.ESC)
        if start < 0:
            self._pending.clear()
            return None
        end = self._pending.find(b"C", start)
        if end < 0:
            return None
        frame = bytes(self._pending[start + 1:end + 1])
        del self._pending[:end + 1]
        return frame

    @staticmethod
    def _reply(body: str) -> bytes:
        return rimage.ESC + body.encode("ascii") + rimage.EOT

    def handle(self, frame: bytes) -> list[bytes]:
        body = frame.decode("ascii", "replace")
        m = self.mech
        if body == "!e0C":
            return [self._reply("!e032CBURND SIMULATED RAS 1.0")]
        if body == "!e1C":
            return [self._reply(f"!e1{2 if m.jammed else self.state:03d}000C")]
        count = re.fullmatch(r"!f020([0-3])C", body)
        if count:
            return [self._reply(f"!f010{rimage.value_for_count(self._count(int(count[1]))):05d}C")]
        motion = re.fullmatch(r"!f12(?:600|0([0-3])([12])|4([1-4])([012]))C", body)
        if motion is None:
            return [self._reply(f"!f013{rimage.NO_VALUE:05d}C")]
        bin_number, bin_action, drive, drive_action = motion.groups()
        try:
            if bin_number is not None:
                self._bin_motion(int(bin_number), bin_action == "2")
            elif drive is not None and drive_action == "1":
                m.place_in_bay(int(drive) - 1)
            elif drive is not None and drive_action == "2":
                m.grab_from_bay(int(drive) - 1)
            else:
                m.home()
        except SimFault as fault:
            self.state = {"tray": 7, "empty": 3, "no disc": 3}.get(fault.kind, 0)
            if fault.kind == "tray":
                m.jammed = False
            return [self._reply(rimage.EMPTY_HANDED)]
        self.state = 0
        return [self._reply(rimage.HOLDING)]

    def _count(self, number: int) -> int:
        role = RIMAGE_BIN_ROLES[number]
        if role is Bin.INPUT:
            half = (len(self.mech.input) + 1) // 2
            return half if number == 0 else len(self.mech.input) - half
        held = len(self.mech.bins[role])
        return rimage.BIN_CAPACITY if held >= self.mech.capacity[role] else held

    def _bin_motion(self, number: int, grab: bool) -> None:
        role = RIMAGE_BIN_ROLES[number]
        if grab:
            if role is not Bin.INPUT or self._count(number) == 0:
                self.mech.move()
                raise SimFault("empty")
            self.mech.pick_input()
        else:
            self.mech.drop(role)


class AleratecPersonality(Personality):
    """LF-terminated ``C<nn>D<nn>[N<n>]`` lines; progress lines, then prefix + S04/S08."""

    LINE = re.compile(r"^C(\d\d)D(\d{1,2})(?:N(-?\d+))?$", re.IGNORECASE)
    HOPPERS: ClassVar[dict[int, Bin]] = {1: Bin.INPUT, 3: Bin.ACCEPT, 5: Bin.REJECT}

    def next_frame(self) -> bytes | None:
        return self._take_line(b"\n")

    def handle(self, frame: bytes) -> list[bytes]:
        text = frame.decode("ascii", "replace").strip()
        match = self.LINE.match(text)
        if match is None:
            return [aleratec.ERROR_LINE.encode() + b"\n"]
        code, d, n = int(match[1]), int(match[2]), match[3]
        prefix = f"C{code:02d}"
        m = self.mech
        if code == 8:
            return [f"PARAM0{n}D{0 if m.calibrated else 1}\n".encode()]
        if code == 1 and d == 0:
            m.calibrated = False
        if code == 1 and d == 3:
            m.calibrated = True
        if code in (3, 4):
            if n is None or not 1 <= d <= len(m.bays) or int(n) not in self.HOPPERS:
                return [aleratec.ERROR_LINE.encode() + b"\n"]
            return self._transfer(prefix, d - 1, self.HOPPERS[int(n)], load=code == 3)
        if code == 2:
            try:
                m.home()
            except SimFault:
                return []
        return [f"{text.upper()}\n".encode()]

    def _transfer(self, prefix: str, bay: int, hopper: Bin, load: bool) -> list[bytes]:
        """The progress lines a load/unload sends; a jam cuts them short (no final line)."""
        m = self.mech
        t = f"T{prefix[1:]}"
        lines = [f"{t}D1\n".encode()]
        steps = ((m.pick_input, lambda: m.place_in_bay(bay)) if load
                 else (lambda: m.grab_from_bay(bay), lambda: m.drop(hopper)))
        try:
            steps[0]()
        except SimFault as fault:
            if fault.kind in ("empty", "no disc"):
                return [*lines, f"{prefix}S08\n".encode()]
            return lines
        lines += [f"{t}D2\n".encode(), f"{t}D3\n".encode()]
        try:
            steps[1]()
        except SimFault:
            m.jammed = True
            return lines
        return [*lines, f"{t}D4\n".encode(), f"{prefix}S04\n".encode()]


class PrimeraPersonality(Personality):
    """CR-terminated ``M<src><dst>``; CC / MN / DF / IC / IE (see burnd.robot.primera)."""

    def __init__(self, mech: Mechanics, reject_slot: str = "J") -> None:
        super().__init__(mech)
        self.reject_slot = reject_slot

    def next_frame(self) -> bytes | None:
        return self._take_line(b"\r")

    def handle(self, frame: bytes) -> list[bytes]:
        text = frame.decode("ascii", "replace")
        if not text.startswith("M"):
            return [b"IC\r"]
        if len(text) != 3:
            return [b"IE\r"]
        source, destination = text[1], text[2]
        bays = {"R": 0, "r": 1}
        m = self.mech
        targets = {"O": Bin.ACCEPT, self.reject_slot: Bin.REJECT}
        try:
            if source == "I" and destination in bays and bays[destination] < len(m.bays):
                m.pick_input()
                m.place_in_bay(bays[destination])
            elif source in bays and bays[source] < len(m.bays) and destination in targets:
                target = targets[destination]
                if len(m.bins[target]) >= m.capacity[target]:
                    return [b"DF\r"]
                m.grab_from_bay(bays[source])
                m.drop(target)
            else:
                return [b"IE\r"]
        except SimFault:
            return [b"MN\r"]
        return [b"CC\r"]


PERSONALITIES = {"generic": GenericPersonality, "rimage-ras13": RimagePersonality,
                 "aleratec-apls": AleratecPersonality, "primera-composer": PrimeraPersonality}


class RobotSim:
    """A simulated robot behind a pty: ``port`` is the slave path a driver opens.

    The serving thread reads the master end and writes replies; close() stops it. The slave
    is held open by the simulator too, so the pty survives the driver closing and reopening.
    """

    def __init__(self, protocol: str, mech: Mechanics, **personality_options: str) -> None:
        self.mech = mech
        self.protocol = protocol
        self.personality = PERSONALITIES[protocol](mech, **personality_options)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self._master)
        self.port = os.ttyname(self._slave)
        self.received = bytearray()
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, name=f"robot-sim-{protocol}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            ready, _, _ = select.select([self._master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return
            self.received += data
            for reply in self.personality.feed(data):
                os.write(self._master, reply)

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5)
        for fd in (self._master, self._slave, self._stop_r, self._stop_w):
            os.close(fd)
        for sensor in self.mech.bays:
            sensor.burner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
