"""Job progress as text: a pure renderer (a snapshot in, one line out) and a writer that puts
the line on a terminal (redrawn in place) or, when stdout is not a terminal, prints plain lines
at a bounded rate so logs stay readable."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, TextIO

FULL = "█"
PLAIN_INTERVAL = 5.0  # seconds between plain lines when nothing but numbers changed


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a Job object says about itself, in the units the renderer needs."""

    kind: str = ""
    state: str = ""
    phase: str = ""
    progress: float = 0.0
    done: int = 0
    total: int = 0
    rate: float = 0.0  # bytes/s
    expected_end: float = 0.0  # seconds since the epoch; 0 = unknown
    fifo: float = 0.0  # 0..1
    copy: int = 1
    copies: int = 1
    accepted: int = 0  # a robot-write batch: discs in the accept bin

    @classmethod
    def of(cls, props: dict[str, Any]) -> Snapshot:
        return cls(
            kind=props.get("Kind", ""), state=props.get("State", ""), phase=props.get("Phase", ""),
            progress=float(props.get("Progress", 0.0)), done=int(props.get("Bytes", 0)),
            total=int(props.get("TotalBytes", 0)), rate=float(props.get("Rate", 0.0)),
            expected_end=int(props.get("ExpectedEndTime", 0)) / 1e6, fifo=float(props.get("BufferFill", 0.0)),
            copy=int(props.get("Copy", 1)), copies=int(props.get("Copies", 1)),
            accepted=sum(1 for disc in props.get("Discs") or [] if disc.get("accepted")),
        )


def human_bytes(n: float) -> str:
    """Binary units, three significant digits: 512 B, 1.50 MiB, 23.4 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            if unit == "B":
                return f"{int(n)} B"
            return f"{n:.3g} {unit}" if n < 100 else f"{n:.0f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def rate_text(bytes_per_second: float) -> str:
    """Decimal MB/s, as drive speeds are quoted."""
    return f"{bytes_per_second / 1e6:.1f} MB/s"


def eta_text(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def eta_seconds(snap: Snapshot, now: float) -> float | None:
    """The daemon's expected end when known, else remaining bytes over the current rate."""
    if snap.expected_end > 0:
        return max(0.0, snap.expected_end - now)
    if snap.rate > 0 and snap.total > snap.done:
        return (snap.total - snap.done) / snap.rate
    return None


#: what a narrow terminal loses first; the percentage and the copy number always stay
DROP_ORDER = ("amount", "rate", "fifo", "eta")
MIN_BAR = 10


def fields(snap: Snapshot, now: float) -> dict[str, str]:
    """The pieces after the bar, in display order: percent, amount, rate, ETA, FIFO fill, copy."""
    parts = {"percent": f"{snap.progress * 100:5.1f}%"}
    if snap.total:
        parts["amount"] = f"{human_bytes(snap.done)}/{human_bytes(snap.total)}"
    if snap.rate > 0:
        parts["rate"] = rate_text(snap.rate)
    parts["eta"] = f"ETA {eta_text(eta_seconds(snap, now))}"
    if snap.kind == "write":
        parts["fifo"] = f"fifo {snap.fifo * 100:3.0f}%"
    if snap.kind == "robot-write":
        parts["copy"] = f"{snap.accepted}/{snap.copies} accepted"
    elif snap.copies > 1:
        parts["copy"] = f"copy {snap.copy}/{snap.copies}"
    return parts


def render_bar(snap: Snapshot, width: int, now: float, color: bool = False) -> str:
    """One terminal line of at most ``width`` columns: phase, bar, figures.

    The bar gets whatever the text leaves; when that is under MIN_BAR columns the least useful
    figures go first, and as a last resort the line is cut — wrapping would break the in-place
    redraw."""
    head = f"{snap.phase or snap.state:<10.24} "
    parts = fields(snap, now)
    for name in (None, *DROP_ORDER):
        parts.pop(name, None)
        tail = " " + "  ".join(parts.values())
        room = width - len(head) - len(tail) - 2
        if room >= MIN_BAR:
            break
    else:
        return (head + tail.strip())[:width]
    filled = int(room * min(max(snap.progress, 0.0), 1.0))
    done = FULL * filled
    if color:
        done = f"\x1b[32m{done}\x1b[0m"
    return f"{head}[{done}{' ' * (room - filled)}]{tail}"


def render_line(snap: Snapshot, now: float) -> str:
    """The plain, log-friendly form used when stdout is not a terminal."""
    return f"{snap.phase or snap.state}: " + "  ".join(part.strip() for part in fields(snap, now).values())


class ProgressWriter:
    """Draws snapshots on ``stream``: in place on a terminal, as rate-limited lines otherwise."""

    def __init__(self, stream: TextIO, tty: bool, color: bool, width: int = 80) -> None:
        self.stream = stream
        self.tty = tty
        self.color = color
        self.width = width
        self._last_phase = ""
        self._last_plain = 0.0
        self._drawn = False

    def update(self, snap: Snapshot) -> None:
        now = time.time()
        if self.tty:
            self.stream.write("\r\x1b[K" + render_bar(snap, self.width, now, self.color))
            self._drawn = True
        elif snap.phase != self._last_phase or now - self._last_plain >= PLAIN_INTERVAL:
            self.stream.write(render_line(snap, now) + "\n")
            self._last_plain = now
        self._last_phase = snap.phase
        self.stream.flush()

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False
