"""The mutable state of the virtual drive that outlives any one medium.

Kept apart from the command handlers so that the burner (gating, tray, faults) and the handlers
(CDB → response) share one explicit record instead of reaching into each other.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from burnd.emu import responses as r
from burnd.emu.backing import Backing
from burnd.emu.media import Disc, WriteMode
from burnd.emu.modepages import default_page05, write_mode

# GESN media event codes (reference §3.5).
EVENT_EJECT_REQUEST, EVENT_NEW_MEDIA, EVENT_MEDIA_REMOVAL = 1, 2, 3


@dataclass
class Busy:
    """An Immed operation still "running": ``code`` and a progress indicator until ``end``."""

    code: tuple[int, int, int]
    start: float
    end: float

    def progress(self, now: float) -> float:
        span = self.end - self.start
        return 1.0 if span <= 0 else min(1.0, (now - self.start) / span)


@dataclass
class DriveState:
    serial: str
    vendor: str
    model: str
    revision: str
    peripheral_type: int
    busy_seconds: float
    disc: Disc | None = None
    backing: Backing | None = None
    tray_open: bool = False
    loaded: bool = False
    locked: bool = False
    ready_at: float = 0.0
    pending_ua: tuple[int, int, int] | None = None
    busy: Busy | None = None
    events: deque[int] = field(default_factory=deque)
    page05: bytearray = field(default_factory=default_page05)
    mode: WriteMode = field(default_factory=WriteMode)
    read_speed: int = 0xFFFF
    write_speed: int = 0xFFFF
    # Disc state saved when a test-write (simulation) recording began; restored at its end.
    simulation: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.mode = write_mode(self.page05)

    @property
    def medium(self) -> Disc | None:
        """The disc the drive can use: present, tray closed."""
        return self.disc if self.loaded else None

    def current_busy(self, now: float | None = None) -> Busy | None:
        if self.busy is not None and (now or time.monotonic()) >= self.busy.end:
            self.busy = None
        return self.busy

    def start_busy(self, code: tuple[int, int, int]) -> None:
        now = time.monotonic()
        self.busy = Busy(code, now, now + self.busy_seconds)

    def not_ready_condition(self) -> r.CheckCondition | None:
        """Why a medium command cannot run now (no medium, loading, busy), if it cannot."""
        if self.medium is None:
            return r.CheckCondition(
                r.NO_MEDIUM_TRAY_OPEN if self.tray_open else r.NO_MEDIUM_TRAY_CLOSED
            )
        now = time.monotonic()
        busy = self.current_busy(now)
        if busy is not None:
            return r.CheckCondition(busy.code, progress=busy.progress(now))
        if now < self.ready_at:
            return r.CheckCondition(r.BECOMING_READY)
        return None

    def reset(self) -> None:
        """A drive reset: settings back to power-on values, unit attention 6/29/00 pending."""
        self.pending_ua = r.POWER_ON_RESET
        self.locked = False
        self.page05 = default_page05()
        self.mode = write_mode(self.page05)
        self.end_simulation()

    def begin_recording(self) -> bool:
        """A recording step (cue sheet, reservation, WRITE) is about to change the disc.

        In test-write mode the disc is saved first, so the whole simulation — reservations and
        cue sheets included, not just the data — is undone at its end. Returns True when the
        step is simulated (data must not reach the backing file).
        """
        disc = self.disc
        simulated = disc is not None and self.mode.test_write and disc.kind.uses_page05
        if simulated and self.simulation is None:
            self.simulation = disc.to_json()
        return simulated

    def end_simulation(self) -> None:
        """A test write changes nothing: put back the disc as it was before it began."""
        if self.simulation is not None:
            self.disc = Disc.from_json(self.simulation)
            self.simulation = None

    def save(self) -> None:
        if self.disc is not None and self.backing is not None:
            self.backing.save_state(self.simulation or self.disc.to_json())
