"""The job queue on the event loop: persistence, one worker per drive, cancel, shutdown.

Jobs are committed to the store before ``submit`` returns. Each drive has one asyncio worker
that takes its jobs in id order and runs them on the drive's own thread, so different drives
burn in parallel and one drive never runs two jobs. Progress arrives from that thread through
``call_soon_threadsafe``; ``Bytes`` is written to the store at most once a second so a job
interrupted by a crash records how far it got.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from burnd.burn.errors import Cancelled, VerifyMismatch, WriteFailed
from burnd.devices.drive import ManagedDrive
from burnd.errors import DBUS_ERROR_PREFIX, BadImage, BurndError, DeviceBusy
from burnd.jobs import runner
from burnd.jobs.errors import NotCancelable, ShuttingDown
from burnd.jobs.files import PositionalFile, reopen_as
from burnd.jobs.store import CANCELLED, FAILED, INTERRUPTED, QUEUED, RUNNING, SUCCEEDED, JobRecord, JobStore

log = logging.getLogger("burnd.jobs")

SAVE_INTERVAL = 1.0
FILE_KINDS = frozenset({"write", "verify", "rip"})


@dataclass(eq=False)
class LiveJob:
    """A job the daemon knows about: its record plus what only exists while burnd runs."""

    record: JobRecord
    fd: int | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    props: dict[str, Any] = field(default_factory=dict)
    interrupt: bool = False
    saved_at: float = 0.0

    @property
    def id(self) -> int:
        return self.record.id


class QueueEvents(Protocol):
    """What the service layer hears from the queue (all on the event loop)."""

    def job_added(self, job: LiveJob) -> None: ...
    def job_changed(self, job: LiveJob, changes: dict[str, Any]) -> None: ...
    def job_finished(self, job: LiveJob, success: bool, message: str) -> None: ...
    def drive_changed(self, drive: ManagedDrive) -> None: ...


def initial_props(record: JobRecord) -> dict[str, Any]:
    phase = {QUEUED: "queued", RUNNING: "preparing"}.get(record.state, "done")
    return {"Phase": phase, "Progress": 1.0 if record.state == SUCCEEDED else 0.0, "Bytes": record.bytes,
            "TotalBytes": record.total, "Rate": 0.0, "ExpectedEndTime": 0, "BufferFill": 0.0,
            "Copy": record.copy}


def error_fields(exc: BaseException) -> tuple[str, str, dict[str, Any]]:
    """(D-Bus error name, message, extra Result entries) for a failed job."""
    if isinstance(exc, BurndError):
        extra: dict[str, Any] = {}
        if isinstance(exc, VerifyMismatch) and exc.first_lba is not None:
            extra = {"bad_first_lba": exc.first_lba, "bad_last_lba": exc.last_lba}
        if isinstance(exc, (WriteFailed, Cancelled)):
            extra["blocks_written"] = exc.written_blocks
        return exc.dbus_error, str(exc), extra
    return (DBUS_ERROR_PREFIX + "Failed",
            f"internal error ({type(exc).__name__}: {exc}); the job stopped — see burnd's log and report it", {})


def record_failure(job: LiveJob, exc: BaseException) -> str:
    """Put why ``job`` ended into its record (state, error name and message, extra Result
    entries); the message for Completed."""
    record = job.record
    record.error_name, record.error_message, extra = error_fields(exc)
    record.result.update(extra)
    if job.interrupt:
        record.error_name = DBUS_ERROR_PREFIX + "Interrupted"
        record.error_message = f"burnd was stopped during this job: {record.error_message}"
    record.state = INTERRUPTED if job.interrupt else CANCELLED if isinstance(exc, Cancelled) else FAILED
    if not isinstance(exc, BurndError):
        log.error("job %d on %s failed unexpectedly", job.id, record.drive, exc_info=exc)
    return record.error_message


class JobQueue:
    def __init__(self, store: JobStore, drive_for: Callable[[str], ManagedDrive | None], events: QueueEvents,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.jobs: dict[int, LiveJob] = {}
        self._drive_for = drive_for
        self._events = events
        self._loop = loop
        self._pending: dict[str, collections.deque[LiveJob]] = collections.defaultdict(collections.deque)
        self._wake: dict[str, asyncio.Event] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._running: dict[str, LiveJob] = {}
        self._held: dict[str, LiveJob] = {}
        self._ended = asyncio.Condition()
        self._quiet = asyncio.Event()
        self._quiet.set()
        self.accepting = True

    # ------------------------------------------------------------------ start, submit

    def recover(self, history: int) -> list[LiveJob]:
        """Load the store after a restart: queued jobs keep their order; running ones are interrupted;
        the last ``history`` ended jobs stay visible."""
        queued, interrupted = self.store.recover()
        for record in self.store.recent(history):
            self.remember(LiveJob(record))
        for record in interrupted:
            self.remember(LiveJob(record))
        for record in queued:
            self._enqueue(self.remember(LiveJob(record)))
        return list(self.jobs.values())

    def remember(self, job: LiveJob) -> LiveJob:
        """Keep ``job`` in memory (as the D-Bus objects need it) with its initial properties."""
        job.props = initial_props(job.record)
        self.jobs[job.id] = job
        return job

    def submit(self, drive_id: str, kind: str, options: dict[str, Any], fd: int | None, image_path: str | None,
               uid: int, gid: int, groups: tuple[int, ...], copy: int = 1, copies: int = 1) -> LiveJob:
        """Commit a queued job (taking ownership of ``fd``) and wake the drive's worker."""
        if not self.accepting:
            if fd is not None:
                os.close(fd)
            raise ShuttingDown("burnd is shutting down and takes no new jobs; submit again once it is back")
        record = self.store.add(drive_id, kind, options, image_path, uid, gid, groups, copy, copies)
        job = self.remember(LiveJob(record, fd))
        self._events.job_added(job)
        self._enqueue(job)
        return job

    def _enqueue(self, job: LiveJob) -> None:
        drive = job.record.drive
        self._pending[drive].append(job)
        if drive in self._wake:
            self._wake[drive].set()

    def forget(self, job_id: int) -> None:
        """Drop an ended job from memory (it stays in the store)."""
        job = self.jobs.get(job_id)
        if job is not None and job.record.terminal:
            del self.jobs[job_id]

    def queued_on(self, drive_id: str) -> int:
        return len(self._pending.get(drive_id, ())) + (drive_id in self._running) + (drive_id in self._held)

    # ------------------------------------------------------------------ holds

    async def hold(self, drive_ids: tuple[str, ...], holder: LiveJob) -> None:
        """Take the drives away from their queues for ``holder`` (a robot batch): their workers
        start nothing new, jobs submitted meanwhile wait; returns once no job runs on any of them,
        or at once when ``holder`` is cancelled meanwhile (see :meth:`wake_holders`)."""
        taken = [d for d in drive_ids if d in self._held]
        if taken:
            raise DeviceBusy(f"drive(s) {', '.join(taken)} are held by job {self._held[taken[0]].id}; wait for it "
                             f"to end or cancel it")
        for drive_id in drive_ids:
            self._held[drive_id] = holder
        async with self._ended:
            await self._ended.wait_for(lambda: holder.cancel.is_set() or
                                       not any(d in self._running for d in drive_ids))

    async def wake_holders(self) -> None:
        """Let every :meth:`hold` look again (a holder was cancelled while it waited)."""
        async with self._ended:
            self._ended.notify_all()

    def release(self, drive_ids: tuple[str, ...]) -> None:
        """Give held drives back to their queues; waiting jobs start."""
        for drive_id in drive_ids:
            self._held.pop(drive_id, None)
            if drive_id in self._wake:
                self._wake[drive_id].set()

    # ------------------------------------------------------------------ workers

    def start_worker(self, drive: ManagedDrive) -> None:
        if drive.id in self._workers:
            return
        self._wake[drive.id] = asyncio.Event()
        if self._pending.get(drive.id):
            self._wake[drive.id].set()
        self._workers[drive.id] = self._loop.create_task(self._work(drive), name=f"worker-{drive.id}")

    async def stop_worker(self, drive_id: str) -> None:
        task = self._workers.pop(drive_id, None)
        self._wake.pop(drive_id, None)
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    def running_on(self, drive_id: str) -> LiveJob | None:
        """The job using the drive: its own running job, or the batch holding it."""
        return self._running.get(drive_id) or self._held.get(drive_id)

    async def _work(self, drive: ManagedDrive) -> None:
        wake = self._wake[drive.id]
        while True:
            await wake.wait()
            wake.clear()
            pending = self._pending[drive.id]
            while pending and self.accepting and drive.id not in self._held:
                job = pending.popleft()
                await self._run(drive, job)

    async def _run(self, drive: ManagedDrive, job: LiveJob) -> None:
        record = job.record
        record.state, record.started = RUNNING, time.time()
        self.store.save(record)
        self._running[drive.id] = job
        self._quiet.clear()
        self.change(job, {"State": RUNNING, "Phase": "preparing", "StartTime": int(record.started * 1e6)})
        self._events.drive_changed(drive)
        success, message = False, ""
        try:
            ctx = await self._context(drive, job)
            record.result = await self._loop.run_in_executor(drive.executor, runner.run, ctx)
            record.state, success = SUCCEEDED, True
            message = f"{record.kind} on {drive.id} succeeded"
        except BaseException as exc:
            message = record_failure(job, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self.close_file(job)
            record.finished = time.time()
            self.store.save(record)
            del self._running[drive.id]
            if not self._running:
                self._quiet.set()
            async with self._ended:
                self._ended.notify_all()
            drive.announce()
            await self._loop.run_in_executor(drive.executor, drive.refresh)
            self._events.drive_changed(drive)
            self.finish(job, success, message)

    async def _context(self, drive: ManagedDrive, job: LiveJob) -> runner.JobContext:
        record = job.record
        if record.kind in FILE_KINDS and job.fd is None:
            job.fd = await self._loop.run_in_executor(None, self._reopen, record)
        file = PositionalFile(job.fd) if record.kind in ("write", "verify") and job.fd is not None else None
        out_path = f"/proc/self/fd/{job.fd}" if record.kind == "rip" else None

        def report(changes: dict[str, Any]) -> None:
            self._loop.call_soon_threadsafe(self._progress, job, changes)

        return runner.JobContext(drive, record.kind, record.options, file, job.cancel, report,
                                 first_copy=record.copy, out_path=out_path)

    @staticmethod
    def _reopen(record: JobRecord) -> int:
        if record.image_path is None:
            raise BadImage(f"job {record.id}'s file was not a named file, so it could not be reopened after burnd "
                           f"restarted; submit the job again")
        flags = os.O_WRONLY if record.kind == "rip" else os.O_RDONLY
        try:
            return reopen_as(record.image_path, record.uid, record.gid, record.groups, flags)
        except OSError as exc:
            raise BadImage(f"after burnd restarted, {record.image_path} could not be reopened as uid {record.uid} "
                           f"({exc.strerror}); make it readable again or submit the job anew") from None

    @staticmethod
    def close_file(job: LiveJob) -> None:
        if job.fd is not None:
            os.close(job.fd)
            job.fd = None

    # ------------------------------------------------------------------ progress, end

    def _progress(self, job: LiveJob, changes: dict[str, Any]) -> None:
        record = job.record
        save = "Phase" in changes and changes["Phase"] != job.props.get("Phase")
        if "Bytes" in changes and changes.get("Phase") == "writing":
            record.bytes, record.total = changes["Bytes"], changes["TotalBytes"]
            save = save or time.monotonic() - job.saved_at >= SAVE_INTERVAL
        if "Copy" in changes:
            record.copy = changes["Copy"]
        if save:
            job.saved_at = time.monotonic()
            self.store.save(record)
        self.change(job, changes)
        if not self.accepting:
            self._interrupt_if_idle(job)

    def _interrupt_if_idle(self, job: LiveJob) -> None:
        """During shutdown a job waiting for a blank disc has nothing in flight: interrupt it
        now (its finished copies stay recorded) instead of holding the daemon until a disc
        arrives or the shutdown timeout passes."""
        if job.props.get("Phase") == runner.WAITING_FOR_BLANK and not job.cancel.is_set():
            job.interrupt = True
            self.cancel(job)

    def change(self, job: LiveJob, changes: dict[str, Any]) -> None:
        """Record property changes and pass on those that differ from what clients saw."""
        fresh = {k: v for k, v in changes.items() if job.props.get(k) != v}
        if fresh:
            job.props.update(fresh)
            self._events.job_changed(job, fresh)

    def finish(self, job: LiveJob, success: bool, message: str) -> None:
        """Publish a job's end: its final properties, then Completed."""
        record = job.record
        changes: dict[str, Any] = {"State": record.state, "Phase": "done", "Result": record.result,
                                   "ErrorName": record.error_name, "ErrorMessage": record.error_message,
                                   "Cancelable": False, "Rate": 0.0, "ExpectedEndTime": 0}
        if success:
            changes["Progress"] = 1.0
        self.change(job, changes)
        self._events.job_finished(job, success, message)

    # ------------------------------------------------------------------ cancel, shutdown

    def cancel(self, job: LiveJob) -> None:
        record = job.record
        if record.terminal:
            raise NotCancelable(f"job {job.id} already ended ({record.state}); there is nothing to cancel")
        if record.state == QUEUED:
            self._pending[record.drive].remove(job)
            self.close_file(job)
            record.state, record.finished = CANCELLED, time.time()
            record.error_name = DBUS_ERROR_PREFIX + "Cancelled"
            record.error_message = "cancelled before it started; the disc was not touched"
            self.store.save(record)
            self.finish(job, False, record.error_message)
            return
        job.cancel.set()
        drive = self._drive_for(record.drive)
        if drive is not None:
            drive.wake()

    async def shutdown(self, timeout: float, force: asyncio.Event) -> None:
        """Stop taking work; let running jobs finish, or interrupt them on ``force`` or timeout."""
        self.accepting = False
        running = list(self._workers.values())
        for job in list(self._running.values()):
            self._interrupt_if_idle(job)
        if self._running:
            log.info("waiting up to %g s for %d running job(s) to finish", timeout, len(self._running))
            forced = asyncio.ensure_future(force.wait())
            done = asyncio.ensure_future(self._quiet.wait())
            await asyncio.wait({forced, done}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            forced.cancel()
            if self._running:
                for job in self._running.values():
                    job.interrupt = True
                    self.cancel(job)
                await done
            done.cancel()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
