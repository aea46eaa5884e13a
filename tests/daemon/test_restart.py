"""kill -9 mid-burn and mid-queue, then restart on the same state directory."""

from __future__ import annotations

import asyncio

from tests.daemon.conftest import run
from tests.daemon.harness import ROOT, Client

ARGS = ("--virtual-burner", "dvd+rw:4000")


def test_kill_9_keeps_the_queue_and_interrupts_the_running_job(start_burnd, bus, iso, tmp_path):
    state = tmp_path / "state"
    first = start_burnd(*ARGS, state=state)

    async def before(c: Client):
        running = await c.write("virtual0", iso, copies=2, blank_first=True)
        queued = [await c.write("virtual0", iso, blank_first=True) for _ in range(2)]
        for _ in range(400):
            if await c.job(running, "Phase") == "waiting for blank medium":
                break
            await asyncio.sleep(0.05)
        return running, queued, await c.job(running, "Phase"), [await c.job(q, "State") for q in queued]

    running, queued, phase, states = run(before, bus.address)
    assert phase == "waiting for blank medium" and states == ["queued", "queued"]
    first.kill()
    start_burnd(*ARGS, state=state)

    async def after(c: Client):
        interrupted = await c.finished(running)
        done = [await c.finished(q) for q in queued]
        objects = await c.call(ROOT, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
        await c.submit("virtual0", "Eject")
        await c.submit("virtual0", "Load", media="dvd+rw")
        fresh = await c.run("virtual0", "Write", iso)
        return interrupted, done, sorted(p for p in objects if "/jobs/" in p), fresh

    interrupted, done, jobs, fresh = run(after, bus.address)
    assert interrupted["State"] == "interrupted"
    assert interrupted["ErrorName"] == "org.burnd.Burnd1.Error.Interrupted"
    assert interrupted["Bytes"] == iso.stat().st_size
    assert [d["State"] for d in done] == ["succeeded", "succeeded"], [d["ErrorMessage"] for d in done]
    assert done[0]["StartTime"] < done[1]["StartTime"]
    assert jobs == sorted([running, *queued])
    assert fresh["State"] == "succeeded", fresh["ErrorMessage"]


def test_sigterm_lets_the_running_job_finish(start_burnd, bus, iso):
    daemon = start_burnd("--virtual-burner", "bd-r:4000")

    async def submit(c: Client):
        return await c.write("virtual0", iso)

    job = run(submit, bus.address)
    assert daemon.stop() == 0
    daemon.start()
    final = run(lambda c: c.finished(job), bus.address)
    assert final["State"] == "succeeded", final["ErrorMessage"]
