"""Robot batches as jobs: Robot.Write → a robot-write Job that runs a Batch on the robot's drives.

A batch is a job like any other to clients (a Job object, PropertiesChanged, Completed, the
SQLite store), but it runs on several drives at once, so it does not go through a drive's
queue: it *holds* the robot's drives (their queues start nothing new; jobs submitted to them
wait) once what runs on them has ended, opens each drive for the batch's whole length
(exclusively, for real drives), and runs each bay's loop on that drive's own thread.

Every disc that lands in a bin is saved to the store at once, so after a crash the job shows
(interrupted) which discs were done. A robot error pauses the batch: the Job's Phase turns
"paused" with ErrorName/ErrorMessage saying why, and the Robot shows it too; Robot.Resume
continues. A batch that ran out of blanks before ``copies`` good discs fails with
InputBinEmpty (the Result says how many were made); rejected discs alone do not fail it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Coroutine
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from burnd.burn.errors import Cancelled
from burnd.burn.progress import Phase, ProgressEvent
from burnd.devices.drive import ManagedDrive
from burnd.devices.robot import IDLE, OFFLINE, PAUSED, RUNNING, ManagedRobot
from burnd.drive import OpticalDrive
from burnd.errors import BurndError, DeviceBusy
from burnd.jobs.errors import NoSuchDrive, NotCancelable, ShuttingDown
from burnd.jobs.files import PositionalFile, size_of
from burnd.jobs.queue import JobQueue, LiveJob, QueueEvents, record_failure
from burnd.jobs.runner import burn_options, check_hash
from burnd.jobs.store import RUNNING as JOB_RUNNING, SUCCEEDED
from burnd.robot import Batch, BatchEvent, BatchState, BatchStatus, Bin, InputBinEmpty

log = logging.getLogger("burnd.robot")

ROBOT_WRITE = "robot-write"
WAITING_FOR_DRIVES = "waiting for drives"
SHUTDOWN_POLL = 0.1


class RobotEvents(QueueEvents, Protocol):
    def robot_changed(self, robot: ManagedRobot) -> None: ...


class NotPausable(BurndError):
    dbus_name = "NotPausable"


@dataclass(eq=False)
class _Run:
    robot: ManagedRobot
    job: LiveJob
    drives: tuple[ManagedDrive, ...]
    image_bytes: int
    batch: Batch | None = None
    bays: dict[int, ProgressEvent] = field(default_factory=dict)
    discs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def drive_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.drives)


class BatchJobs:
    """The robot batches of one daemon (at most one per robot)."""

    def __init__(self, queue: JobQueue, find_drive: Callable[[str], ManagedDrive], events: RobotEvents,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.queue = queue
        self._find_drive = find_drive
        self._events = events
        self._loop = loop
        self._runs: dict[str, _Run] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ submit

    def submit(self, robot: ManagedRobot, fd: int, image_path: str | None, options: dict[str, Any], uid: int,
               gid: int, groups: tuple[int, ...]) -> LiveJob:
        """Commit a robot-write job (taking ownership of ``fd``) and start it."""
        try:
            if not self.queue.accepting:
                raise ShuttingDown("burnd is shutting down and takes no new jobs; submit again once it is back")
            current = self._runs.get(robot.name)
            if current is not None:
                raise DeviceBusy(f"robot {robot.name} is running batch job {current.job.id}; wait for it to end "
                                 f"or cancel it, then write again")
            drives = tuple(self._bay_drive(robot, bay, name) for bay, name in enumerate(robot.config.drives))
            image_bytes = size_of(fd)
        except BaseException:
            os.close(fd)
            raise
        copies = options.get("copies", 1)
        record = self.queue.store.add(robot.name, ROBOT_WRITE, options, image_path, uid, gid, groups, 1, copies,
                                      state=JOB_RUNNING)
        record.total = copies * image_bytes
        job = self.queue.remember(LiveJob(record, fd))
        job.props.update({"Phase": WAITING_FOR_DRIVES, "TotalBytes": record.total, "Discs": []})
        run = _Run(robot, job, drives, image_bytes)
        self._runs[robot.name] = run
        robot.state, robot.batch_job, robot.error, robot.detail = RUNNING, job.id, None, "starting a batch"
        self._events.job_added(job)
        self._events.robot_changed(robot)
        self._spawn(self._run(run), f"batch-{robot.name}-{job.id}")
        return job

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """A task kept until it ends (shutdown waits for them all)."""
        task = self._loop.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _bay_drive(self, robot: ManagedRobot, bay: int, name: str) -> ManagedDrive:
        try:
            return self._find_drive(name)
        except NoSuchDrive:
            raise NoSuchDrive(f"robot {robot.name}'s bay {bay} drive {name} is not present (unplugged, or not an "
                              f"optical drive burnd manages); connect it or fix the robot's drives list in "
                              f"burnd.toml") from None

    def running(self, robot: ManagedRobot) -> LiveJob | None:
        run = self._runs.get(robot.name)
        return run.job if run is not None else None

    # ------------------------------------------------------------------ the run

    async def _run(self, run: _Run) -> None:
        job, robot = run.job, run.robot
        stacks = {drive.id: ExitStack() for drive in run.drives}
        success, message, held = False, "", False
        try:
            await self.queue.hold(run.drive_ids, job)
            held = True
            for drive in run.drives:
                self._events.drive_changed(drive)
            self._check_cancel(job)
            expected = job.record.options.get("expected_sha256")
            if expected:
                self.queue.change(job, {"Phase": "checking image"})
                await self._loop.run_in_executor(None, check_hash, PositionalFile(job.fd), expected, job.cancel,
                                                 self._reporter(job))
            link = await self._loop.run_in_executor(robot.executor, robot.init)
            optical = [await self._loop.run_in_executor(d.executor, _open_for_batch, d, stacks[d.id])
                       for d in run.drives]
            self._check_cancel(job)
            options = job.record.options
            run.batch = Batch(link, optical, job.fd, options.get("copies", 1), burn_options(options),
                              on_event=lambda event: self._loop.call_soon_threadsafe(self._event, run, event),
                              accept_capacity=robot.config.accept_capacity,
                              reject_capacity=robot.config.reject_capacity,
                              pause_on_empty=options.get("pause_on_empty", False),
                              executors=[d.executor for d in run.drives])
            self.queue.change(job, {"Phase": "running"})
            status = await self._loop.run_in_executor(None, run.batch.run)
            success, message = self._conclude(run, status)
        except BaseException as exc:
            message = record_failure(job, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            await self._end(run, stacks, held)
            self.queue.finish(job, success, message)

    @staticmethod
    def _check_cancel(job: LiveJob) -> None:
        if job.cancel.is_set():
            raise Cancelled("cancelled before the robot loaded a disc; nothing was burned")

    def _reporter(self, job: LiveJob) -> Callable[[dict[str, Any]], None]:
        return lambda changes: self._loop.call_soon_threadsafe(self.queue.change, job, changes)

    def _conclude(self, run: _Run, status: BatchStatus) -> tuple[bool, str]:
        """The job's end from the batch's: succeeded only with every copy accepted."""
        record = run.job.record
        record.result = self._result(status, run)
        if status.state is BatchState.FINISHED and status.accepted >= status.copies:
            record.state = SUCCEEDED
            return True, status.message
        if status.state is BatchState.CANCELLED:
            raise Cancelled(f"batch cancelled: {status.accepted} of {status.copies} copies accepted; discs being "
                            f"burned went to the reject bin")
        if status.state is BatchState.FINISHED:
            missing = status.copies - status.accepted
            raise InputBinEmpty(f"{status.message}; put blanks in the input bin and write the remaining "
                                f"{missing} {'copy' if missing == 1 else 'copies'}")
        raise status.error or BurndError(status.message or "the batch failed")

    async def _end(self, run: _Run, stacks: dict[str, ExitStack], held: bool) -> None:
        """Close the drives, give them back, publish what changed; nothing here may be skipped."""
        job, robot = run.job, run.robot
        for drive in run.drives:
            await self._loop.run_in_executor(drive.executor, stacks[drive.id].close)
        if held:
            self.queue.release(run.drive_ids)
        self.queue.close_file(job)
        job.record.finished = time.time()
        self.queue.store.save(job.record)
        del self._runs[robot.name]
        robot.batch_job = None
        if robot.state != OFFLINE:
            robot.state, robot.error = IDLE, None
            robot.detail = job.record.error_message or "batch done"
        for drive in run.drives:
            drive.media_changed()
            drive.announce()
            await self._loop.run_in_executor(drive.executor, drive.refresh)
            self._events.drive_changed(drive)
        self._events.robot_changed(robot)

    # ------------------------------------------------------------------ batch events (on the loop)

    def _event(self, run: _Run, event: BatchEvent) -> None:
        job, robot, status = run.job, run.robot, event.status
        changes: dict[str, Any] = {}
        if event.progress is not None and event.bay is not None:
            run.bays[event.bay] = event.progress
        if event.disc is not None:
            run.bays.pop(event.disc.bay, None)
            run.discs.append(event.disc.to_dict())
            job.record.result = self._result(status, run)
            self.queue.store.save(job.record)
            changes["Discs"] = list(run.discs)
        if event.kind == "state":
            paused = status.state is BatchState.PAUSED
            if status.state in (BatchState.RUNNING, BatchState.PAUSED):
                changes["Phase"] = "paused" if paused else "running"
                robot.state = PAUSED if paused else RUNNING
            error = status.error
            changes["ErrorName"] = error.dbus_error if error is not None and paused else ""
            changes["ErrorMessage"] = str(error) if error is not None and paused else ""
            robot.error = error if paused else None
            robot.detail = status.message
        writing = sum(e.done for e in run.bays.values() if e.phase is Phase.WRITING)
        done = status.accepted * run.image_bytes + writing
        changes.update({"Copy": min(status.accepted + 1, status.copies), "Bytes": done,
                        "Progress": min(1.0, done / job.record.total) if job.record.total else 0.0,
                        "Rate": float(sum(e.rate for e in run.bays.values()))})
        self.queue.change(job, changes)
        robot.count({Bin.ACCEPT: status.accepted, Bin.REJECT: status.rejected + status.leftovers})
        self._events.robot_changed(robot)

    @staticmethod
    def _result(status: BatchStatus, run: _Run) -> dict[str, Any]:
        return {"accepted": status.accepted, "rejected": status.rejected, "input_exhausted": status.input_exhausted,
                "leftovers_rejected": status.leftovers, "discs": list(run.discs)}

    # ------------------------------------------------------------------ control

    def _batch(self, robot: ManagedRobot, action: str) -> Batch:
        run = self._runs.get(robot.name)
        if run is None or run.batch is None:
            raise NotPausable(f"robot {robot.name} has no batch running, so there is nothing to {action}; start one "
                              f"with Robot.Write (burnctl write IMAGE --robot {robot.name})")
        return run.batch

    def pause(self, robot: ManagedRobot) -> None:
        self._batch(robot, "pause").pause()

    def resume(self, robot: ManagedRobot) -> None:
        batch = self._batch(robot, "resume")
        if batch.status().state is not BatchState.PAUSED:
            raise NotPausable(f"robot {robot.name}'s batch is not paused; there is nothing to resume")
        batch.resume()

    def cancel(self, job: LiveJob) -> None:
        if job.record.terminal:
            raise NotCancelable(f"job {job.id} already ended ({job.record.state}); there is nothing to cancel")
        job.cancel.set()
        run = next((r for r in self._runs.values() if r.job is job), None)
        if run is not None and run.batch is not None:
            run.batch.cancel()
        elif run is not None:
            self._spawn(self.queue.wake_holders(), f"wake-{job.id}")

    async def shutdown(self, timeout: float, force: asyncio.Event) -> None:
        """Load no more discs; let the discs in the drives finish (until ``timeout`` or ``force``),
        then end the batches as interrupted — every finished disc stays recorded."""
        deadline = self._loop.time() + timeout
        for run in self._runs.values():
            if run.batch is not None:
                run.batch.pause()
        while any(r.batch is not None and _draining(r.batch.status()) for r in self._runs.values()):
            if force.is_set() or self._loop.time() >= deadline:
                break
            await asyncio.sleep(SHUTDOWN_POLL)
        for run in list(self._runs.values()):
            run.job.interrupt = True
            self.cancel(run.job)
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _draining(status: BatchStatus) -> bool:
    """Discs are in the drives and will reach a bin without help; a robot stopped by a fault
    (jam, silence, full bin) will not move them, so shutdown does not wait for it."""
    return status.in_flight > 0 and status.error is None and status.state in (BatchState.RUNNING,
                                                                                BatchState.PAUSED)


def _open_for_batch(drive: ManagedDrive, stack: ExitStack) -> OpticalDrive:
    """On the drive's thread: the drive, open for the whole batch (exclusively for a real one)."""
    return stack.enter_context(drive.session(exclusive=True))
