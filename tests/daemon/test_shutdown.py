"""Shutdown in process: a forced stop interrupts the burn mid-write and leaves the tray unlocked."""

from __future__ import annotations

import asyncio
import os

from burnd.devices.drive import VirtualSpec, virtual_drive
from burnd.jobs.queue import JobQueue, LiveJob
from burnd.jobs.store import JobStore
from tests.daemon.images import make_iso


class Recorder:
    """QueueEvents that remember phases and wake the test on each change."""

    def __init__(self) -> None:
        self.phases: list[str] = []
        self.changed = asyncio.Event()

    def job_added(self, job: LiveJob) -> None:
        pass

    def job_changed(self, job: LiveJob, changes: dict) -> None:
        if "Phase" in changes:
            self.phases.append(changes["Phase"])
        self.changed.set()

    def job_finished(self, job: LiveJob, success: bool, message: str) -> None:
        self.changed.set()

    def drive_changed(self, drive) -> None:
        pass

    async def reached(self, phase: str) -> None:
        while phase not in self.phases:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 30)


async def waiting_for_a_second_blank(queue: JobQueue, events: Recorder, image) -> LiveJob:
    """A two-copy write whose first copy is done: it waits for a blank disc that never comes."""
    job = queue.submit("v", "write", {"copies": 2}, os.open(image, os.O_RDONLY), str(image), 0, 0, ())
    await events.reached("waiting for blank medium")
    return job


def test_forced_shutdown_interrupts_mid_write_and_unlocks(tmp_path):
    image = make_iso(tmp_path / "three.iso", 3 << 20)
    # The first 60 WRITEs answer "long write in progress": the burn sits in its write loop
    # (tray locked) long enough to be stopped there.
    spec = VirtualSpec("bd-r", 8000, tmp_path / "v.img", faults=("write: 2/04/08 x60",))
    drive = virtual_drive("v", spec)
    store = JobStore(tmp_path / "jobs.sqlite")

    async def scenario():
        events = Recorder()
        queue = JobQueue(store, {"v": drive}.get, events, asyncio.get_running_loop())
        queue.start_worker(drive)
        job = queue.submit("v", "write", {}, os.open(image, os.O_RDONLY), str(image), 0, 0, ())
        await events.reached("writing")
        locked_while_writing = not drive.burner.open_tray()
        force = asyncio.Event()
        force.set()
        await queue.shutdown(30, force)
        return job, locked_while_writing

    job, locked = asyncio.run(scenario())
    assert locked
    assert job.record.state == "interrupted"
    assert job.record.error_name == "org.burnd.Burnd1.Error.Interrupted"
    assert store.recover() == ([], [])
    assert drive.burner.open_tray() is True
    drive.close()
    store.close()


def test_shutdown_interrupts_a_job_waiting_for_a_blank_disc_at_once(tmp_path):
    """A job between copies has nothing in flight: SIGTERM must not wait for a disc to arrive."""
    image = make_iso(tmp_path / "one.iso", 1 << 20)
    drive = virtual_drive("v", VirtualSpec("bd-r", 8000, tmp_path / "v.img"))
    store = JobStore(tmp_path / "jobs.sqlite")

    async def scenario():
        events = Recorder()
        queue = JobQueue(store, {"v": drive}.get, events, asyncio.get_running_loop())
        queue.start_worker(drive)
        job = await waiting_for_a_second_blank(queue, events, image)
        # No force and a long grace period: only the idle-job rule can end this quickly.
        await asyncio.wait_for(queue.shutdown(600, asyncio.Event()), 10)
        return job

    job = asyncio.run(scenario())
    assert job.record.state == "interrupted"
    assert job.record.copy == 2  # the first copy was finished when the wait began
    assert store.recover() == ([], [])
    drive.close()
    store.close()


def test_a_hold_cancelled_while_it_waits_for_the_drives_stops_waiting(tmp_path):
    """A robot batch waits for the drive's own job to end before it takes the drive; cancelling
    it then (or stopping burnd) must not wait for that job too."""
    image = make_iso(tmp_path / "one.iso", 1 << 20)
    drive = virtual_drive("v", VirtualSpec("bd-r", 8000, tmp_path / "v.img"))
    store = JobStore(tmp_path / "jobs.sqlite")

    async def scenario():
        events = Recorder()
        queue = JobQueue(store, {"v": drive}.get, events, asyncio.get_running_loop())
        queue.start_worker(drive)
        job = await waiting_for_a_second_blank(queue, events, image)
        holder = LiveJob(store.add("robot", "robot-write", {}, None, 0, 0, ()))
        hold = asyncio.create_task(queue.hold(("v",), holder))
        await asyncio.sleep(0.2)
        still_waiting = not hold.done()
        holder.cancel.set()
        await queue.wake_holders()
        done, _ = await asyncio.wait([hold], timeout=10)
        running = job.record.state
        hold.cancel()
        queue.release(("v",))
        await asyncio.wait_for(queue.shutdown(600, asyncio.Event()), 10)
        return still_waiting, hold in done, running

    still_waiting, stopped_waiting, running = asyncio.run(scenario())
    assert still_waiting and stopped_waiting and running == "running"
    drive.close()
    store.close()
