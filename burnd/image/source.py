"""The common shape every disc-image reader gives: layout plus a 2048-byte user-data view.

Everything that consumes images — burning, attaching as a loop device, converting to ISO —
needs the same two things: the disc layout (sessions, tracks, modes) and random access to the
2048-byte user data of a data track. Whether that data is a plain byte range of one file
(loop-attachable as it is) or needs translation (stride, compression, split files) decides how
a virtual drive is built, so each view says which it is.
"""

from __future__ import annotations

import enum
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Protocol, Union

USER_DATA_SIZE = 2048

WritableBuffer = Union[bytearray, memoryview]


class TrackMode(enum.Enum):
    """What a track's sectors hold, as far as a 2048-byte view is concerned."""

    DATA = "data"  # 2048-byte user data only (ISO, DVD/BD, MODE1/2048 cue tracks)
    MODE1 = "mode1"  # raw or cooked CD Mode 1 (user data at +16 in a 2352-byte sector)
    MODE2_FORM1 = "mode2-form1"  # CD-ROM XA Form 1 (user data at +24)
    MODE2_MIXED = "mode2-xa"  # XA track that may mix Form 1 and Form 2 sectors
    MODE2_FORMLESS = "mode2"  # Mode 2 formless, 2336 bytes, no 2048-byte view
    AUDIO = "audio"  # CD-DA, no 2048-byte view

    @property
    def has_user_data_view(self) -> bool:
        return self not in (TrackMode.AUDIO, TrackMode.MODE2_FORMLESS)


@dataclass(frozen=True, slots=True)
class Track:
    """One track as the container describes it.

    ``start_lba`` is the disc address of the track's index 1; ``sectors`` counts the sectors
    the container stores from there; ``sector_size`` is the stored size of one sector in the
    container (2048, 2336, 2352, 2448, ...), before any decompression.
    """

    number: int
    session: int
    mode: TrackMode
    start_lba: int
    sectors: int
    sector_size: int
    pregap: int = 0

    @property
    def is_data(self) -> bool:
        return self.mode.has_user_data_view


@dataclass(frozen=True, slots=True)
class Session:
    number: int
    tracks: tuple[Track, ...]


@dataclass(frozen=True, slots=True)
class PlainSlice:
    """A track's 2048-byte user data as one contiguous byte range of one file.

    A loop device can map exactly this with LOOP_CONFIGURE offset and sizelimit, no
    translation and no copy.
    """

    path: str
    offset: int
    size: int


@dataclass(slots=True)
class SectorErrors:
    """Sectors whose stored EDC did not match their data, found while reading a raw view."""

    count: int = 0
    first_lbas: list[int] = field(default_factory=list)
    keep: int = 16

    def record(self, lba: int) -> None:
        self.count += 1
        if len(self.first_lbas) < self.keep:
            self.first_lbas.append(lba)


def fd_size(fd: int) -> int:
    """Bytes in an open image: a regular file or a block device (whose st_size is 0, so an
    attached disc or a real /dev/sr0 would look empty to fstat). The file offset is left
    where it was, so a caller reading sequentially is not disturbed."""
    position = os.lseek(fd, 0, os.SEEK_CUR)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.lseek(fd, position, os.SEEK_SET)


def path_size(path: str) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return fd_size(fd)
    finally:
        os.close(fd)


def checked_span(buffer: WritableBuffer, first: int, sectors: int, name: str,
                 unit: str = "track") -> tuple[memoryview, int]:
    """Validate a DataView.readinto request; return the byte view and the sector count.

    Every view enforces the same contract (whole sectors, inside the track), so the check and
    its message live here once.
    """
    out = memoryview(buffer).cast("B")
    count, rest = divmod(len(out), USER_DATA_SIZE)
    if rest:
        raise ValueError("buffer must hold a whole number of 2048-byte sectors")
    if first < 0 or first + count > sectors:
        from burnd.errors import BadImage

        raise BadImage(
            f"{name}: read of sectors {first}..{first + count - 1} is past the end of the "
            f"{unit} ({sectors} sectors)"
        )
    return out, count


class DataView(Protocol):
    """Random-access 2048-byte user data of one data track.

    Sector numbers are relative to the track's first sector (0 = index 1). Reads past the end
    raise ``burnd.errors.BadImage``; a raw view checks EDC as it reads and counts failures in
    ``errors`` rather than failing, so a caller can report them.
    """

    sectors: int
    errors: SectorErrors

    def readinto(self, first: int, buffer: WritableBuffer) -> int:
        """Fill ``buffer`` (a whole number of 2048-byte sectors) from sector ``first``; return
        the number of bytes written."""
        ...


class SectorSource(ABC):
    """An opened disc image. Use as a context manager; ``close`` releases file handles."""

    #: short format name, e.g. "iso", "bincue", "nrg"
    format: str

    def __init__(self, path: str) -> None:
        self.path = path

    @property
    @abstractmethod
    def sessions(self) -> tuple[Session, ...]: ...

    @property
    def tracks(self) -> tuple[Track, ...]:
        return tuple(t for s in self.sessions for t in s.tracks)

    def default_track(self) -> Track:
        """The track a plain "convert/attach/burn this image" means: the first data track of the
        last session that has one (the newest file system on a multi-session disc)."""
        from burnd.errors import BadImage

        for session in reversed(self.sessions):
            for track in session.tracks:
                if track.is_data:
                    return track
        raise BadImage(f"{self.path}: the image has no data track (audio only?); nothing to read as ISO")

    @abstractmethod
    def data_view(self, track: Track | None = None) -> DataView:
        """The 2048-byte user-data view of ``track`` (default: ``default_track()``)."""

    def plain_slice(self, track: Track | None = None) -> PlainSlice | None:
        """The track's user data as one byte range of one file, or None when it needs
        translation (stride, compression, split files)."""
        return None

    def close(self) -> None:
        """Release file handles. Subclasses that open files override this."""

    def __enter__(self) -> "SectorSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
