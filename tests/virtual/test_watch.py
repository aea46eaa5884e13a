"""The auto-attach watcher against real kernel uevents, real mounts and real inotify.

A stick image (ext4 holding disc images) attached with losetup and mounted plays the USB stick
being inserted; unmounting / detaching it plays its removal."""

from __future__ import annotations

import os
import queue
import subprocess
import uuid
from collections.abc import Callable, Iterator

import pytest

from burnd.virtual.attach import VirtualDrives
from burnd.virtual.autoattach import Rule, origin_parts
from burnd.virtual.watch import AutoAttacher, AutoEvent, parse_mountinfo
from tests.fixtures import cdimages as fx
from tests.fixtures import compressed as cz
from tests.fixtures.virtual_stick import make_stick

from .conftest import needs_fuse, needs_loop, read_device

pytestmark = [needs_loop, needs_fuse]
TIMEOUT = 30


def wait_for(events: queue.Queue, done: Callable[[list[AutoEvent]], bool]) -> list[AutoEvent]:
    """Collect watcher events until ``done`` holds (or fail after TIMEOUT seconds of silence)."""
    seen: list[AutoEvent] = []
    while not done(seen):
        try:
            seen.append(events.get(timeout=TIMEOUT))
        except queue.Empty:
            pytest.fail(f"the watcher went quiet; events so far: {seen}")
    return seen


def count(action: str, n: int) -> Callable[[list[AutoEvent]], bool]:
    return lambda seen: sum(e.action == action for e in seen) >= n


@pytest.fixture
def label() -> str:
    return "BT" + uuid.uuid4().hex[:8].upper()


@pytest.fixture
def events() -> queue.Queue:
    return queue.Queue()


@pytest.fixture
def watcher_for(drives: VirtualDrives, events: queue.Queue) -> Iterator[Callable[..., AutoAttacher]]:
    started: list[AutoAttacher] = []

    def start(*rules: Rule) -> AutoAttacher:
        watcher = AutoAttacher(drives, rules, on_event=events.put)
        watcher.start()
        started.append(watcher)
        return watcher

    yield start
    for watcher in started:
        watcher.stop()


def losetup(*args: str) -> str:
    return subprocess.run(["losetup", *args], capture_output=True, text=True, check=True).stdout.strip()


def test_stick_insert_attaches_its_images_and_removal_detaches_them(tmp_path, label, events, drives, watcher_for):
    iso = fx.base_iso()
    stick = make_stick(tmp_path / "stick.img", label, {
        "a.iso": iso,
        "b.cso": cz.write_cso(iso, tmp_path / "b.cso").read_bytes(),
        "bad.iso": b"this is not a disc image at all" * 100,
        "notes.txt": b"ignored",
    })
    watcher_for(Rule("isos", match={"ID_FS_LABEL": label, "ID_FS_TYPE": "ext4"}, glob="*.?so"))
    device = losetup("--find", "--show", str(stick))
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounted = False
    try:
        subprocess.run(["mount", "-o", "ro", device, str(mnt)], check=True)
        mounted = True
        seen = wait_for(events, lambda s: count("attached", 2)(s) and count("failed", 1)(s))
        assert sorted(os.path.basename(e.image) for e in seen if e.action == "attached") == ["a.iso", "b.cso"]
        failed = next(e for e in seen if e.action == "failed")
        assert failed.image.endswith("bad.iso") and "not a disc image" in failed.message  # failed alone
        attached = drives.list()
        assert {a.view for a in attached} == {"direct", "translated"}
        for attachment in attached:
            assert attachment.auto_attached
            assert origin_parts(attachment.origin)["mount"] == str(mnt)
            assert read_device(attachment.device_path) == iso
        subprocess.run(["umount", "-l", str(mnt)], check=True)  # the stick is pulled
        mounted = False
        seen = wait_for(events, count("detached", 2))
        assert all(str(mnt) in e.message for e in seen if e.action == "detached")
        assert drives.list() == []
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mnt)], check=False)
        losetup("-d", device)


def test_named_image_follows_the_device(tmp_path, label, events, drives, watcher_for):
    """"Attach a named image when a given drive reports media": here the drive is a loop
    device whose medium (the stick image) comes and goes."""
    named = fx.write(tmp_path / "driver.iso", fx.base_iso())
    stick = make_stick(tmp_path / "stick.img", label, {"x": b"x"})
    watcher_for(Rule("drive", match={"ID_FS_LABEL": label}, image=str(named)))
    device = losetup("--find", "--show", str(stick))
    try:
        seen = wait_for(events, count("attached", 1))
        assert seen[-1].image == str(named)
        assert [a.backing_file for a in drives.list()] == [str(named)]
    finally:
        losetup("-d", device)
    wait_for(events, count("detached", 1))
    assert drives.list() == []


