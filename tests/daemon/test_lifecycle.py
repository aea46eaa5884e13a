"""Process behaviour: the second SIGTERM interrupts, --debug logs CDBs, progress is throttled."""

from __future__ import annotations

import asyncio
import signal
import time

from burnd.jobs.queue import LiveJob, initial_props
from burnd.jobs.store import JobRecord
from burnd.service.job import MIN_INTERVAL, JobInterface
from tests.daemon.conftest import run
from tests.daemon.harness import CallError, Client


def _job_reaching(address: str, drive: str, iso, prop: str, value: str, **options) -> str:
    async def submit(c: Client):
        job = await c.write(drive, iso, **options)
        for _ in range(400):
            if await c.job(job, prop) == value:
                return job
            await asyncio.sleep(0.05)
        raise AssertionError(f"the job's {prop} never became {value!r}")

    return run(submit, address)


def test_sigterm_ends_a_job_waiting_for_a_blank_disc_at_once(start_burnd, bus, iso, tmp_path):
    """Between copies nothing is in flight: the first SIGTERM interrupts the job and burnd
    exits, instead of holding on until a disc arrives."""
    state = tmp_path / "state"
    daemon = start_burnd("--virtual-burner", "bd-r:4000", state=state)
    job = _job_reaching(bus.address, "virtual0", iso, "Phase", "waiting for blank medium", copies=2)
    assert daemon.stop(signal.SIGTERM) == 0
    start_burnd("--virtual-burner", "bd-r:4000", state=state)
    final = run(lambda c: c.finished(job), bus.address)
    assert final["State"] == "interrupted"
    assert final["Bytes"] == iso.stat().st_size and final["ErrorName"] == "org.burnd.Burnd1.Error.Interrupted"


def test_second_sigterm_interrupts_the_running_job(start_burnd, bus, iso, tmp_path):
    state = tmp_path / "state"
    config = tmp_path / "slow.toml"
    # 150 "long write in progress" answers (WRITE retries back off to 25 ms: a few seconds)
    # hold the burn inside its write loop while both signals arrive; it then sees the cancel.
    config.write_text('[[virtual_burner]]\nmedia = "bd-r"\nsize = 4000\nname = "slow"\n'
                      'faults = ["write: 2/04/08 x150"]\n')
    daemon = start_burnd("--config", str(config), state=state)
    job = _job_reaching(bus.address, "slow", iso, "State", "running")
    time.sleep(0.3)  # into the write loop, where the fault holds it
    assert daemon.process is not None
    daemon.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert daemon.process.poll() is None, "burnd quit while a job was running"

    async def refused(c: Client):
        try:
            await c.write("slow", iso)
        except CallError as exc:
            return exc.name
        return None

    assert run(refused, bus.address) == "org.burnd.Burnd1.Error.ShuttingDown"
    assert daemon.stop(signal.SIGTERM) == 0
    start_burnd("--config", str(config), state=state)
    final = run(lambda c: c.finished(job), bus.address)
    assert final["State"] == "interrupted"
    assert final["ErrorName"] == "org.burnd.Burnd1.Error.Interrupted"


def test_debug_logs_every_cdb(start_burnd, bus, iso):
    daemon = start_burnd("--debug", "--virtual-burner", "bd-r:4000")
    run(lambda c: c.run("virtual0", "Write", iso), bus.address)
    daemon.stop()
    log = daemon.log.read_text()
    assert "WRITE(10) CDB 2a" in log or "CDB 2a" in log
    assert "<7>burnd.scsi:" in log


def test_job_properties_change_at_most_ten_times_a_second():
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
    gaps = [b[0] - a[0] for a, b in zip(emitted, emitted[1:], strict=False)]
    assert len(emitted) <= elapsed / MIN_INTERVAL + 1
    assert all(gap >= MIN_INTERVAL * 0.99 for gap in gaps)
    assert emitted[-1][1]["Bytes"] == 2000
