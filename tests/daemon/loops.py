"""Leak checks for tests that attach images through burnd: attachments outlive the daemon on
purpose, so a failing test would otherwise leave loop devices and view mounts behind."""

from __future__ import annotations

import subprocess

from burnd import loop
from burnd.virtual.translate import unmount


def release_leftovers(roots: tuple[str, ...]) -> list[str]:
    """Detach the loop devices reading from under ``roots`` and unmount the views there;
    returns what was left (empty when the test cleaned up after itself)."""
    devices = [s.name for s in loop.bound_loops() if s.backing_file.startswith(roots)]
    for name in devices:
        subprocess.run(["losetup", "-d", f"/dev/{name}"], check=False)
    with open("/proc/self/mountinfo") as f:
        mounts = sorted({line.split(" ")[4] for line in f if line.split(" ")[4].startswith(roots)}, reverse=True)
    for mountpoint in mounts:
        unmount(mountpoint, lazy=True)
    return devices + mounts
