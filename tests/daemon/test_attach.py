"""Manager.AttachImage and VirtualDrive objects over the private bus, with real loop devices.

Attachments outlive the daemon on purpose, so every test detaches what is left after the
daemon stopped (``no_loop_leaks``) and fails the test that left something behind."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dbus_fast import Variant

from burnd import loop
from tests.daemon.clients_common import CDROM, needs_dbus_python, run_as_nobody
from tests.daemon.conftest import run
from tests.daemon.harness import ROOT, CallError, Client
from tests.daemon.loops import release_leftovers
from tests.fixtures.cdimages import base_iso, single_bincue
from tests.virtual.conftest import needs_fuse, needs_loop

pytestmark = needs_loop

MANAGER = "org.burnd.Burnd1.Manager"
VIRTUAL = "org.burnd.Burnd1.VirtualDrive"
OM = "org.freedesktop.DBus.ObjectManager"
NO_OBJECT = "org.freedesktop.DBus.Error.UnknownMethod"
"""dbus-fast's answer to a call on a path nothing is exported at."""


@pytest.fixture(autouse=True)
def no_loop_leaks(tmp_path: Path, world: Path) -> Iterator[None]:
    """Its teardown runs after the daemons stopped."""
    yield
    left = release_leftovers((str(tmp_path), str(world)))
    assert not left, f"the test left loop devices / view mounts behind: {left}"


async def attach(c: Client, image: Path, **options: Any) -> str:
    fd = os.open(image, os.O_RDONLY)
    try:
        variants = {k: Variant("b" if isinstance(v, bool) else "u", v) for k, v in options.items()}
        return await c.call(ROOT, MANAGER, "AttachImage", "ha{sv}", [0, variants], [fd])
    finally:
        os.close(fd)


async def properties(c: Client, path: str) -> dict[str, Any]:
    props = await c.call(path, "org.freedesktop.DBus.Properties", "GetAll", "s", [VIRTUAL])
    return {k: v.value for k, v in props.items()}


async def managed(c: Client) -> set[str]:
    objects = await c.call(ROOT, OM, "GetManagedObjects")
    return {p for p, interfaces in objects.items() if VIRTUAL in interfaces}


async def detach(c: Client, path: str) -> None:
    await c.call(path, VIRTUAL, "Detach", "a{sv}", [{}])


def read_device(device: str, size: int) -> bytes:
    with open(device, "rb") as f:
        return f.read(size)


def bound(device: str) -> bool:
    return loop.sysfs_state(os.path.basename(device)) is not None


