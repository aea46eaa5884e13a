"""Process behaviour: the second SIGTERM interrupts, --debug logs CDBs, progress is throttled."""

from __future__ import annotations

import asyncio
import signal
import time

from tests.daemon.conftest import run
from tests.daemon.harness import Client


def test_second_sigterm_interrupts_the_running_job(start_burnd, bus, iso, tmp_path):
    state = tmp_path / "state"
    daemon = start_burnd("--virtual-burner", "bd-r:4000", state=state)

    async def waiting(c: Client):
        job = await c.write("virtual0", iso, copies=2)
        for _ in range(400):
            if await c.job(job, "Phase") == "waiting for blank medium":
                return job
            await asyncio.sleep(0.05)
        raise AssertionError("the job never waited for a blank disc")

    job = run(waiting, bus.address)
    assert daemon.process is not None
    daemon.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert daemon.process.poll() is None, "burnd quit while a job was running"
    assert daemon.stop(signal.SIGTERM) == 0
    start_burnd("--virtual-burner", "bd-r:4000", state=state)
    final = run(lambda c: c.finished(job), bus.address)
    assert final["State"] == "interrupted"
    assert final["Bytes"] == iso.stat().st_size and final["ErrorName"] == "org.burnd.Burnd1.Error.Interrupted"


def test_debug_logs_every_cdb(start_burnd, bus, iso):
    daemon = start_burnd("--debug", "--virtual-burner", "bd-r:4000")
    run(lambda c: c.run("virtual0", "Write", iso), bus.address)
    daemon.stop()
    log = daemon.log.read_text()
    assert "WRITE(10) CDB 2a" in log or "CDB 2a" in log
    assert "<7>burnd.scsi:" in log


def test_job_properties_change_at_most_ten_times_a_second():
    from burnd.jobs.queue import LiveJob, initial_props
    from burnd.jobs.store import JobRecord
    from burnd.service.job import MIN_INTERVAL, JobInterface

    record = JobRecord(1, "d", "write", "running", {}, None, 0, 0, ())
    job = LiveJob(record)
    job.props = initial_props(record)
    interface = JobInterface(job, None, None)  # type: ignore[arg-type]
    emitted: list[tuple[float, dict]] = []
    interface.emit_properties_changed = lambda changes, invalidated=[]: emitted.append((time.monotonic(), changes))

    async def flood():
        started = time.monotonic()
        for n in range(1, 2001):
            interface.changed({"Bytes": n})
            if n % 100 == 0:
                await asyncio.sleep(0.01)
        await asyncio.sleep(MIN_INTERVAL * 2)
        return time.monotonic() - started

    elapsed = asyncio.run(flood())
    gaps = [b[0] - a[0] for a, b in zip(emitted, emitted[1:])]
    assert len(emitted) <= elapsed / MIN_INTERVAL + 1
    assert all(gap >= MIN_INTERVAL * 0.99 for gap in gaps)
    assert emitted[-1][1]["Bytes"] == 2000
