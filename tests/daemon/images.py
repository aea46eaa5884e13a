"""Small disc images made at run time with pycdlib (seeded content, so failures reproduce)."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pycdlib


def make_iso(target: Path, payload: int, seed: int = 7) -> Path:
    """An ISO 9660 image holding one file of ``payload`` pseudo-random bytes, world-readable."""
    data = random.Random(seed).randbytes(payload)
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident="BURND_DAEMON")
    iso.add_fp(io.BytesIO(data), len(data), "/DATA.BIN;1")
    iso.write(str(target))
    iso.close()
    os.chmod(target, 0o644)
    return target


def sparse(target: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no space (for refusals decided by size alone)."""
    with open(target, "wb") as handle:
        handle.truncate(size)
    os.chmod(target, 0o644)
    return target
