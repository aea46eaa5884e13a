"""Open an ISO 9660 / UDF image and produce its listing in the best available namespace.

Namespace preference (reference §3): Rock Ridge names and modes, then Joliet, then the
ISO 9660:1999 tree, then plain ISO 9660; UDF only when there is no ISO 9660 tree at all.
The newest session found in the file is read.
"""

from __future__ import annotations

from functools import cached_property

from burnd.errors import BadImage
from burnd.image.boundary import guard
from burnd.image.iso.entry import Entry
from burnd.image.iso.imagefile import ImageFile
from burnd.image.iso.tree import TreeWalker, WalkResult
from burnd.image.iso.udf import UdfReader
from burnd.image.iso.volumes import DescriptorSet, find_sessions


class IsoImage:
    """A read-only view of an image file. Use as a context manager."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.image = ImageFile(path)
        try:
            with guard(path, "read the volume descriptors"):
                self.sessions: list[DescriptorSet] = find_sessions(self.image)
        except BaseException:
            self.image.close()
            raise
        self.current = self.sessions[-1]
        self.udf_volume_id: str | None = None

    @property
    def namespace(self) -> str:
        """"rockridge", "joliet", "iso9660:1999", "iso9660" or "udf"."""
        return self._listing[0]

    @property
    def walk_result(self) -> WalkResult | None:
        return self._listing[2]

    def entries(self) -> list[Entry]:
        return self._listing[1]

    @cached_property
    def _listing(self) -> tuple[str, list[Entry], WalkResult | None]:
        with guard(self.path, "list the file system"):
            current = self.current
            if current.primary is not None:
                primary = TreeWalker(self.image, current.primary, joliet=False).walk()
                if primary.rock_ridge:
                    return "rockridge", primary.entries, primary
                if current.joliet is not None:
                    result = TreeWalker(self.image, current.joliet, joliet=True).walk()
                    return "joliet", result.entries, result
                if current.enhanced is not None:
                    result = TreeWalker(self.image, current.enhanced, joliet=False).walk()
                    return "iso9660:1999", result.entries, result
                return "iso9660", primary.entries, primary
            if current.has_udf:
                udf = UdfReader(self.image)
                self.udf_volume_id = udf.volume_id
                return "udf", udf.entries(), None
            raise BadImage(f"{self.path}: no readable file system (no primary volume descriptor, no UDF)")

    def read_sector(self, lba: int, count: int = 1) -> bytes:
        return self.image.read_at(lba * 2048, count * 2048, f"sector {lba}")

    def close(self) -> None:
        self.image.close()

    def __enter__(self) -> "IsoImage":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def list_image(path: str) -> list[Entry]:
    """The entries of the image's newest session, sorted by path."""
    with IsoImage(path) as image:
        return image.entries()
