"""Daemon benchmark: method-call latency against the bus daemon itself, RSS, idle wakeups.

    .venv/bin/python bench/daemon.py

Starts a private dbus-daemon and burnd with virtual burners, then measures:
- p50/p99 latency of burnd method calls (Manager.GetDriveByDevice, Properties.Get) and the
  ratio to a plain org.freedesktop.DBus.GetId call on the same bus in the same run (the
  floor any D-Bus service pays);
- burnd's RSS idle and its peak while burning (sampled from /proc);
- context switches of all burnd threads over an idle window (target: 0 — no polling).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dbus_fast import Message  # noqa: E402

from tests.daemon.harness import ROOT, Burnd, Client, PrivateBus  # noqa: E402
from tests.daemon.images import make_iso  # noqa: E402

CALLS = 3000
IDLE_SECONDS = 10.0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def switches(pid: int) -> int:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def timed(client: Client, message: Message) -> list[float]:
    out = []
    for _ in range(CALLS):
        started = time.perf_counter()
        reply = await client.bus.call(message)
        out.append(time.perf_counter() - started)
        assert reply is not None and reply.message_type.name == "METHOD_RETURN", reply
    return out


def report(name: str, samples: list[float], baseline: list[float]) -> None:
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    b50, b99 = percentile(baseline, 0.5), percentile(baseline, 0.99)
    print(f"{name:38s} p50 {p50 * 1e6:7.0f} µs  p99 {p99 * 1e6:7.0f} µs   "
          f"ratio to bus p50 {p50 / b50:5.2f}  p99 {p99 / b99:5.2f}")


async def latency(address: str) -> None:
    client = await Client.connect(address)
    try:
        bus_call = Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                           interface="org.freedesktop.DBus", member="GetId")
        lookup = Message(destination="org.burnd.Burnd1", path=ROOT, interface="org.burnd.Burnd1.Manager",
                         member="GetDriveByDevice", signature="sa{sv}", body=["virtual0", {}])
        get = Message(destination="org.burnd.Burnd1", path=f"{ROOT}/drives/virtual0",
                      interface="org.freedesktop.DBus.Properties", member="Get", signature="ss",
                      body=["org.burnd.Burnd1.Drive", "MediaState"])
        await timed(client, bus_call)
        baseline = await timed(client, bus_call)
        print(f"{'baseline org.freedesktop.DBus.GetId':38s} p50 {percentile(baseline, .5) * 1e6:7.0f} µs  "
              f"p99 {percentile(baseline, .99) * 1e6:7.0f} µs")
        report("burnd Manager.GetDriveByDevice", await timed(client, lookup), baseline)
        report("burnd Properties.Get(MediaState)", await timed(client, get), baseline)
    finally:
        client.close()


async def burn_peak(address: str, pid: int, image: Path) -> tuple[int, float]:
    client = await Client.connect(address)
    try:
        peak = rss_kib(pid)
        started = time.perf_counter()
        job = await client.write("virtual1", image, verify=True)
        waiter = asyncio.ensure_future(client.finished(job, timeout=300))
        while not waiter.done():
            peak = max(peak, rss_kib(pid))
            await asyncio.sleep(0.02)
        result = waiter.result()
        assert result["State"] == "succeeded", result["ErrorMessage"]
        return peak, time.perf_counter() - started
    finally:
        client.close()


def main() -> int:
    if shutil.which("dbus-daemon") is None or shutil.which("busctl") is None:
        print("needs dbus-daemon and busctl (Debian packages dbus-daemon, systemd)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="burnd-bench-"))
    bus = PrivateBus(work / "bus")
    daemon = Burnd(bus, work / "state", "--virtual-burner", "bd-r:4000", "--virtual-burner", "bd-re:60000")
    try:
        daemon.start()
        assert daemon.process is not None
        pid = daemon.process.pid
        asyncio.run(latency(bus.address))
        time.sleep(1.0)
        idle_rss = rss_kib(pid)
        before = switches(pid)
        time.sleep(IDLE_SECONDS)
        idle_switches = switches(pid) - before
        print(f"idle: RSS {idle_rss / 1024:.1f} MiB; {idle_switches} context switches in {IDLE_SECONDS:g} s "
              f"({idle_switches / IDLE_SECONDS:.2f} wakeups/s, target 0)")
        image = make_iso(work / "bench.iso", 96 << 20)
        peak, seconds = asyncio.run(burn_peak(bus.address, pid, image))
        size = image.stat().st_size
        print(f"burning {size >> 20} MiB (write + verify) on a virtual BD-RE: peak RSS {peak / 1024:.1f} MiB "
              f"(+{(peak - idle_rss) / 1024:.1f} MiB over idle), {size / seconds / 1e6:.0f} MB/s end to end")
    finally:
        daemon.stop()
        bus.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
