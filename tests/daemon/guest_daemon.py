"""Guest side of the daemon's VM scenario: burnd on a real kernel sr/sg stack.

Runs inside the QEMU guest (tests/daemon/test_vm.py boots it) with two drives: QEMU's
scsi-cd holding an ISO (a ROM drive) and tgt's MMC emulation passed through (a blank DVD+R).
A private bus and burnd run in the guest's /run; every check goes through D-Bus, as a client
would. Usage: guest_daemon.py RESULTS.json ISO_PATH
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from pathlib import Path
from typing import Any

from tests.daemon.harness import ROOT, Burnd, CallError, Client, PrivateBus
from tests.vm.guest_common import Checks, wait_for_nodes
from tests.vm.scenario import PRODUCT

WORK = Path("/run/burnd-daemon")
UEVENT_WAIT = 15.0
START_WAIT = 180.0
"""Seconds for burnd to come up: the guest runs under TCG, where imports alone take a while."""


async def drive_props(c: Client, path: str) -> dict[str, Any]:
    props = await c.call(path, "org.freedesktop.DBus.Properties", "GetAll", "s", ["org.burnd.Burnd1.Drive"])
    return {k: v.value for k, v in props.items() if k != "Tracks"}


async def identified_drives(c: Client) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Both guest drives, once burnd has exported and identified them (it identifies each drive
    after it starts, and under TCG that can take seconds)."""
    deadline = time.monotonic() + START_WAIT
    while True:
        drives = await c.get(ROOT, "org.burnd.Burnd1.Manager", "Drives")
        props = {path: await drive_props(c, path) for path in drives}
        if (len(drives) >= 2 and all(v["Model"] for v in props.values())) or time.monotonic() > deadline:
            return drives, props
        await asyncio.sleep(0.2)


async def scenario(c: Client, iso: Path, daemon: Burnd) -> dict[str, Any]:
    out: dict[str, Any] = {}
    drives, props = await identified_drives(c)
    out["drives"] = props
    rom = next(p for p, v in props.items() if v["Model"] == PRODUCT)
    burner = next(p for p in drives if p != rom)
    rom_id, burner_id = rom.rsplit("/", 1)[1], burner.rsplit("/", 1)[1]
    out["lookups"] = {node: await c.call(ROOT, "org.burnd.Burnd1.Manager", "GetDriveByDevice", "sa{sv}",
                                         [node, {}]) for path in drives for node in props[path]["DeviceNodes"]}
    ripped = WORK / "ripped.iso"
    ripped.write_bytes(b"")
    out["rip"] = await c.run(rom_id, "Rip", ripped)
    data = ripped.read_bytes()
    out["rip_size"] = len(data)
    out["rip_head_sha256"] = hashlib.sha256(data[:iso.stat().st_size]).hexdigest()
    out["verify_rom"] = await c.run(rom_id, "Verify", iso)
    out["write_rom"] = await c.run(rom_id, "Write", iso)
    out["write_burner"] = await c.run(burner_id, "Write", iso)
    out["burner_after"] = await drive_props(c, burner)
    try:
        await c.submit(rom_id, "Eject")
        out["eject_reply"] = "ok"
    except CallError as exc:
        out["eject_reply"] = exc.name
    sr = next(n.rsplit("/", 1)[1] for n in props[rom]["DeviceNodes"] if "/sr" in n)
    marker = f"uevent change {sr}"
    deadline = time.monotonic() + UEVENT_WAIT
    while marker not in daemon.log.read_text() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    out["uevent_seen"] = marker in daemon.log.read_text()
    out["ejected_state"] = await c.drive(rom_id, "MediaState")
    out["poll_msecs"] = Path(f"/sys/block/{sr}/events_poll_msecs").read_text().strip()
    return out


def main() -> int:
    checks = Checks(Path(sys.argv[1]))
    iso = Path(sys.argv[2])
    checks.run("nodes", lambda: wait_for_nodes(2))
    bus = PrivateBus(WORK / "bus")
    daemon = Burnd(bus, WORK / "state", "--debug")
    try:
        checks.run("start", lambda: daemon.start(timeout=START_WAIT) and None)

        async def run() -> dict[str, Any]:
            client = await Client.connect(bus.address)
            try:
                return await scenario(client, iso, daemon)
            finally:
                client.close()

        checks.run("scenario", lambda: asyncio.run(run()))
        checks.run("stop", daemon.stop)
    finally:
        checks.run("log", lambda: daemon.log.read_text()[-20000:] if daemon.log.exists() else "")
        bus.stop()
        checks.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
