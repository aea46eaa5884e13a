"""burnctl attach / attached / detach as real processes against a real burnd (real loop devices)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from burnd import loop
from tests.cli.conftest import Daemon
from tests.daemon.loops import release_leftovers
from tests.virtual.conftest import needs_loop

pytestmark = needs_loop

VIRTUAL_DRIVE_KEYS = {"id", "object_path", "device", "backing_file", "format", "read_only", "setup_by_uid",
                      "session", "track", "auto_attached", "view", "note"}


@pytest.fixture(autouse=True)
def no_loop_leaks(world: Path) -> Iterator[None]:
    yield
    left = release_leftovers((str(world),))
    assert not left, f"the test left loop devices / view mounts behind: {left}"


def bound(device: str) -> bool:
    return loop.sysfs_state(os.path.basename(device)) is not None


def test_attach_list_and_detach_by_image(daemon: Daemon, iso: Path):
    attached = daemon.cli("attach", str(iso))
    assert attached.code == 0, attached.err
    device = attached.out.strip()
    assert device.startswith("/dev/loop") and attached.out.count("\n") == 1
    with open(device, "rb") as f:
        assert f.read(iso.stat().st_size) == iso.read_bytes()
    listing = daemon.cli("attached", "--json").json()
    assert listing["schema"] == "burnctl.virtual-drives/1"
    assert [(d["device"], d["backing_file"]) for d in listing["virtual_drives"]] == [(device, str(iso))]
    assert daemon.cli("attached").out == f"{device}  {iso}  (iso, ro, direct)\n"
    assert daemon.cli("detach", str(iso)).code == 0
    assert not bound(device)
    again = daemon.cli("detach", str(iso))
    assert again.code == 11 and "not a device burnd attached" in again.err
    assert daemon.cli("attached").out == "no images attached\n"


def test_attach_json_then_detach_by_device(daemon: Daemon, iso: Path):
    doc = daemon.cli("attach", str(iso), "--json").json()
    assert doc["schema"] == "burnctl.virtual-drive/1"
    drive = doc["virtual_drive"]
    assert set(drive) == VIRTUAL_DRIVE_KEYS
    assert (drive["backing_file"], drive["read_only"], drive["view"], drive["auto_attached"]) == (
        str(iso), True, "direct", False)
    assert drive["id"] == os.path.basename(drive["device"])
    assert daemon.cli("detach", drive["id"]).code == 0
    assert not bound(drive["device"])


def test_detach_refuses_a_device_burnd_did_not_attach(daemon: Daemon, iso: Path):
    device = subprocess.run(["losetup", "--find", "--show", "-r", str(iso)], capture_output=True, text=True,
                            check=True).stdout.strip()
    try:
        refused = daemon.cli("detach", device)
        assert refused.code == 11 and "losetup -d" in refused.err
        assert bound(device)
    finally:
        subprocess.run(["losetup", "-d", device], check=True)


def test_attach_refusals_have_their_exit_codes(daemon: Daemon, world: Path):
    missing = daemon.cli("attach", str(world / "no-such.iso"))
    assert missing.code == 10 and "cannot open" in missing.err
    junk = world / "junk.iso"
    junk.write_bytes(b"not a disc image" * 200)
    refused = daemon.cli("attach", str(junk))
    assert refused.code == 10, refused.err
    assert daemon.cli("attached").out == "no images attached\n"


def test_detach_a_folder_frees_every_image_under_it(daemon: Daemon, iso: Path, world: Path):
    """A USB stick cannot be unmounted while images on it are attached: detaching its mount
    point detaches them all, and nothing outside it."""
    stick = world / "stick"
    (stick / "sub").mkdir(parents=True)
    inside = [stick / "a.iso", stick / "sub" / "b.iso"]
    for image in inside:
        image.write_bytes(iso.read_bytes())
    devices = [daemon.cli("attach", str(image)).out.strip() for image in [*inside, iso]]
    assert all(d.startswith("/dev/loop") for d in devices)
    result = daemon.cli("detach", str(stick) + "/")
    assert result.code == 0, result.err
    assert [bound(d) for d in devices] == [False, False, True]
    assert daemon.cli("detach", str(iso)).code == 0
