"""Atomic image output: write beside the destination, fsync, rename over it.

Used by create, edit's in-place mode and conversions, so a crash or error never leaves a
half-written image under the final name (and an in-place edit never destroys the original)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def atomic_output(path: str, durable: bool = False) -> Iterator[int]:
    """``durable`` adds an fsync before the rename: needed when replacing an existing image
    (in-place edit), where a crash must leave either the old or the new one."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=".burnd-", suffix=".part", dir=directory)
    try:
        yield fd
        if durable:
            os.fsync(fd)
        os.fchmod(fd, 0o644)
        os.close(fd)
        fd = -1
        os.replace(temp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
