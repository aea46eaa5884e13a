"""``IsoSource``: an ISO 9660 / UDF image file as a ``SectorSource``.

A bare .iso is one data session with one data track whose 2048-byte user data is the whole
file, so it is loop-attachable as it is (``plain_slice`` covers the file). The sector count is
the file size rounded down to whole sectors: hybrid images may be longer than the PVD says,
and burning or attaching must use the whole file (reference §3.7).
"""

from __future__ import annotations

import os

from burnd.errors import BadImage
from burnd.image.iso.imagefile import ImageFile
from burnd.image.iso.records import SECTOR
from burnd.image.iso.volumes import read_descriptor_set
from burnd.image.source import DataView, PlainSlice, SectorErrors, SectorSource, Session, Track, TrackMode, WritableBuffer, checked_span


def sniff(image: ImageFile) -> str | None:
    """"iso" when sector 16 holds CD001, "udf" for a UDF volume without it (recognition
    sequence or anchor, as ``read_descriptor_set`` finds them), else None."""
    try:
        found = read_descriptor_set(image, 0)
    except BadImage:
        return None
    return "iso" if found.primary is not None else "udf"


class FileView:
    """Sectors of a plain 2048-byte image, read with pread."""

    def __init__(self, image: ImageFile, sectors: int) -> None:
        self.image = image
        self.sectors = sectors
        self.errors = SectorErrors()

    def readinto(self, first: int, buffer: WritableBuffer) -> int:
        view, _count = checked_span(buffer, first, self.sectors, self.image.path, "image")
        done = os.preadv(self.image.fd, [view], first * SECTOR)
        if done != len(view):
            raise BadImage(f"{self.image.path}: short read at sector {first}; the file shrank")
        return done


class IsoSource(SectorSource):
    """An ISO 9660 (format "iso") or UDF-only (format "udf") image file."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.image = ImageFile(path)
        kind = sniff(self.image)
        if kind is None:
            self.image.close()
            raise BadImage(f"{path}: no CD001 or UDF descriptor at sector 16; not an ISO/UDF image")
        self.format = kind
        sectors = self.image.size // SECTOR
        track = Track(number=1, session=1, mode=TrackMode.DATA, start_lba=0, sectors=sectors, sector_size=SECTOR)
        self._sessions = (Session(1, (track,)),)

    @property
    def sessions(self) -> tuple[Session, ...]:
        return self._sessions

    def data_view(self, track: Track | None = None) -> DataView:
        chosen = track or self.default_track()
        return FileView(self.image, chosen.sectors)

    def plain_slice(self, track: Track | None = None) -> PlainSlice | None:
        chosen = track or self.default_track()
        return PlainSlice(self.path, 0, chosen.sectors * SECTOR)

    def close(self) -> None:
        self.image.close()