def test_watched_folder(tmp_path, events, drives, watcher_for):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    fx.write(inbox / "already.iso", fx.base_iso())
    watcher_for(Rule("inbox", folder=str(inbox), glob="*.iso"))
    wait_for(events, count("attached", 1))  # what was there at start
    fx.write(inbox / "dropped.iso", fx.base_iso())  # written and closed
    staged = fx.write(tmp_path / "staged.iso", fx.base_iso())
    os.rename(staged, inbox / "moved.iso")  # moved in
    fx.write(inbox / "ignored.txt", b"x")
    seen = wait_for(events, count("attached", 2))
    assert sorted(os.path.basename(e.image) for e in seen) == ["dropped.iso", "moved.iso"]
    assert len(drives.list()) == 3
    os.unlink(inbox / "dropped.iso")
    seen = wait_for(events, count("detached", 1))
    assert seen[-1].image == str(inbox / "dropped.iso")
    assert sorted(os.path.basename(a.backing_file) for a in drives.list()) == ["already.iso", "moved.iso"]


def test_restart_detaches_what_lost_its_source(tmp_path, events, drives, watcher_for):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    gone = fx.write(inbox / "gone.iso", fx.base_iso())
    kept = fx.write(inbox / "kept.iso", fx.base_iso())
    rule = Rule("inbox", folder=str(inbox), glob="*.iso")
    first = AutoAttacher(drives, [rule])
    for image in (gone, kept):
        first.handle_file(str(image), True)  # attached while burnd ran ...
    assert len(drives.list()) == 2
    gone.unlink()  # ... and deleted while it was down
    watcher_for(rule)
    seen = wait_for(events, count("detached", 1))
    assert seen[-1].image == str(gone)
    assert [a.backing_file for a in drives.list()] == [str(kept)]


def test_mount_rule_fires_on_a_mount_point_appearing(tmp_path, events, drives, watcher_for):
    stick = make_stick(tmp_path / "stick.img", "ANY", {"deep/x.iso": fx.base_iso()})
    mnt = tmp_path / "media-isos"
    mnt.mkdir()
    watcher_for(Rule("media", mount=str(tmp_path / "media-*"), glob="**/*.iso"))
    device = losetup("--find", "--show", str(stick))
    mounted = False
    try:
        subprocess.run(["mount", "-o", "ro", device, str(mnt)], check=True)
        mounted = True
        seen = wait_for(events, count("attached", 1))
        assert seen[-1].image == str(mnt / "deep/x.iso")
        subprocess.run(["umount", "-l", str(mnt)], check=True)
        mounted = False
        wait_for(events, count("detached", 1))
        assert drives.list() == []
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mnt)], check=False)
        losetup("-d", device)


def test_a_stick_replaced_at_the_same_mount_point_swaps_its_images(tmp_path, events, drives):
    """Two mount-table reads can see one stick replaced by another at the same path (changes
    coalesce while the watcher is busy): the first stick's images go, the second's come."""
    mnt = tmp_path / "media-stick"
    mnt.mkdir()
    fx.write(mnt / "x.iso", fx.base_iso())
    watcher = AutoAttacher(drives, [Rule("media", mount=str(tmp_path / "media-*"), glob="*.iso")], on_event=events.put)
    watcher.handle_mounts({str(mnt): "7:1001"})
    [first] = drives.list()
    watcher.handle_mounts({str(mnt): "7:1002"})
    [second] = drives.list()
    assert [e.action for e in wait_for(events, count("attached", 2))] == ["attached", "detached", "attached"]
    assert origin_parts(first.origin)["device"] == "7:1001" and origin_parts(second.origin)["device"] == "7:1002"
    watcher.handle_mounts({})
    assert drives.list() == []


def test_a_mount_arms_a_rule_its_uevent_did_not(tmp_path, label, events, drives):
    """The watcher may meet a stick first through its mount (its uevent came before udev had
    recorded the file system, or burnd could not probe it): the mount alone must be enough."""
    stick = make_stick(tmp_path / "stick.img", label, {"a.iso": fx.base_iso()})
    watcher = AutoAttacher(drives, [Rule("isos", match={"ID_FS_LABEL": label}, glob="*.iso")], on_event=events.put)
    device = losetup("--find", "--show", str(stick))
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        subprocess.run(["mount", "-o", "ro", device, str(mnt)], check=True)
        try:
            with open("/proc/self/mountinfo") as table:
                watcher.handle_mounts(parse_mountinfo(table.read()))  # no handle_device before
            [attached] = drives.list()
            assert attached.backing_file == str(mnt / "a.iso")
            assert read_device(attached.device_path) == fx.base_iso()
        finally:
            subprocess.run(["umount", "-l", str(mnt)], check=True)
        with open("/proc/self/mountinfo") as table:
            watcher.handle_mounts(parse_mountinfo(table.read()))
        assert drives.list() == []
    finally:
        losetup("-d", device)
