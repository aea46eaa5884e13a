"""Batch burning with a robot: IMAGE × N over all of the robot's drives in parallel.

Per bay, a worker thread repeats: host opens the tray (START STOP UNIT) → robot places a blank
→ host closes the tray → burn and verify (:func:`burnd.burn.burn`) → host opens the tray →
robot drops the disc into the accept bin, or the reject bin when the burn or its verification
failed; until N discs were accepted or the input bin is empty. The robot has one arm, so every
robot call holds one lock; burns overlap freely.

A robot error (jam, full bin, silence, door open...) pauses the whole batch in a state a
caller can show: :attr:`BatchStatus.error` holds the error (its ``dbus_name`` says which).
After the operator fixes it, :meth:`Batch.resume` re-initialises the robot and retries the
step that failed. Bins the robot cannot sense are counted here against the configured
capacities, so a full bin pauses the batch before a disc lands on the pile; resuming after a
full-bin pause assumes the operator emptied that bin.

A disc already in a drive when the batch starts (left by a batch cut off by a crash or a
power cut: robots do not remember) would make the arm stack a blank on it; it goes to the
reject bin first, as a disc nobody can vouch for, and is counted there but not as a copy.

An empty input bin ends the batch with fewer copies (the issue's rule) unless
``pause_on_empty`` asks for a pause to refill. A failure that no other disc would fix (a bad
image) fails the batch instead of spending the input bin on it; ``max_failures_in_row``
consecutive rejects pause it for a look.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import BinaryIO

from burnd.burn import BurnOptions, ProgressEvent, burn
from burnd.drive import OpticalDrive
from burnd.errors import BadImage, BurndError
from burnd.robot.base import (
    AcceptBinFull,
    Bin,
    InputBinEmpty,
    RejectBinFull,
    Robot,
    RobotError,
    bin_full_error,
)
from burnd.scsi.sense import NoMedium, UnitAttention

log = logging.getLogger("burnd.robot")


class BatchState(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"


class TooManyFailures(RobotError):
    dbus_name = "TooManyFailures"


@dataclass(frozen=True, slots=True)
class DiscResult:
    number: int
    """1-based, in the order the discs were loaded."""
    bay: int
    drive: str
    accepted: bool
    error: str | None = None
    error_name: str | None = None
    sha256: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {"number": self.number, "bay": self.bay, "drive": self.drive, "accepted": self.accepted,
                "error": self.error or "", "error_name": self.error_name or "", "sha256": self.sha256 or "",
                "seconds": self.seconds}


@dataclass(frozen=True, slots=True)
class BatchStatus:
    state: BatchState
    copies: int
    accepted: int
    rejected: int
    results: tuple[DiscResult, ...]
    error: BurndError | None = None
    """Why the batch is paused or failed; None while running or after a clean finish."""
    message: str = ""
    input_exhausted: bool = False
    bay_errors: dict[int, str] = field(default_factory=dict)
    in_flight: int = 0
    """Discs loaded or being loaded and not yet in a bin."""
    leftovers: int = 0
    """Discs found in the drives at the start and moved to the reject bin (not copies)."""


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """``kind``: "state" (state or error changed), "disc" (a disc was accepted or rejected:
    ``disc``), "progress" (a bay's burn progress: ``bay`` and ``progress``)."""

    kind: str
    status: BatchStatus
    disc: DiscResult | None = None
    bay: int | None = None
    progress: ProgressEvent | None = None


EventCallback = Callable[[BatchEvent], None]


def _reissued_after_attention(command: Callable[[], None]) -> None:
    """A disc put into or taken from a tray makes the drive answer its next command with a
    medium-changed unit attention, without executing it; that is expected, so the command is
    issued once more."""
    try:
        command()
    except UnitAttention:
        command()


def open_tray(drive: OpticalDrive) -> None:
    """START STOP UNIT (eject), after allowing medium removal (a burn's lock would refuse it)."""
    _reissued_after_attention(drive.unlock)
    _reissued_after_attention(drive.eject)


def close_tray(drive: OpticalDrive) -> None:
    """START STOP UNIT (load)."""
    _reissued_after_attention(drive.load)


def holds_disc(drive: OpticalDrive, timeout: float = 30.0) -> bool:
    """Whether the drive has a disc in it (waiting while one spins up)."""
    try:
        drive.wait_ready(timeout)
    except NoMedium:
        return False
    return True


class _Stop(Exception):
    """The batch was cancelled while a worker waited."""


class Batch:
    """One batch. ``drives[i]`` is the drive in the robot's bay i (opened by the caller).

    ``image`` is a path or a file descriptor (the daemon's fd from the bus); every burn opens
    its own file description (``/proc/self/fd/N`` for a descriptor) so parallel burns do not
    share a file offset.

    ``executors[i]``, when given, runs bay i's loop: the daemon passes each drive's own
    single thread, so every command to a drive stays on the one thread that may use it.
    Without them each bay gets a thread of its own.
    """

    def __init__(self, robot: Robot, drives: Sequence[OpticalDrive], image: str | os.PathLike[str] | int,
                 copies: int, options: BurnOptions | None = None, *, on_event: EventCallback | None = None,
                 accept_capacity: int | None = None, reject_capacity: int | None = None,
                 pause_on_empty: bool = False, max_failures_in_row: int = 5, poll: float = 0.2,
                 executors: Sequence[Executor] | None = None) -> None:
        if copies < 1:
            raise ValueError(f"copies must be at least 1, not {copies}")
        if len(drives) != robot.drives:
            raise ValueError(f"robot {robot.name} has {robot.drives} bay(s) but {len(drives)} drive(s) were given")
        self.robot = robot
        self.drives = list(drives)
        self.copies = copies
        self._image = image
        self._options = options or BurnOptions()
        self._on_event = on_event
        self._capacity = {Bin.ACCEPT: accept_capacity, Bin.REJECT: reject_capacity}
        self._dropped = {Bin.ACCEPT: 0, Bin.REJECT: 0}
        self._leftovers = 0
        self._pause_on_empty = pause_on_empty
        self._max_failures = max_failures_in_row
        self._poll = poll
        self._cond = threading.Condition()
        self._robot_lock = threading.Lock()
        self._cancel = threading.Event()
        self._state = BatchState.PENDING
        self._error: BurndError | None = None
        self._message = ""
        self._robot_blocked = False
        self._needs_init = False
        self._results: list[DiscResult] = []
        self._in_flight = 0
        self._loaded = 0
        self._failures_in_row = 0
        self._input_exhausted = False
        self._bay_errors: dict[int, str] = {}
        self._thread: threading.Thread | None = None
        self._executors = list(executors) if executors is not None else None
        if self._executors is not None and len(self._executors) != len(self.drives):
            raise ValueError(f"{len(self.drives)} drive(s) but {len(self._executors)} executor(s)")

    # ------------------------------------------------------------------ control (any thread)

    def start(self) -> None:
        """Run the batch in a background thread; observe it with ``on_event`` or :meth:`status`."""
        self._thread = threading.Thread(target=self.run, name=f"batch-{self.robot.name}", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> BatchStatus:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status()

    def pause(self) -> None:
        """Stop loading new discs; burns under way finish and are unloaded."""
        with self._cond:
            if self._state is BatchState.RUNNING:
                self._set_state(BatchState.PAUSED, None, "paused on request; discs being burned finish first")

    def resume(self) -> None:
        """Continue after a pause; after a robot error the robot is re-initialised and the failed
        step retried."""
        with self._cond:
            if self._state is not BatchState.PAUSED:
                return
            if isinstance(self._error, AcceptBinFull):
                self._dropped[Bin.ACCEPT] = 0
            if isinstance(self._error, RejectBinFull):
                self._dropped[Bin.REJECT] = 0
            self._robot_blocked = False
            self._failures_in_row = 0
            self._set_state(BatchState.RUNNING, None, "")

    def cancel(self) -> None:
        """Stop: burns under way are cancelled and their discs rejected; nothing new is loaded."""
        self._cancel.set()
        with self._cond:
            self._cond.notify_all()

    def status(self) -> BatchStatus:
        with self._cond:
            return self._snapshot()

    # ------------------------------------------------------------------ the run

    def run(self) -> BatchStatus:
        """Run to the end in this thread; the final status."""
        with self._cond:
            self._set_state(BatchState.RUNNING, None, "")
        own = None if self._executors is not None else ThreadPoolExecutor(
            len(self.drives), thread_name_prefix=f"batch-{self.robot.name}-bay")
        executors = self._executors or [own] * len(self.drives)
        try:
            futures.wait([executor.submit(self._worker, bay) for bay, executor in enumerate(executors)])
        finally:
            if own is not None:
                own.shutdown()
        with self._cond:
            if self._state is not BatchState.FAILED:
                if self._cancel.is_set():
                    self._set_state(BatchState.CANCELLED, None, "cancelled")
                elif len(self._bay_errors) == len(self.drives):
                    self._set_state(BatchState.FAILED, self._error, "every drive failed")
                else:
                    self._set_state(BatchState.FINISHED, None, self._summary())
            return self._snapshot()

    def _summary(self) -> str:
        accepted = sum(r.accepted for r in self._results)
        text = f"{accepted} of {self.copies} copies accepted, {len(self._results) - accepted} rejected"
        return text + (" — the input bin ran out" if self._input_exhausted and accepted < self.copies else "")

    def _worker(self, bay: int) -> None:
        drive = self.drives[bay]
        try:
            if not self._clear_bay(bay):
                return
            while (number := self._claim()) is not None:
                try:
                    loaded = self._robot_step(partial(self._load, bay))
                except _Stop:
                    self._release()
                    break
                if not loaded:
                    self._release()
                    break
                result = self._burn_one(bay, number)
                target = Bin.ACCEPT if result.accepted else Bin.REJECT
                try:
                    self._robot_step(partial(self._unload, bay, target), cancellable=False)
                except _Stop:
                    self._record(result)
                    break
                self._record(result)
        except Exception as exc:  # a dead worker must not leave its disc counted as in flight
            if isinstance(exc, BurndError):
                log.error("robot %s bay %d (%s) stopped: %s", self.robot.name, bay, drive.name, exc)
            else:
                log.exception("robot %s bay %d (%s) stopped", self.robot.name, bay, drive.name)
            with self._cond:
                self._bay_errors[bay] = str(exc)
                self._in_flight = max(0, self._in_flight - 1)
                self._cond.notify_all()
                self._emit_locked("state")
        finally:
            self._close_tray(drive)

    # ------------------------------------------------------------------ bookkeeping

    def _claim(self) -> int | None:
        """Reserve the next disc for a bay: its number, or None when no more are needed."""
        with self._cond:
            while True:
                if self._cancel.is_set() or self._input_exhausted or self._state is BatchState.FAILED:
                    return None
                good = sum(r.accepted for r in self._results)
                if good + self._in_flight >= self.copies:
                    if self._in_flight == 0:
                        return None
                    self._cond.wait()
                    continue
                if self._state is BatchState.PAUSED:
                    self._cond.wait()
                    continue
                self._in_flight += 1
                self._loaded += 1
                return self._loaded

    def _release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._loaded -= 1
            self._cond.notify_all()

    def _record(self, result: DiscResult) -> None:
        with self._cond:
            self._results.append(result)
            self._in_flight -= 1
            target = Bin.ACCEPT if result.accepted else Bin.REJECT
            self._dropped[target] += 1
            self._failures_in_row = 0 if result.accepted else self._failures_in_row + 1
            self._cond.notify_all()
            self._emit_locked("disc", disc=result)
            if self._failures_in_row >= self._max_failures and self._state is BatchState.RUNNING:
                self._set_state(BatchState.PAUSED, TooManyFailures(
                    f"{self._failures_in_row} discs in a row failed (last: {result.error}) — check the blanks and "
                    f"the drives, then resume"), "")

    def _snapshot(self) -> BatchStatus:
        accepted = sum(r.accepted for r in self._results)
        return BatchStatus(self._state, self.copies, accepted, len(self._results) - accepted, tuple(self._results),
                           self._error, self._message, self._input_exhausted, dict(self._bay_errors),
                           self._in_flight, self._leftovers)

    def _set_state(self, state: BatchState, error: BurndError | None, message: str) -> None:
        """Called with the condition held."""
        self._state, self._error = state, error
        self._message = message if error is None else str(error)
        self._cond.notify_all()
        self._emit_locked("state")

    def _emit_locked(self, kind: str, **details: object) -> None:
        if self._on_event is None:
            return
        event = BatchEvent(kind, self._snapshot(), **details)  # type: ignore[arg-type]
        try:
            self._on_event(event)
        except Exception:
            log.exception("batch event callback failed")

    # ------------------------------------------------------------------ robot steps

    def _robot_step(self, action: Callable[[], None], cancellable: bool = True) -> bool:
        """Run one robot action; False when the input bin is empty and the batch should end.

        A robot error blocks the robot for every worker (the arm may be stuck mid-way) and
        pauses the batch; after :meth:`resume` the robot is re-initialised and the action
        retried. Unloads are not cancellable: a cancelled burn's disc still goes to the reject
        bin, unless the robot is blocked (then _Stop, like a cancellable step).
        """
        while True:
            if cancellable and self._cancel.is_set():
                raise _Stop
            with self._robot_lock:
                with self._cond:
                    while self._robot_blocked and not self._cancel.is_set():
                        self._cond.wait()
                    if self._robot_blocked:
                        raise _Stop
                try:
                    if self._needs_init:
                        self.robot.init()
                        self._needs_init = False
                    action()
                    return True
                except InputBinEmpty as exc:
                    if not self._pause_on_empty:
                        with self._cond:
                            self._input_exhausted = True
                            self._cond.notify_all()
                        return False
                    self._block(exc)
                except RobotError as exc:
                    self._block(exc)

    def _block(self, error: RobotError) -> None:
        """Called with the robot lock held: no worker moves the robot until resumed."""
        log.warning("robot %s: %s", self.robot.name, error)
        self._needs_init = True
        with self._cond:
            self._robot_blocked = True
            self._set_state(BatchState.PAUSED, error, "")

    def _load(self, bay: int) -> None:
        drive = self.drives[bay]
        open_tray(drive)
        self.robot.load(bay)
        close_tray(drive)

    def _unload(self, bay: int, target: Bin) -> None:
        capacity = self._capacity[target]
        if capacity is not None and self._dropped[target] >= capacity:
            raise bin_full_error(target, self.robot.name, f"counted {self._dropped[target]}")
        open_tray(self.drives[bay])
        self.robot.unload(bay, target)

    def _clear_bay(self, bay: int) -> bool:
        """Move a disc found in the drive to the reject bin; False when the batch was cancelled
        while the robot was blocked."""
        drive = self.drives[bay]
        if not holds_disc(drive):
            return True
        log.warning("robot %s bay %d: %s already holds a disc; it goes to the reject bin before the batch "
                    "loads a blank", self.robot.name, bay, drive.name)
        try:
            self._robot_step(partial(self._unload, bay, Bin.REJECT), cancellable=False)
        except _Stop:
            return False
        with self._cond:
            self._dropped[Bin.REJECT] += 1
            self._leftovers += 1
        return True

    def _close_tray(self, drive: OpticalDrive) -> None:
        try:
            close_tray(drive)
        except BurndError as exc:
            log.warning("%s: could not close the tray after the batch: %s", drive.name, exc)

    # ------------------------------------------------------------------ one disc

    def _open_image(self) -> BinaryIO:
        if isinstance(self._image, int):
            return open(f"/proc/self/fd/{self._image}", "rb")
        return open(self._image, "rb")

    def _burn_one(self, bay: int, number: int) -> DiscResult:
        drive = self.drives[bay]
        started = time.monotonic()

        def progress(event: ProgressEvent) -> None:
            with self._cond:
                self._emit_locked("progress", bay=bay, progress=event)

        try:
            with self._open_image() as image:
                result = burn(drive, image, self._options, progress=progress, cancel=self._cancel, poll=self._poll)
        except (BadImage, OSError) as exc:
            if isinstance(exc, OSError):
                exc = BadImage(f"the image cannot be read: {exc} — no other disc would fare better; the batch "
                               f"stops")
            with self._cond:
                self._set_state(BatchState.FAILED, exc, "")
            return DiscResult(number, bay, drive.name, False, str(exc), exc.dbus_error,
                              seconds=time.monotonic() - started)
        except BurndError as exc:
            log.info("robot %s bay %d: disc %d rejected: %s", self.robot.name, bay, number, exc)
            return DiscResult(number, bay, drive.name, False, str(exc), exc.dbus_error,
                              seconds=time.monotonic() - started)
        return DiscResult(number, bay, drive.name, True, sha256=result.sha256, seconds=time.monotonic() - started)
