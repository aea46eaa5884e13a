"""Where a virtual disc's bytes and state live: a sparse block file plus a JSON sidecar.

The block file holds user data at ``LBA × 2048`` so it is also a plain ISO/UDF image that can be
attached as a loop device or loaded later as ROM media. The sidecar (``<file>.state.json``)
records the recording state (kind, capacity, sessions, tracks) so a new VirtualBurner on the same
file finds the same disc. Without a path the disc lives in an anonymous temporary file.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from burnd.errors import BurndError

BLOCK = 2048
SIDECAR_SUFFIX = ".state.json"


class BackingError(BurndError):
    """A virtual disc's backing file or its state sidecar cannot be used."""

    dbus_name = "BadBacking"


class Backing:
    """A block file opened for positional I/O; all reads and writes go to the caller's buffer."""

    def __init__(self, path: str | None, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        try:
            if path is None:
                self.fd = _anonymous_file()
            elif read_only:
                self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            else:
                self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise BackingError(
                f"cannot open the virtual disc file {path}: {exc.strerror}; "
                "check that the path exists and is readable/writable by burnd"
            ) from exc

    @property
    def sidecar(self) -> str | None:
        return None if self.path is None or self.read_only else self.path + SIDECAR_SUFFIX

    def size_blocks(self) -> int:
        return os.fstat(self.fd).st_size // BLOCK

    def write(self, lba: int, data: memoryview) -> None:
        done = os.pwrite(self.fd, data, lba * BLOCK)
        while done < len(data):
            done += os.pwrite(self.fd, data[done:], lba * BLOCK + done)

    def read_into(self, lba: int, out: memoryview) -> None:
        """Fill ``out`` from the file; blocks past its end (sparse tail) read as zeros."""
        done = os.preadv(self.fd, [out], lba * BLOCK)
        while 0 < done < len(out):
            step = os.preadv(self.fd, [out[done:]], lba * BLOCK + done)
            if step == 0:
                break
            done += step
        if done < len(out):
            out[done:] = bytes(len(out) - done)

    def erase(self) -> None:
        """Drop every block (blanking): the file becomes a zero-length sparse file again."""
        os.ftruncate(self.fd, 0)

    def load_state(self) -> dict[str, Any] | None:
        if self.sidecar is None or not os.path.exists(self.sidecar):
            return None
        try:
            with open(self.sidecar, encoding="utf-8") as handle:
                state: dict[str, Any] = json.load(handle)
        except (OSError, ValueError) as exc:
            raise BackingError(
                f"the state file {self.sidecar} of a virtual disc is unreadable ({exc}); "
                "delete it to start over with a blank disc of the same file"
            ) from exc
        return state

    def save_state(self, state: dict[str, Any]) -> None:
        """Replace the sidecar atomically so a crash never leaves half a state file."""
        if self.sidecar is None:
            return
        tmp = self.sidecar + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.sidecar)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _anonymous_file() -> int:
    with tempfile.TemporaryFile(prefix="burnd-vdisc-") as handle:
        return os.dup(handle.fileno())
