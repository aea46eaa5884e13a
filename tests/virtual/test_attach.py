"""VirtualDrives: every format attached and read back equal to its converted ISO; fd intake;
authorization with real credentials; refusal of foreign devices; restart after SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from burnd import loop
from burnd.errors import BadImage, DeviceBusy, UnsupportedImage
from burnd.image.convert import convert_to_iso
from burnd.virtual import registry
from burnd.virtual.attach import (
    Credentials,
    NotAuthorized,
    NotOurs,
    VirtualDrives,
    authorize,
    choose_view,
    loop_window,
    readable_by,
)
from burnd.virtual.cache import CacheFull
from tests.fixtures import cdimages as fx
from tests.fixtures import compressed as cz

from .conftest import SHARED_PREFIX, KernelUevents, needs_fuse, needs_loop, read_device

# --- pure decisions -----------------------------------------------------------------------------


def test_choose_view():
    assert choose_view(True, "iso", "no fuse") == ("direct", "")
    assert choose_view(False, "bincue", None) == ("translated", "")
    kind, note = choose_view(False, "ecm", None)
    assert kind == "cached" and "random access" in note
    kind, note = choose_view(False, "cso", "/dev/fuse does not exist")
    assert kind == "cached" and "/dev/fuse" in note


def test_loop_window():
    assert loop_window(10 * 2048, 0, 0) == (0, 10 * 2048)
    assert loop_window(10 * 2048, 2048, 4096) == (2048, 4096)
    for offset, size in ((1, 0), (0, 100), (10 * 2048, 0), (2048, 10 * 2048), (-2048, 0)):
        with pytest.raises(BadImage):
            loop_window(10 * 2048, offset, size)


def test_authorize_root_and_members_only():
    import grp

    group = grp.getgrall()[0]
    authorize(Credentials(0), "no-such-group-x")
    authorize(Credentials(4242, frozenset({group.gr_gid})), group.gr_name)
    with pytest.raises(NotAuthorized, match="usermod"):
        authorize(Credentials(4242, frozenset({group.gr_gid + 1})), group.gr_name)
    with pytest.raises(NotAuthorized):
        authorize(Credentials(4242, frozenset({0})), "no-such-group-x")


# --- every format --------------------------------------------------------------------------------


def _bincue(kind: str) -> Callable[[Path], Path]:
    return lambda d: fx.single_bincue(d, kind)


def _ecm(d: Path) -> Path:
    pyecm = pytest.importorskip("pyecm", reason="pyecm-tools (ECM encoder for the fixture) is not installed")
    raw = d / "e.bin"
    raw.write_bytes(fx.mode1_track())
    pyecm.encode(str(raw), str(d / "e.ecm"))
    raw.unlink()
    return d / "e.ecm"


def _cdr(d: Path) -> Path:
    data = bytearray(os.urandom(300 * 2048))
    data[1024:1026] = b"H+"
    (d / "mac.cdr").write_bytes(bytes(data))
    return d / "mac.cdr"


FORMATS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "iso": (lambda d: fx.write(d / "a.iso", fx.base_iso()), "direct"),
    "cdr": (_cdr, "direct"),
    "cue-mode1-2048": (_bincue("MODE1/2048"), "direct"),
    "cue-mode1-2352": (_bincue("MODE1/2352"), "translated"),
    "cue-mode2-2352": (_bincue("MODE2/2352"), "translated"),
    "nrg": (lambda d: fx.nrg_iso(d / "a.nrg"), "direct"),
    "mds-dvd": (lambda d: fx.mds_image(d, [fx.MdsTrack(fx.MDS_DVD, 2048, fx.base_iso())], dvd=True), "direct"),
    "mds-cd": (lambda d: fx.mds_image(d, [fx.MdsTrack(fx.MDS_MODE1_RAW, 2352, fx.mode1_track(), 150)]), "translated"),
    "ccd": (lambda d: fx.ccd_image(d, [(1, fx.mode1_track())]), "translated"),
    "cdi": (lambda d: fx.cdi_image(d / "a.cdi", [[fx.CdiTrack(1, 2352, fx.mode1_track())]]), "translated"),
    "pdi-2048": (lambda d: cz.write_pdi(cz.base_iso(), d / "a.pdi"), "direct"),
    "pdi-raw": (lambda d: cz.write_pdi(cz.base_iso(), d / "r.pdi", raw=True), "translated"),
    "isz": (lambda d: cz.write_isz(cz.base_iso(), d / "a.isz")[0], "translated"),
    "cso": (lambda d: cz.write_cso(cz.base_iso(), d / "a.cso"), "translated"),
    "daa": (lambda d: cz.write_daa(cz.base_iso(), d / "a.daa"), "translated"),
    "dmg": (lambda d: cz.write_dmg(cz.base_iso(), d / "a.dmg"), "translated"),
    "ecm": (_ecm, "cached"),
}


@needs_loop
@needs_fuse
@pytest.mark.parametrize("name", FORMATS)
def test_every_format_reads_back_as_its_converted_iso(name, tmp_path, drives):
    make, view = FORMATS[name]
    folder = tmp_path / "img"
    folder.mkdir()
    image = make(folder)
    expected = tmp_path / "expected.iso"
    convert_to_iso(str(image), str(expected))
    attached = drives.attach(str(image))
    assert attached.view == view
    assert attached.read_only and attached.backing_file == str(image)
    state = loop.sysfs_state(attached.device)
    assert state.read_only and state.logical_block_size == 2048 and not state.autoclear
    assert read_device(attached.device_path) == expected.read_bytes()
    if view == "cached":
        assert "cache" in attached.note
    drives.detach(attached.device)
    assert loop.sysfs_state(attached.device) is None or loop.get_status(attached.device).tag is None


@needs_loop
@needs_fuse
def test_session_and_track_choice(tmp_path, drives):
    cue = fx.two_session_cue(tmp_path)
    newest = drives.attach(str(cue))
    assert (newest.session, newest.track) == (2, 2)  # the newest file system, like a drive mounts
    first = drives.attach(str(cue), session=1)
    assert (first.session, first.track) == (1, 1)
    by_track = drives.attach(str(cue), track=1)
    for attachment, session in ((newest, 2), (first, 1), (by_track, 1)):
        expected = tmp_path / f"s{session}.iso"
        convert_to_iso(str(cue), str(expected), session=session)
        assert read_device(attachment.device_path) == expected.read_bytes()


@needs_loop
@needs_fuse
def test_translated_view_is_unmounted_on_detach(tmp_path, drives):
    attached = drives.attach(str(fx.single_bincue(tmp_path)))
    assert os.path.ismount(attached.view_mount)
    drives.detach(attached.device)
    assert not os.path.exists(attached.view_mount)


@needs_loop
def test_forced_cache_says_so_and_is_bounded(tmp_path):
    cue = fx.single_bincue(tmp_path)
    small = VirtualDrives(str(tmp_path / "s1"), cache_limit=100 * 2048)
    with pytest.raises(CacheFull, match="limited to"):
        small.attach(str(cue), view="cached")
    drives = VirtualDrives(str(tmp_path / "s2"), cache_limit=64 << 20)
    attached = drives.attach(str(cue), view="cached")
    try:
        assert "converted copy" in attached.note
        assert read_device(attached.device_path) == fx.base_iso()
    finally:
        drives.detach(attached.device)


@needs_loop
def test_fd_intake_backs_the_device_with_the_callers_file(tmp_path, drives):
    iso = fx.write(tmp_path / "a.iso", fx.base_iso())
    fd = os.open(iso, os.O_RDONLY)
    try:
        attached = drives.attach(fd)
    finally:
        os.close(fd)
    assert attached.backing_file == str(iso)
    assert loop.sysfs_state(attached.device).backing_file == str(iso)
    assert read_device(attached.device_path) == fx.base_iso()


@needs_loop
def test_offset_size_partscan_and_writable(tmp_path, drives):
    iso = fx.write(tmp_path / "a.iso", fx.base_iso())
    attached = drives.attach(str(iso), offset=16 * 2048, size=4 * 2048, partscan=True, read_only=False)
    state = loop.sysfs_state(attached.device)
    assert (state.offset, state.sizelimit, state.partscan, state.read_only) == (16 * 2048, 4 * 2048, True, False)
    assert read_device(attached.device_path) == fx.base_iso()[16 * 2048: 20 * 2048]


@needs_loop
def test_translated_views_are_never_writable(tmp_path, drives):
    with pytest.raises(UnsupportedImage, match="read-only"):
        drives.attach(str(fx.single_bincue(tmp_path)), read_only=False)
    assert drives.list() == []


@needs_loop
def test_audio_track_is_refused(tmp_path, drives):
    mixed = fx.mixed_single_file(tmp_path)
    with pytest.raises(BadImage, match="audio"):
        drives.attach(str(mixed.cue), track=2)
    assert drives.list() == []


@needs_loop
def test_foreign_devices_are_refused(tmp_path, drives):
    iso = fx.write(tmp_path / "a.iso", fx.base_iso())
    name = subprocess.run(["losetup", "--find", "--show", "-r", str(iso)], capture_output=True, text=True,
                          check=True).stdout.strip()
    try:
        with pytest.raises(NotOurs, match="not attached by burnd"):
            drives.detach(name)
        assert loop.sysfs_state(os.path.basename(name)) is not None
    finally:
        subprocess.run(["losetup", "-d", name], check=True)


@needs_loop
def test_detach_of_a_mounted_device_says_who_holds_it(tmp_path, drives):
    data = tmp_path / "fs.bin"  # an ext4 file system as a MODE1/2048 track: mountable here
    data.write_bytes(bytes(8 << 20))
    subprocess.run(["mkfs.ext4", "-q", "-b", "2048", str(data)], check=True)
    cue = fx.write(tmp_path / "fs.cue", 'FILE "fs.bin" BINARY\n  TRACK 01 MODE1/2048\n    INDEX 01 00:00:00\n')
    attached = drives.attach(str(cue))
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-o", "ro", attached.device_path, str(mnt)], check=True)
    try:
        with pytest.raises(DeviceBusy, match=f"mounted at {mnt}"):
            drives.detach(attached.device)
        assert drives.get(attached.device) is not None
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@needs_loop
def test_nobody_is_denied(tmp_path, drives):
    """Credentials read from a real process running as nobody (what the D-Bus layer does with
    the caller's pid) are refused, and nothing is attached."""
    iso = fx.write(tmp_path / "a.iso", fx.base_iso())
    proc = subprocess.Popen(["/usr/bin/python3", "-c", "import time; time.sleep(30)"], user="nobody", group="nogroup",
                            extra_groups=[], cwd="/")
    try:
        caller = Credentials.of_pid(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert caller.uid == 65534
    with pytest.raises(NotAuthorized):
        drives.attach(str(iso), caller=caller)
    assert drives.list() == []


@needs_loop
def test_nobody_cannot_reach_loop_control_directly(tmp_path):
    """The kernel side of the same promise: without burnd, nobody cannot make loop devices."""
    done = subprocess.run(["/usr/bin/python3", "-c", "import os; os.open('/dev/loop-control', os.O_RDWR)"],
                          user="nobody", group="nogroup", extra_groups=[], cwd="/", capture_output=True, text=True,
                          check=False)
    assert done.returncode != 0 and "PermissionError" in done.stderr


@pytest.fixture
def shared_dir():
    """A directory every user can search (pytest's tmp_path is inside a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix=os.path.basename(SHARED_PREFIX), dir=os.path.dirname(SHARED_PREFIX)))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


@needs_loop
def test_a_member_cannot_read_files_through_a_descriptor(shared_dir, tmp_path):
    """A cue the caller may read, naming a BIN it may not: refused before anything is opened."""
    import grp

    group = grp.getgrall()[0]
    cue = fx.single_bincue(shared_dir)
    cue.chmod(0o644)
    (shared_dir / "disc.bin").chmod(0o600)
    drives = VirtualDrives(str(tmp_path / "state"), group=group.gr_name)
    member = Credentials(4242, frozenset({group.gr_gid}))
    fd = os.open(cue, os.O_RDONLY)
    try:
        with pytest.raises(NotAuthorized, match="disc.bin"):
            drives.attach(fd, caller=member)
        (shared_dir / "disc.bin").chmod(0o644)
        attached = drives.attach(fd, caller=member)
    finally:
        os.close(fd)
    try:
        assert attached.setup_by_uid == 4242
    finally:
        drives.detach(attached.device, caller=member)


def test_readable_by_follows_mode_bits(shared_dir):
    target = shared_dir / "f"
    target.write_bytes(b"x")
    target.chmod(0o640)
    os.chown(target, 4242, 4343)
    assert readable_by(str(target), Credentials(4242))
    assert readable_by(str(target), Credentials(5000, frozenset({4343})))
    assert not readable_by(str(target), Credentials(5000, frozenset({1})))
    shared_dir.chmod(0o700)
    assert not readable_by(str(target), Credentials(4242))  # the directory blocks the way
    assert readable_by(str(target), Credentials(0))


# --- records and restarts ------------------------------------------------------------------------


@needs_loop
def test_registry_records_each_attachment(tmp_path, drives):
    iso = fx.write(tmp_path / "a.iso", fx.base_iso())
    attached = drives.attach(str(iso))
    with open(registry.record_path(drives.state_dir, attached.id)) as f:
        data = json.load(f)
    assert data["attachment"]["device"] == attached.device
    assert registry.load(drives.state_dir) == [attached]
    drives.detach(attached.device)
    assert registry.load(drives.state_dir) == []
    assert os.listdir(os.path.join(drives.state_dir, registry.DIRECTORY)) == []


ATTACH_THEN_DIE = """
import os, signal, sys
from burnd.virtual.attach import VirtualDrives
drives = VirtualDrives(sys.argv[1])
for image in sys.argv[2:]:
    print(drives.attach(image).device, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@needs_loop
@needs_fuse
def test_restart_after_sigkill_readopts_live_devices(tmp_path):
    iso = fx.write(tmp_path / "a.iso", fx.base_iso())
    cue = fx.single_bincue(tmp_path)
    state = str(tmp_path / "state")
    done = subprocess.run([sys.executable, "-c", ATTACH_THEN_DIE, state, str(iso), str(cue)], capture_output=True, text=True,
                          cwd=os.getcwd(), check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    devices = done.stdout.split()
    drives = VirtualDrives(state)
    try:
        recovery = drives.recover()
        assert sorted(a.device for a in recovery.adopted) == sorted(devices)
        assert recovery.cleaned == []
        for attachment in drives.list():
            assert read_device(attachment.device_path) == fx.base_iso()  # the view outlived the daemon
    finally:
        for attachment in drives.list():
            drives.detach(attachment.device)


def wait_gone(pid: int) -> None:
    """Until the kernel has torn the process down (a zombie's cmdline is empty)."""
    while True:
        try:
            with open(f"/proc/{pid}/cmdline") as f:
                if not f.read():
                    return
        except FileNotFoundError:
            return
        time.sleep(0.01)


@needs_loop
@needs_fuse
def test_restart_cleans_what_cannot_be_kept(tmp_path):
    """A tagged device with no record (killed mid-attach), a translated device whose view died,
    and a record whose device someone else detached: all cleaned, nothing leaked."""
    iso = fx.write(tmp_path / "a.iso", fx.base_iso())
    state = str(tmp_path / "state")
    first = VirtualDrives(state)
    translated = first.attach(str(fx.single_bincue(tmp_path)))
    gone = first.attach(str(iso))
    os.kill(translated.view_pid, signal.SIGKILL)
    wait_gone(translated.view_pid)
    loop.clear(gone.device)
    fd = os.open(iso, os.O_RDONLY)
    try:
        unrecorded = loop.configure(fd, tag=first._tag("0" * 32))
    finally:
        os.close(fd)
    second = VirtualDrives(state)
    recovery = second.recover()
    assert recovery.adopted == []
    text = "\n".join(recovery.cleaned)
    assert f"{unrecorded}:" in text and "never recorded" in text
    assert f"{translated.device}:" in text and "view is gone" in text
    assert f"{gone.device}:" in text and "record dropped" in text
    assert second.list() == []
    assert registry.load(state) == []
    assert not os.listdir(os.path.join(state, "views"))


@needs_loop
def test_another_instances_devices_are_left_alone(tmp_path):
    iso = fx.write(tmp_path / "a.iso", fx.base_iso())
    other = VirtualDrives(str(tmp_path / "other"))
    attached = other.attach(str(iso))
    try:
        mine = VirtualDrives(str(tmp_path / "mine"))
        assert mine.recover().cleaned == []
        with pytest.raises(NotOurs):
            mine.detach(attached.device)
        assert loop.sysfs_state(attached.device) is not None
    finally:
        other.detach(attached.device)


@needs_loop
def test_attach_announces_the_device(tmp_path):
    """A change uevent for udev/udisks/desktops, and the callback for ObjectManager signals."""
    events = []
    drives = VirtualDrives(str(tmp_path / "state"), on_change=lambda event, a: events.append((event, a.device)))
    uevents = KernelUevents()
    attached = drives.attach(str(fx.write(tmp_path / "a.iso", fx.base_iso())))
    try:
        assert uevents.synthetic_change(attached.device)
    finally:
        drives.detach(attached.device)
    assert events == [("added", attached.device), ("removed", attached.device)]
