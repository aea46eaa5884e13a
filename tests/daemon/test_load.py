"""200 clients submit 1,000 jobs to 8 virtual burners: all end, none lost, reads keep working."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.daemon.harness import ROOT, Client
from tests.daemon.images import make_iso

CLIENTS, JOBS, DRIVES = 200, 1000, 8


def test_load(start_burnd, bus, world):
    image = make_iso(world / "tiny.iso", 16 * 1024)
    daemon = start_burnd(*[arg for _ in range(DRIVES) for arg in ("--virtual-burner", "bd-re:1000")])
    assert daemon.process is not None
    fds = Path(f"/proc/{daemon.process.pid}/fd")
    open_before = len(os.listdir(fds))

    async def client(n: int) -> list[dict]:
        c = await Client.connect(bus.address)
        try:
            paths = [await c.write(f"virtual{(n * 5 + k) % DRIVES}", image, blank_first=True, verify=False)
                     for k in range(JOBS // CLIENTS)]
            return [await c.finished(p, timeout=170) for p in paths]
        finally:
            c.close()

    async def reader(stop: asyncio.Event) -> int:
        c = await Client.connect(bus.address)
        reads = 0
        try:
            while not stop.is_set():
                await asyncio.wait_for(c.drive("virtual0", "MediaState"), 10)
                await asyncio.wait_for(c.get(ROOT, "org.burnd.Burnd1.Manager", "Drives"), 10)
                reads += 1
                await asyncio.sleep(0.05)
        finally:
            c.close()
        return reads

    async def main():
        stop = asyncio.Event()
        reading = asyncio.create_task(reader(stop))
        results = await asyncio.gather(*(client(n) for n in range(CLIENTS)))
        stop.set()
        return [job for jobs in results for job in jobs], await reading

    jobs, reads = asyncio.run(main())
    assert len(jobs) == JOBS
    assert {j["State"] for j in jobs} == {"succeeded"}, {j["ErrorMessage"] for j in jobs if j["ErrorMessage"]}
    assert reads > 0
    assert len(os.listdir(fds)) <= open_before, "burnd leaked file descriptors"
