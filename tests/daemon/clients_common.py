"""Shared by the tests that run clients burnd did not write (Debian's dbus-python)."""

from __future__ import annotations

import grp
import subprocess
from pathlib import Path

import pytest

try:
    CDROM: int | None = grp.getgrnam("cdrom").gr_gid
    """The group the shipped bus policy lets call methods (None: no such group here)."""
except KeyError:
    CDROM = None

PYTHON = "/usr/bin/python3"
"""Debian's python: it has dbus-python and gi, and (unlike the venv's) user nobody can run it."""


def _have_dbus_python() -> bool:
    if not Path(PYTHON).exists():
        return False
    return subprocess.run([PYTHON, "-c", "import dbus, gi"], capture_output=True).returncode == 0


needs_dbus_python = pytest.mark.skipif(not _have_dbus_python(),
                                       reason="/usr/bin/python3 lacks dbus-python or gi (python3-dbus, python3-gi)")


def run_as_nobody(world: Path, name: str, script: str, *args: str, groups: tuple[int, ...] = ()
                  ) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (dbus-python code, saved as ``world/name``) as uid/gid nobody with only
    ``groups`` as supplementary groups; ``world`` must be readable by nobody."""
    path = world / name
    path.write_text(script)
    path.chmod(0o644)
    group_args = [f"--groups={','.join(map(str, groups))}"] if groups else ["--clear-groups"]
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", *group_args, PYTHON, str(path), *args],
                          check=False, capture_output=True, text=True, timeout=60, cwd=world)
