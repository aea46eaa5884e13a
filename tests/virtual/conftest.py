"""Fixtures for the virtual-drive tests: real loop devices, real FUSE views, leak checks.

Every test that creates a loop device or a view must leave none behind, even when it fails:
``no_leaks`` compares the bound loop devices and burnd view mounts before and after each test
and fails the test that leaked (after cleaning up what it can)."""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from burnd import loop
from burnd.virtual.attach import VirtualDrives
from burnd.virtual.translate import fuse_available, unmount

MISSING = (
    "needs root" if os.geteuid() != 0
    else "needs /dev/loop-control (loop module)" if not os.path.exists(loop.CONTROL)
    else None
)
needs_loop = pytest.mark.skipif(MISSING is not None, reason=f"real loop devices: {MISSING}")
needs_fuse = pytest.mark.skipif(fuse_available() is not None, reason=f"translated views: {fuse_available()}")


#: where tests that need a directory other users can search put their files
SHARED_PREFIX = "/var/tmp/burnd-virtual-"


def _view_mounts(roots: tuple[str, ...]) -> set[str]:
    with open("/proc/self/mountinfo") as f:
        return {line.split(" ")[4] for line in f if line.split(" ")[4].startswith(roots)}


def _ours(roots: tuple[str, ...]) -> set[str]:
    """Loop devices reading something under ``roots`` (the test's directories)."""
    return {s.name for s in loop.bound_loops() if s.backing_file.startswith(roots)}


@pytest.fixture(autouse=True)
def no_leaks(tmp_path: Path) -> Iterator[None]:
    root = (str(tmp_path), SHARED_PREFIX)
    yield
    leaked_loops = _ours(root)
    leaked_mounts = _view_mounts(root)
    for name in leaked_loops:
        subprocess.run(["losetup", "-d", f"/dev/{name}"], check=False)
    for mountpoint in sorted(leaked_mounts, reverse=True):
        unmount(mountpoint, lazy=True)
    assert not leaked_loops and not leaked_mounts, f"test leaked loop devices {leaked_loops} / mounts {leaked_mounts}"


@pytest.fixture
def drives(tmp_path: Path) -> Iterator[VirtualDrives]:
    """A VirtualDrives on a fresh state dir; everything still attached is detached afterwards."""
    manager = VirtualDrives(str(tmp_path / "state"), cache_limit=64 << 20)
    try:
        yield manager
    finally:
        for attachment in manager.list():
            manager.detach(attachment.device)


def read_device(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class KernelUevents:
    """Block-device uevents straight from the kernel's netlink socket (no udevd here)."""

    def __init__(self) -> None:
        import pyudev

        self.monitor = pyudev.Monitor.from_netlink(pyudev.Context(), source="kernel")
        self.monitor.filter_by("block")
        self.monitor.start()

    def synthetic_change(self, name: str, timeout: float = 10) -> bool:
        """Whether a ``change`` for ``name`` written to its sysfs uevent file (the kernel marks
        those with SYNTH_UUID) arrives before ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            select.select([self.monitor], [], [], 0.5)
            for device in iter(lambda: self.monitor.poll(0), None):
                if device.sys_name == name and device.action == "change" and "SYNTH_UUID" in device.properties:
                    return True
        return False
