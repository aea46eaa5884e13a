"""A member of the burnd group (uid nobody + group cdrom) may submit but not cancel others' jobs,
and after a restart its queued images are reopened with its own permissions, never root's."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from tests.daemon.clients_common import CDROM, needs_dbus_python, run_as_nobody
from tests.daemon.conftest import run
from tests.daemon.harness import Client

pytestmark = [needs_dbus_python,
              pytest.mark.skipif(CDROM is None or shutil.which("setpriv") is None,
                                 reason="needs the cdrom group and setpriv (util-linux)")]

MEMBER_CLIENT = """
import os, sys, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
drive = bus.get_object("org.burnd.Burnd1", "/org/burnd/Burnd1/drives/virtual0")
for image in sys.argv[3:]:
    fd = os.open(image, os.O_RDONLY)
    print(drive.Write(dbus.types.UnixFd(fd), {"blank_first": True}, dbus_interface="org.burnd.Burnd1.Drive"))
    os.close(fd)
job = bus.get_object("org.burnd.Burnd1", sys.argv[2])
try:
    job.Cancel({}, dbus_interface="org.burnd.Burnd1.Job")
    print("cancelled")
except dbus.DBusException as exc:
    print(exc.get_dbus_name())
"""

ARGS = ("--virtual-burner", "dvd+rw:4000")


def test_member_jobs_are_reopened_as_the_member(start_burnd, bus, world, iso, tmp_path):
    state = tmp_path / "state"
    first = start_burnd(*ARGS, state=state)
    readable, hidden = world / "readable.iso", world / "hidden.iso"
    for copy in (readable, hidden):
        copy.write_bytes(iso.read_bytes())
        copy.chmod(0o644)

    async def occupy(c: Client):
        job = await c.write("virtual0", iso, copies=2, blank_first=True)
        for _ in range(400):
            if await c.job(job, "Phase") == "waiting for blank medium":
                return job
            await asyncio.sleep(0.05)
        raise AssertionError("the first job never waited for a blank disc")

    roots_job = run(occupy, bus.address)
    out = run_as_nobody(world, "member_client.py", MEMBER_CLIENT, bus.address, roots_job, str(readable), str(hidden),
                        groups=(CDROM,))
    assert out.returncode == 0, out.stderr
    job_a, job_b, cancel = out.stdout.split()
    assert cancel == "org.burnd.Burnd1.Error.NotAuthorized"
    hidden.chmod(0o600)
    first.kill()
    start_burnd(*ARGS, state=state)

    async def after(c: Client):
        return [await c.finished(p) for p in (job_a, job_b)]

    a, b = run(after, bus.address)
    assert a["StartedByUID"] == 65534
    assert a["State"] == "succeeded", a["ErrorMessage"]
    assert b["State"] == "failed" and b["ErrorName"] == "org.burnd.Burnd1.Error.BadImage"
    assert "uid 65534" in b["ErrorMessage"]
