"""Shared by the tests that run clients burnd did not write (Debian's dbus-python)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PYTHON = "/usr/bin/python3"
"""Debian's python: it has dbus-python and gi, and (unlike the venv's) user nobody can run it."""


def _have_dbus_python() -> bool:
    if not Path(PYTHON).exists():
        return False
    return subprocess.run([PYTHON, "-c", "import dbus, gi"], capture_output=True).returncode == 0


needs_dbus_python = pytest.mark.skipif(not _have_dbus_python(),
                                       reason="/usr/bin/python3 lacks dbus-python or gi (python3-dbus, python3-gi)")
