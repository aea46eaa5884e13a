"""Progress events for long drive work, throttled and smoothed for people and D-Bus.

The meter is fed on every chunk (cheap: one clock read and a comparison) and emits at most
``max_rate`` events per second plus the first and last, so a fast emulator burn does not
flood PropertiesChanged. The rate is an exponential moving average so a drive pausing for a
buffer refill does not make the ETA jump about.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Callable


class Phase(str, enum.Enum):
    PREPARING = "preparing"
    BLANKING = "blanking"
    FORMATTING = "formatting"
    WRITING = "writing"
    CLOSING = "closing"
    VERIFYING = "verifying"
    READING = "reading"


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    phase: Phase
    done: int
    """Bytes done in this phase (for drive-reported phases: the fraction × total)."""
    total: int
    rate: float
    """Smoothed bytes per second (0 until known)."""
    eta: float | None
    """Seconds left in this phase, when a rate is known."""
    fifo_fill: float | None = None
    drive_buffer_fill: float | None = None

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0


ProgressCallback = Callable[[ProgressEvent], None]

DRIVE_SCALE = 1000
"""``total`` of phases whose progress comes from the drive's indicator (blank, format): done is
per mille, as no byte count exists for them."""


class ProgressMeter:
    """Turns a stream of byte counts into throttled :class:`ProgressEvent` calls."""

    def __init__(self, callback: ProgressCallback | None, phase: Phase, total: int, *,
                 max_rate: float = 10.0, smoothing: float = 0.3,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._callback = callback
        self._phase = phase
        self._total = total
        self._interval = 1.0 / max_rate
        self._alpha = smoothing
        self._clock = clock
        self._last_time = clock()
        self._last_done = 0
        self._rate = 0.0
        self._emitted = False

    def due(self) -> bool:
        """Whether an update now would be emitted (lets callers skip costly extra queries)."""
        return self._callback is not None and (not self._emitted or self._clock() - self._last_time >= self._interval)

    def update(self, done: int, *, force: bool = False, fifo_fill: float | None = None,
               drive_buffer_fill: float | None = None) -> None:
        if self._callback is None:
            return
        now = self._clock()
        elapsed = now - self._last_time
        if self._emitted and not force and elapsed < self._interval:
            return
        if elapsed > 0 and done >= self._last_done and self._emitted:
            sample = (done - self._last_done) / elapsed
            self._rate = sample if self._rate == 0 else self._alpha * sample + (1 - self._alpha) * self._rate
        self._last_time, self._last_done, self._emitted = now, done, True
        eta = (self._total - done) / self._rate if self._rate > 0 else None
        self._callback(ProgressEvent(self._phase, done, self._total, self._rate, eta, fifo_fill, drive_buffer_fill))

    def fraction(self, value: float) -> None:
        """For drive-reported progress (format/blank/close): ``value`` in 0..1."""
        self.update(int(value * self._total))

    def finish(self) -> None:
        self.update(self._total, force=True)


def emit_phase(callback: ProgressCallback | None, phase: Phase, total: int = 0) -> None:
    """One event announcing a phase that reports no progress of its own."""
    if callback is not None:
        callback(ProgressEvent(phase, 0, total, 0.0, None))
