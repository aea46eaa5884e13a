"""Recovery of translated views made in another mount namespace, as under systemd.

The unit runs burnd with ProtectSystem=strict and PrivateTmp=yes, so every start gets a new
mount namespace: the FUSE view an earlier start mounted is invisible to the next one, while its
server still serves the loop device. Here the earlier start is a process under ``unshare -m
--propagation private`` that attaches a raw BIN/CUE and exits; recovery runs in the test's own
namespace."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from burnd import loop
from burnd.virtual import registry
from burnd.virtual.attach import VirtualDrives
from burnd.virtual.mounts import read as read_mounts
from tests.fixtures import cdimages as fx

from .conftest import needs_fuse, needs_loop, read_device

pytestmark = [needs_loop, needs_fuse]
EXIT_TIMEOUT = 30

ATTACH_AND_EXIT = """
import sys
from burnd.virtual.attach import VirtualDrives
attached = VirtualDrives(sys.argv[1]).attach(sys.argv[2])
print(attached.device, attached.view_pid, attached.view_mount, flush=True)
"""


@dataclass(frozen=True)
class Earlier:
    """What the earlier burnd left behind: a device, its view server and the view's mount."""

    state: str
    device: str
    pid: int
    mountpoint: str


def serving(pid: int) -> bool:
    """The process runs (a zombie's command line is empty)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return bool(f.read())
    except OSError:
        return False


def wait_exit(pid: int, timeout: float = EXIT_TIMEOUT) -> bool:
    """Whether the process exits before ``timeout`` (a pidfd turns readable when it does)."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([pidfd], [], [], timeout)[0])
    finally:
        os.close(pidfd)


@pytest.fixture
def earlier(tmp_path: Path) -> Iterator[Earlier]:
    """A translated attachment made by a process in its own mount namespace, which has exited."""
    state = str(tmp_path / "state")
    cue = fx.single_bincue(tmp_path)
    done = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, "-c", ATTACH_AND_EXIT, state,
                           str(cue)], capture_output=True, text=True, cwd=os.getcwd(), check=False)
    assert done.returncode == 0, done.stderr
    device, pid, mountpoint = done.stdout.split()
    left = Earlier(state, device, int(pid), mountpoint)
    try:
        # the premise: mounted only in the server's namespace
        assert not os.path.ismount(mountpoint)
        assert mountpoint in {m.mountpoint for m in read_mounts(left.pid)}
        yield left
    finally:
        if serving(left.pid):
            os.kill(left.pid, signal.SIGKILL)
            wait_exit(left.pid)


def unbound(device: str) -> bool:
    """No longer one of burnd's devices (unbound, or reused by someone else)."""
    return loop.sysfs_state(device) is None or loop.get_status(device).tag is None


def test_a_view_mounted_elsewhere_is_readopted_and_detached(earlier):
    drives = VirtualDrives(earlier.state)
    recovery = drives.recover()
    assert [a.device for a in recovery.adopted] == [earlier.device]
    assert recovery.cleaned == []
    assert read_device(f"/dev/{earlier.device}") == fx.base_iso()
    drives.detach(earlier.device)
    assert not serving(earlier.pid)  # detach waited for the server in the other namespace
    assert unbound(earlier.device)
    assert registry.load(earlier.state) == []
    assert os.listdir(os.path.join(earlier.state, "views")) == []


def test_a_dead_view_server_is_cleaned_up(earlier):
    os.kill(earlier.pid, signal.SIGKILL)
    assert wait_exit(earlier.pid)
    drives = VirtualDrives(earlier.state)
    recovery = drives.recover()
    assert recovery.adopted == []
    [line] = recovery.cleaned
    assert line.startswith(f"{earlier.device}:") and "view is gone" in line and f"pid {earlier.pid}" in line
    assert line.endswith("detached")
    assert unbound(earlier.device)
    assert drives.list() == [] and registry.load(earlier.state) == []
    assert os.listdir(os.path.join(earlier.state, "views")) == []


def test_a_recycled_pid_is_neither_trusted_nor_signalled(earlier):
    """The record names a pid that now belongs to another process: the device is cleaned up,
    that process is left alone, and the real server still ends (its mount point is removed)."""
    stranger = subprocess.Popen(["sleep", "300"])
    try:
        [record] = registry.load(earlier.state)
        registry.add(earlier.state, replace(record, view_pid=stranger.pid))
        recovery = VirtualDrives(earlier.state).recover()
        assert recovery.adopted == []
        assert any(line.startswith(f"{earlier.device}:") and "view is gone" in line for line in recovery.cleaned)
        assert unbound(earlier.device)
        assert stranger.poll() is None
        assert wait_exit(earlier.pid)
    finally:
        stranger.kill()
        stranger.wait()
