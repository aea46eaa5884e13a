"""The file-system-neutral listing entry that ISO 9660 and UDF readers both produce.

Extraction, editing and the CLI work on ``Entry`` values only, so they do not care which file
system (or which of ISO 9660's three namespaces) a name came from.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"
    SOCKET = "socket"


@dataclass(frozen=True, slots=True)
class Run:
    """A piece of a file's data: ``length`` bytes at image byte ``offset``; None = zeros
    (UDF unrecorded extents)."""

    offset: int | None
    length: int


@dataclass(frozen=True, slots=True)
class Entry:
    """One listed object. ``parts`` are the raw path components as the image names them —
    possibly hostile ('..', '', names with '/' or NUL); extraction validates them."""

    parts: tuple[str, ...]
    kind: Kind
    size: int
    mode: int | None
    mtime: float | None
    uid: int | None = None
    gid: int | None = None
    target: str | None = None
    runs: tuple[Run, ...] = ()
    zisofs: str | None = None  # "pz": runs hold zisofs-compressed data of ``size`` bytes; "other": unreadable

    @property
    def path(self) -> str:
        return "/" + "/".join(self.parts)

    @property
    def name(self) -> str:
        return self.parts[-1] if self.parts else ""

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "type": self.kind.value,
            "size": self.size,
            "mode": self.mode,
            "mtime": self.mtime,
            "uid": self.uid,
            "gid": self.gid,
            "target": self.target,
        }
