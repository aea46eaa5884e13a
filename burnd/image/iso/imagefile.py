"""Bounds-checked positional reads from an image file.

Every on-disc pointer (extent, continuation area, descriptor location) is untrusted; routing all
reads through one place that refuses to go past the end of the file, and turns OS errors into
``BadImage``, keeps the parsers free of scattered length checks.
"""

from __future__ import annotations

import os

from burnd.errors import BadImage
from burnd.image.source import fd_size


class ImageFile:
    """An open image; ``read_at`` never returns short data silently."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise BadImage(f"{path}: cannot open the image ({exc.strerror}); check the path and permissions") from exc
        self.size = fd_size(self.fd)

    def read_at(self, offset: int, length: int, what: str = "data") -> bytes:
        """``length`` bytes at ``offset``; BadImage if that range is not inside the file."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise BadImage(
                f"{self.path}: {what} at byte {offset} (+{length}) lies past the end of the file "
                f"({self.size} bytes); the image is truncated or its headers are corrupt"
            )
        try:
            data = os.pread(self.fd, length, offset)
        except OSError as exc:
            raise BadImage(f"{self.path}: read error at byte {offset}: {exc.strerror}") from exc
        if len(data) != length:
            raise BadImage(f"{self.path}: the file shrank while reading {what} at byte {offset}")
        return data

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "ImageFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