@pytest.fixture
def bincue(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    return single_bincue(folder, "MODE1/2352")


def test_attach_an_iso_then_detach(start_burnd, bus, iso):
    start_burnd()

    async def scenario(c: Client):
        signals: list[tuple[str, str]] = []
        c.bus.add_message_handler(lambda m: signals.append((m.member, m.body[0])) if m.interface == OM else None)
        await c.call_bus("AddMatch", "s", [f"type='signal',interface='{OM}'"])
        path = await attach(c, iso)
        props = await properties(c, path)
        listed = await managed(c)
        data = read_device(props["Device"], iso.stat().st_size)
        await detach(c, path)
        with pytest.raises(CallError) as again:
            await detach(c, path)
        await c.get(ROOT, MANAGER, "Version")  # a round trip: the signals sent before it have arrived
        return path, props, listed, data, await managed(c), again.value.name, signals

    path, props, listed, data, after, again, signals = run(scenario, bus.address)
    assert path == f"{ROOT}/virtual/{os.path.basename(props['Device'])}"
    assert props == {"Device": props["Device"], "BackingFile": str(iso), "Format": "iso", "ReadOnly": True,
                     "SetupByUID": 0, "Session": 1, "Track": 1, "AutoAttached": False, "View": "direct", "Note": ""}
    assert listed == {path} and after == set()
    assert data == iso.read_bytes()
    assert not bound(props["Device"])
    assert again == NO_OBJECT
    assert signals == [("InterfacesAdded", path), ("InterfacesRemoved", path)]


@needs_fuse
def test_a_raw_bin_cue_is_translated(start_burnd, bus, bincue):
    start_burnd()

    async def scenario(c: Client):
        path = await attach(c, bincue)
        props = await properties(c, path)
        data = read_device(props["Device"], len(base_iso()) + 4096)
        await detach(c, path)
        return props, data

    props, data = run(scenario, bus.address)
    assert (props["View"], props["Format"], props["BackingFile"]) == ("translated", "bincue", str(bincue))
    assert data == base_iso()
    assert not bound(props["Device"])


def test_a_device_burnd_did_not_attach_is_not_its_object(start_burnd, bus, iso):
    start_burnd()
    device = subprocess.run(["losetup", "--find", "--show", "-r", str(iso)], capture_output=True, text=True,
                            check=True).stdout.strip()
    try:
        async def scenario(c: Client):
            with pytest.raises(CallError) as refused:
                await detach(c, f"{ROOT}/virtual/{os.path.basename(device)}")
            return refused.value.name, await managed(c)

        refused, listed = run(scenario, bus.address)
        assert refused == NO_OBJECT
        assert listed == set()
        assert bound(device)
    finally:
        subprocess.run(["losetup", "-d", device], check=True)


@pytest.mark.parametrize(("kind", "stop"), [
    ("iso", signal.SIGKILL),
    pytest.param("bincue", signal.SIGKILL, marks=needs_fuse),
    ("iso", signal.SIGTERM),
])
def test_a_restart_re_adopts_the_attachment(start_burnd, bus, iso, bincue, tmp_path, kind, stop):
    """kill -9, or a clean stop: attachments stay in place either way and come back as objects."""
    image, expected = (iso, iso.read_bytes()) if kind == "iso" else (bincue, base_iso())
    state = tmp_path / "state"
    first = start_burnd(state=state)
    path = run(lambda c: attach(c, image), bus.address)
    first.stop(stop)
    start_burnd(state=state)

    async def after(c: Client):
        props = await properties(c, path)
        data = read_device(props["Device"], len(expected))
        listed = await managed(c)
        await detach(c, path)
        return props, data, listed

    props, data, listed = run(after, bus.address)
    assert listed == {path} and props["BackingFile"] == str(image)
    assert data == expected
    assert not bound(props["Device"])


def test_bad_options_are_refused_before_anything_is_attached(start_burnd, bus, iso):
    start_burnd()

    async def scenario(c: Client):
        names = []
        for options in ({"readonly": True}, {"track": 7}):
            with pytest.raises(CallError) as refused:
                await attach(c, iso, **options)
            names.append(refused.value.name)
        return names, await managed(c)

    names, listed = run(scenario, bus.address)
    assert names[0] == "org.burnd.Burnd1.Error.InvalidOption"
    assert names[1].startswith("org.burnd.Burnd1.Error.")
    assert listed == set()


NOBODY_ATTACH = """
import os, sys, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
manager = bus.get_object("org.burnd.Burnd1", "/org/burnd/Burnd1")
fd = os.open(sys.argv[2], os.O_RDONLY)
try:
    print(manager.AttachImage(dbus.types.UnixFd(fd), {}, dbus_interface="org.burnd.Burnd1.Manager"))
except dbus.DBusException as exc:
    print(exc.get_dbus_name())
"""


@needs_dbus_python
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv is not installed (util-linux)")
def test_nobody_may_not_attach(start_burnd, bus, world, iso):
    start_burnd()
    out = run_as_nobody(world, "nobody_attach.py", NOBODY_ATTACH, bus.address, str(iso))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["org.freedesktop.DBus.Error.AccessDenied"]
    assert run(managed, bus.address) == set()


def test_auto_attach_rules_from_the_config(start_burnd, bus, iso, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    image = inbox / "dropped.iso"
    shutil.copy(iso, image)
    config = tmp_path / "burnd.toml"
    config.write_text(f'[[auto_attach]]\nname = "inbox"\nfolder = "{inbox}"\nglob = "*.iso"\n')
    start_burnd("--config", str(config))

    async def scenario(c: Client):
        [path] = await managed(c)
        props = await properties(c, path)
        image.unlink()
        for _ in range(200):
            if not await managed(c):
                break
            await asyncio.sleep(0.05)
        return props, await managed(c)

    props, after = run(scenario, bus.address)
    assert (props["AutoAttached"], props["BackingFile"], props["View"]) == (True, str(image), "direct")
    assert after == set()
    assert not bound(props["Device"])


MEMBER_ATTACH = """
import os, sys, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
manager = bus.get_object("org.burnd.Burnd1", "/org/burnd/Burnd1")
for image in sys.argv[2:]:
    fd = os.open(image, os.O_RDONLY)
    try:
        path = manager.AttachImage(dbus.types.UnixFd(fd), {}, dbus_interface="org.burnd.Burnd1.Manager")
    except dbus.DBusException as exc:
        print(exc.get_dbus_name())
        continue
    drive = bus.get_object("org.burnd.Burnd1", path)
    print(drive.Get("org.burnd.Burnd1.VirtualDrive", "SetupByUID", dbus_interface="org.freedesktop.DBus.Properties"))
    drive.Detach({}, dbus_interface="org.burnd.Burnd1.VirtualDrive")
    print("detached")
"""


@needs_dbus_python
@pytest.mark.skipif(CDROM is None or shutil.which("setpriv") is None,
                    reason="needs the cdrom group and setpriv (util-linux)")
def test_a_group_member_attaches_as_itself(start_burnd, bus, world):
    """A member may attach what it can read; a cue naming a file it cannot read is refused
    (burnd opens the BIN by path, with its own rights)."""
    start_burnd()
    folder = world / "member"
    folder.mkdir(exist_ok=True)
    folder.chmod(0o755)
    cue = single_bincue(folder, "MODE1/2048")
    cue.chmod(0o644)
    (folder / "disc.bin").chmod(0o644)
    hidden = single_bincue(folder, "MODE1/2048", name="hidden")
    hidden.chmod(0o644)
    (folder / "hidden.bin").chmod(0o600)
    out = run_as_nobody(world, "member_attach.py", MEMBER_ATTACH, bus.address, str(cue), str(hidden),
                        groups=(CDROM,))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["65534", "detached", "org.burnd.Burnd1.Error.NotAuthorized"]


def test_a_device_in_use_is_not_detached(start_burnd, bus, iso):
    start_burnd()

    async def scenario(c: Client):
        path = await attach(c, iso)
        device = (await properties(c, path))["Device"]
        holder = os.open(device, os.O_RDONLY | os.O_EXCL)
        try:
            with pytest.raises(CallError) as refused:
                await detach(c, path)
            still = await managed(c)
        finally:
            os.close(holder)
        await detach(c, path)
        return device, refused.value, still

    device, refused, still = run(scenario, bus.address)
    assert refused.name == "org.burnd.Burnd1.Error.DriveBusy", refused.message
    assert f"opened by process {os.getpid()}" in refused.message and "close it" in refused.message
    assert len(still) == 1 and not bound(device)


class _ExportLog:
    """The two MessageBus calls AttachedImages makes, recorded."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def export(self, path: str, interface: Any) -> None:
        self.paths.append(path)

    def unexport(self, path: str, interface: Any) -> None:
        self.paths.remove(path)


class _Root:
    async def caller(self) -> Any:
        from burnd.service.auth import Caller

        return Caller(":1.1", 0, 0, (), 1)


class _ForwardLog:
    """The event loop, noting which library reports are forwarded to it from worker threads."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.forwarded: list[str] = []

    def call_soon_threadsafe(self, callback: Any, event: str, attachment: Any) -> None:
        self.forwarded.append(event)
        self.loop.call_soon_threadsafe(callback, event, attachment)


def test_only_the_librarys_own_changes_are_forwarded_to_the_loop(tmp_path, iso):
    """AttachImage and Detach export / unexport their result themselves as they resume, so the
    library's report of that same change is not sent to the loop again; a change the library
    makes on its own thread (an auto-attach) still reaches the bus."""
    from burnd.service.virtual import AttachedImages, virtual_path

    async def scenario() -> tuple[list[str], list[str], list[str], list[str]]:
        bus = _ExportLog()
        forwards = _ForwardLog(asyncio.get_running_loop())
        images = AttachedImages(bus, _Root(), str(tmp_path / "state"), "cdrom", forwards)
        path = await images.attach(os.open(iso, os.O_RDONLY), {})
        after_attach = list(bus.paths)
        await images.detach(os.path.basename(path))
        own = list(forwards.forwarded)
        auto = await asyncio.to_thread(images.drives.attach, str(iso), origin="test")
        await asyncio.sleep(0)
        after_auto = list(bus.paths)
        await asyncio.to_thread(images.drives.detach, auto.device)
        await asyncio.sleep(0)
        return after_attach, own, after_auto + [virtual_path(auto.device)], forwards.forwarded

    after_attach, own, auto, forwarded = asyncio.run(scenario())
    assert len(after_attach) == 1 and own == []
    assert auto[0] == auto[1] and forwarded == ["added", "removed"]
