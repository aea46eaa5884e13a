"""The in-memory tree a new image is built from, and where each file's bytes come from.

``create`` fills it from a host directory, ``edit`` from an existing image (data stays in the
old image and is copied straight across), so one writer serves both.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from typing import Protocol

from burnd.image.iso.entry import Kind, Run

CHUNK = 8 << 20


class DataSource(Protocol):
    size: int

    def copy_to(self, out_fd: int) -> None:
        """Append exactly ``size`` bytes to ``out_fd`` at its current position."""
        ...


def copy_span(src: int, offset: int, length: int, dst: int, what: str) -> None:
    """Copy ``length`` bytes at ``offset`` of ``src`` to ``dst``'s position, in-kernel where
    possible (copy_file_range), else through a bounded buffer."""
    left = length
    while left > 0:
        step = min(left, CHUNK)
        try:
            done = os.copy_file_range(src, dst, step, offset)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            data = os.pread(src, step, offset)
            done = len(data)
            view = memoryview(data)
            while view:
                view = view[os.write(dst, view) :]
        if done == 0:
            raise OSError(errno.EIO, f"{what} ended {left} bytes early (changed while writing the image?)")
        offset += done
        left -= done


@dataclass(slots=True)
class HostFile:
    """A regular file on the host; opened only while its data is written."""

    path: str
    size: int

    def copy_to(self, out_fd: int) -> None:
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            copy_span(fd, 0, self.size, out_fd, self.path)
        finally:
            os.close(fd)


@dataclass(slots=True)
class ImageData:
    """A file's data inside an existing image (an ``Entry``'s runs)."""

    image_fd: int
    runs: tuple[Run, ...]
    size: int

    def copy_to(self, out_fd: int) -> None:
        left = self.size
        for run in self.runs:
            take = min(run.length, left)
            if run.offset is None:
                os.write(out_fd, bytes(take))
            else:
                copy_span(self.image_fd, run.offset, take, out_fd, "image data")
            left -= take
        if left:
            os.write(out_fd, bytes(left))


@dataclass(slots=True, eq=False)
class Node:
    """A file, directory or symlink of the image being built."""

    name: str
    kind: Kind
    mode: int
    mtime: float
    size: int = 0
    data: DataSource | None = None
    target: str | None = None
    children: list["Node"] = field(default_factory=list)
    link_key: object = None  # files sharing a key share one data extent (hard links)

    def child(self, name: str) -> "Node | None":
        for node in self.children:
            if node.name == name:
                return node
        return None

    def lookup(self, path: str | list[str]) -> "Node | None":
        """The node at ``path`` (a '/'-separated string or a list of names) below this one."""
        parts = [p for p in path.split("/") if p] if isinstance(path, str) else path
        node: Node | None = self
        for part in parts:
            node = node.child(part) if node is not None and node.kind is Kind.DIR else None
        return node

    def walk(self):
        """Depth-first, children in name order: the order file data is laid out in."""
        yield self
        for node in sorted(self.children, key=lambda n: n.name):
            yield from node.walk()
