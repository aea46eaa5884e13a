"""The USB-stick auto-attach rule over the real daemon: real uevents, real mounts, D-Bus objects.

An ext4 image labelled like a stick and holding two small ISOs and a corrupt one is attached
with losetup and mounted (the stick is inserted); burnd, started with an ``[[auto_attach]]``
rule matching the label, attaches both ISOs as VirtualDrive objects. Unmounting and detaching
the stick (it is pulled) detaches them again."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from burnd import loop
from tests.daemon.conftest import run
from tests.daemon.harness import Burnd, Client
from tests.daemon.images import make_iso
from tests.daemon.loops import release_leftovers
from tests.daemon.test_attach import managed, properties, read_device
from tests.fixtures.virtual_stick import make_stick
from tests.virtual.conftest import needs_loop

pytestmark = needs_loop
TIMEOUT = 30
CORRUPT = b"this is not a disc image at all" * 100


@pytest.fixture(autouse=True)
def no_loop_leaks(tmp_path: Path) -> Iterator[None]:
    """Runs after the daemon stopped: whatever a failing test left attached is released."""
    yield
    left = release_leftovers((str(tmp_path),))
    assert not left, f"the test left loop devices / view mounts behind: {left}"


class Stick:
    """A filesystem image playing a USB stick: ``insert`` attaches and mounts it, ``pull``
    unmounts and detaches it; whatever is still in place is undone at the end of the test."""

    def __init__(self, image: Path, mountpoint: Path) -> None:
        self.image = image
        self.mountpoint = mountpoint
        self.device = ""
        self.mounted = False

    def insert(self) -> None:
        self.device = subprocess.run(["losetup", "--find", "--show", str(self.image)], capture_output=True, text=True,
                                     check=True).stdout.strip()
        self.mountpoint.mkdir(exist_ok=True)
        subprocess.run(["mount", "-o", "ro", self.device, str(self.mountpoint)], check=True)
        self.mounted = True

    def pull(self) -> None:
        """Lazily, as for a stick pulled out: the images burnd attached from it still hold it."""
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.mountpoint)], check=True)
            self.mounted = False
        if self.device:
            subprocess.run(["losetup", "-d", self.device], check=True)
            self.device = ""


@pytest.fixture
def label() -> str:
    return "BD" + uuid.uuid4().hex[:8].upper()


@pytest.fixture
def isos(tmp_path: Path) -> dict[str, bytes]:
    """Two small ISOs with different content, so each device can be told from the other."""
    return {name: make_iso(tmp_path / name, 64 * 1024, seed=seed).read_bytes()
            for name, seed in (("a.iso", 1), ("b.iso", 2))}


@pytest.fixture
def stick(tmp_path: Path, label: str, isos: dict[str, bytes]) -> Iterator[Stick]:
    image = make_stick(tmp_path / "stick.img", label, {**isos, "bad.iso": CORRUPT, "notes.txt": b"not an image"})
    inserted = Stick(image, tmp_path / "mnt")
    try:
        yield inserted
    finally:
        inserted.pull()


def stick_rule(tmp_path: Path, label: str) -> Path:
    config = tmp_path / "burnd.toml"
    config.write_text(f'[[auto_attach]]\nname = "stick"\nmatch = {{ ID_FS_LABEL = "{label}" }}\nglob = "*.iso"\n')
    return config


async def wait_managed(c: Client, done: Callable[[set[str]], bool]) -> set[str]:
    """Poll the VirtualDrive objects until ``done`` holds; fail after TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    while not done(listed := await managed(c)):
        if time.monotonic() > deadline:
            pytest.fail(f"burnd's VirtualDrive objects never reached the expected state; last seen: {listed}")
        await asyncio.sleep(0.05)
    return listed


def wait_logged(daemon: Burnd, text: str) -> str:
    """The daemon's log once it holds ``text``; fail after TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    while text not in (logged := daemon.log.read_text()):
        if time.monotonic() > deadline:
            pytest.fail(f"burnd never logged {text!r}; its log:\n{logged}")
        time.sleep(0.05)
    return logged


def burnd_devices(devices: list[str]) -> list[str]:
    """Those of ``devices`` still bound with a burnd tag."""
    return [d for d in devices if (info := loop.get_status(d.removeprefix("/dev/"))) is not None and info.tag]


def test_a_stick_matching_the_rule_attaches_its_isos_until_it_is_pulled(start_burnd, bus, tmp_path, label, isos,
                                                                         stick):
    daemon = start_burnd("--config", str(stick_rule(tmp_path, label)))
    stick.insert()

    async def inserted(c: Client) -> list[dict[str, Any]]:
        paths = await wait_managed(c, lambda listed: len(listed) >= 2)
        return [await properties(c, path) for path in sorted(paths)]

    attached = run(inserted, bus.address)
    logged = wait_logged(daemon, f"failed {stick.mountpoint}/bad.iso")
    by_file = {Path(p["BackingFile"]).name: p for p in attached}
    assert sorted(by_file) == ["a.iso", "b.iso"]
    for name, props in by_file.items():
        assert (props["AutoAttached"], props["View"], props["Format"]) == (True, "direct", "iso")
        assert props["BackingFile"] == str(stick.mountpoint / name)
        assert read_device(props["Device"], len(isos[name]) + 4096) == isos[name]
    assert "not a disc image" in logged.split(f"failed {stick.mountpoint}/bad.iso", 1)[1].splitlines()[0]

    stick.pull()
    assert run(lambda c: wait_managed(c, lambda listed: not listed), bus.address) == set()
    assert burnd_devices([p["Device"] for p in attached]) == []
    assert not [s.name for s in loop.bound_loops() if s.backing_file.startswith(str(stick.mountpoint))]


def test_a_stick_in_place_at_start_is_attached_and_one_pulled_while_down_is_dropped(start_burnd, bus, tmp_path,
                                                                                     label, isos, stick):
    """Rules apply to what is already there when burnd starts; after a restart, what came from
    a stick pulled in the meantime is detached (and logged) rather than re-adopted."""
    config = str(stick_rule(tmp_path, label))
    stick.insert()
    first = start_burnd("--config", config, state=tmp_path / "state")
    listed = run(lambda c: wait_managed(c, lambda listed: len(listed) >= 2), bus.address)
    devices = run(lambda c: asyncio.gather(*(properties(c, path) for path in listed)), bus.address)
    assert sorted(Path(p["BackingFile"]).name for p in devices if p["AutoAttached"]) == sorted(isos)
    first.stop()
    stick.pull()
    second = start_burnd("--config", config, state=tmp_path / "state")
    assert run(lambda c: wait_managed(c, lambda listed: not listed), bus.address) == set()
    assert burnd_devices([p["Device"] for p in devices]) == []
    for name in isos:  # recovery finds the image file gone with its stick
        wait_logged(second, f"its file {stick.mountpoint / name} is gone; detached")
