"""Clients nobody here wrote: busctl, gdbus, dbus-python — and one running as `nobody`."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest

from tests.daemon.clients_common import PYTHON, needs_dbus_python, run_as_nobody
from tests.daemon.harness import ROOT

WRITE_CLIENT = """
import os, sys, dbus
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib
DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(sys.argv[1])
drive = bus.get_object("org.burnd.Burnd1", "/org/burnd/Burnd1/drives/virtual0")
result = {}
loop = GLib.MainLoop()
def completed(success, message, path=None):
    result[str(path)] = (bool(success), str(message))
    loop.quit()
bus.add_signal_receiver(completed, "Completed", "org.burnd.Burnd1.Job", path_keyword="path")
fd = os.open(sys.argv[2], os.O_RDONLY)
job = drive.Write(dbus.types.UnixFd(fd), {"verify": True}, dbus_interface="org.burnd.Burnd1.Drive")
os.close(fd)
if str(job) not in result:
    GLib.timeout_add_seconds(60, loop.quit)
    loop.run()
props = dbus.Interface(bus.get_object("org.burnd.Burnd1", job), "org.freedesktop.DBus.Properties")
print(result[str(job)][0], props.Get("org.burnd.Burnd1.Job", "Result")["sha256"])
"""

NOBODY_CLIENT = """
import sys, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
drive = bus.get_object("org.burnd.Burnd1", "/org/burnd/Burnd1/drives/virtual0")
print(drive.Get("org.burnd.Burnd1.Drive", "MediaState", dbus_interface="org.freedesktop.DBus.Properties"))
for call in (lambda: drive.Blank({}, dbus_interface="org.burnd.Burnd1.Drive"),
             lambda: drive.Eject({}, dbus_interface="org.burnd.Burnd1.Drive")):
    try:
        call()
        print("allowed")
    except dbus.DBusException as exc:
        print(exc.get_dbus_name())
"""


def test_busctl_introspects_and_reads(start_burnd, bus):
    start_burnd("--virtual-burner", "dvd+rw:4000")
    out = subprocess.run(["busctl", f"--address={bus.address}", "introspect", "org.burnd.Burnd1",
                          f"{ROOT}/drives/virtual0"], capture_output=True, text=True, check=True).stdout
    assert ".Write" in out and "ha{sv}" in out
    media = subprocess.run(["busctl", f"--address={bus.address}", "get-property", "org.burnd.Burnd1",
                            f"{ROOT}/drives/virtual0", "org.burnd.Burnd1.Drive", "MediaType"],
                           capture_output=True, text=True, check=True).stdout
    assert media.strip() == 's "optical_dvd_plus_rw"'


@pytest.mark.skipif(shutil.which("gdbus") is None, reason="gdbus is not installed (libglib2.0-bin)")
def test_gdbus_calls_a_method(start_burnd, bus):
    start_burnd("--virtual-burner", "bd-r:4000")
    out = subprocess.run(["gdbus", "call", "--address", bus.address, "--dest", "org.burnd.Burnd1",
                          "--object-path", ROOT, "--method", "org.burnd.Burnd1.Manager.GetDriveByDevice",
                          "virtual0", "{}"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"(objectpath '{ROOT}/drives/virtual0',)"
    tree = subprocess.run(["gdbus", "introspect", "--address", bus.address, "--dest", "org.burnd.Burnd1",
                           "--object-path", ROOT, "--recurse"], capture_output=True, text=True, check=True).stdout
    assert "interface org.burnd.Burnd1.Drive" in tree and "CreateVirtualBurner" in tree


@needs_dbus_python
def test_dbus_python_writes_with_an_fd(start_burnd, bus, iso, world):
    start_burnd("--virtual-burner", "bd-r:4000")
    script = world / "write_client.py"
    script.write_text(WRITE_CLIENT)
    out = subprocess.run([PYTHON, str(script), bus.address, str(iso)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    success, digest = out.stdout.split()
    assert success == "True" and digest == hashlib.sha256(iso.read_bytes()).hexdigest()


@needs_dbus_python
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv is not installed (util-linux)")
def test_nobody_reads_properties_but_may_not_call_methods(start_burnd, bus, world):
    start_burnd("--virtual-burner", "bd-r:4000")
    out = run_as_nobody(world, "nobody_client.py", NOBODY_CLIENT, bus.address)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["blank", "org.freedesktop.DBus.Error.AccessDenied",
                                  "org.freedesktop.DBus.Error.AccessDenied"]
