"""CDI (DiscJuggler): track data first, then a little-endian descriptor found via the last 8 bytes.

The descriptor is a walk of variable-length records with many undeciphered fields; this
reader follows the field walk cdirip uses (v2.0, v3.0, v3.5 and DiscJuggler 4 variants) and
keeps only what a 2048-byte view needs: per track its pregap, length, mode, start LBA, stored
length and sector size. The record's start address is where the track's pregap begins (as
libmirage reads it: its two "index" lengths are the pregap and the index-1 part), so index 1
is start + pregap, and the stored pregap sits before it in the file. Support is best effort: no independent reader exists on Debian.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from burnd.errors import BadImage, UnsupportedImage
from burnd.image import cdsector as cd
from burnd.image.cdlayout import MAX_TRACKS, CdImage, StoredTrack
from burnd.image.source import SectorSource, Track, TrackMode

NAME = "cdi"
EXTENSIONS = (".cdi",)

V2, V3, V35 = 0x80000004, 0x80000005, 0x80000006
VERSIONS = (V2, V3, V35)
TRACK_MARK = b"\x00\x00\x01\x00\x00\x00\xff\xff\xff\xff"
DJ4_MARK = 0x80000000
MAX_DESCRIPTOR = 1 << 20
SECTOR_SIZES = {0: 2048, 1: 2336, 2: 2352, 3: 2368, 4: 2448}


class _Cursor:
    """Bounded little-endian reader: running off the descriptor is BadImage, never IndexError."""

    def __init__(self, data: bytes, where: str) -> None:
        self.data, self.pos, self.where = data, 0, where

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise BadImage(f"{self.where}: the CDI descriptor ends in the middle of a record; the image is truncated or damaged")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack("<H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]


def _layout(mode: int, size: int, where: str) -> tuple[TrackMode, cd.SectorLayout | None]:
    if mode == 0:
        return TrackMode.AUDIO, None
    if size == 2048:
        return (TrackMode.MODE1 if mode == 1 else TrackMode.MODE2_FORM1), cd.COOKED
    if mode == 1 and size >= cd.RAW_SECTOR_SIZE:
        return TrackMode.MODE1, cd.SectorLayout(cd.SectorKind.MODE1, size)
    if mode == 2 and size == 2336:
        return TrackMode.MODE2_MIXED, cd.MODE2_2336
    if mode == 2 and size >= cd.RAW_SECTOR_SIZE:
        return TrackMode.MODE2_MIXED, cd.SectorLayout(cd.SectorKind.MODE2, size)
    raise UnsupportedImage(f"{where}: CDI track mode {mode} with {size}-byte sectors is not supported")


def _track(cur: _Cursor, version: int) -> tuple[int, int, int, int, int, int]:
    """One track record: (pregap, length, mode, start LBA, total length, sector size)."""
    if cur.u32() != 0:
        cur.take(8)
    for _ in range(2):
        if cur.take(10) != TRACK_MARK:
            raise BadImage(f"{cur.where}: CDI track start mark missing; unknown CDI variant or damaged descriptor")
    cur.take(4)
    cur.take(cur.u8())  # file name
    cur.take(19)
    if cur.u32() == DJ4_MARK:
        cur.take(8)
    cur.take(2)
    pregap, length = cur.u32(), cur.u32()
    cur.take(6)
    mode = cur.u32()
    cur.take(12)
    start_lba, total = struct.unpack("<iI", cur.take(8))  # the start may lie in the lead-in pregap (-150)
    cur.take(16)
    code = cur.u32()
    if code not in SECTOR_SIZES or mode > 2:
        raise UnsupportedImage(f"{cur.where}: CDI track with mode {mode} and sector-size code {code} is not supported")
    cur.take(29)
    if version != V2:
        cur.take(5)
        if cur.u32() == 0xFFFFFFFF:
            cur.take(78)
    return pregap, length, mode, start_lba, total, SECTOR_SIZES[code]


def parse_descriptor(data: bytes, version: int, path: str) -> list[StoredTrack]:
    cur = _Cursor(data, path)
    sessions = cur.u16()
    if not 1 <= sessions <= MAX_TRACKS:
        raise BadImage(f"{path}: the CDI descriptor claims {sessions} sessions")
    stored: list[StoredTrack] = []
    position = 0
    for session in range(1, sessions + 1):
        count = cur.u16()
        if len(stored) + count > MAX_TRACKS:
            raise BadImage(f"{path}: the CDI descriptor lists more than 99 tracks")
        for _ in range(count):
            pregap, length, mode, lba, total, size = _track(cur, version)
            if total < pregap + length:
                raise BadImage(f"{path}: CDI track {len(stored) + 1} stores fewer sectors than its pregap and length")
            track_mode, layout = _layout(mode, size, path)
            track = Track(len(stored) + 1, session, track_mode, lba + pregap, length, size, pregap)
            stored.append(StoredTrack(track, path, position + pregap * size, layout))
            position += total * size
        cur.take(12 if version == V2 else 13)
    return stored


def descriptor_range(f: BinaryIO, size: int) -> tuple[int, int, int] | None:
    """(version, descriptor start, descriptor end) from the 8-byte trailer, or None."""
    if size < 8:
        return None
    f.seek(size - 8)
    version, value = struct.unpack("<II", f.read(8))
    if version not in VERSIONS:
        return None
    start = size - value if version == V35 else value
    if not 0 <= start < size - 8:
        return None
    return version, start, size - 8


def open_image(path: str) -> SectorSource:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            found = descriptor_range(f, size)
            if found is None:
                raise BadImage(f"{path}: no DiscJuggler trailer (version + descriptor offset) at the end; not a CDI image")
            version, start, end = found
            if end - start > MAX_DESCRIPTOR:
                raise BadImage(f"{path}: the CDI descriptor would be {end - start} bytes; the trailer is damaged")
            f.seek(start)
            data = f.read(end - start)
    except OSError as exc:
        raise BadImage(f"{path}: cannot read the CDI image ({exc.strerror})") from exc
    return CdImage(path, NAME, parse_descriptor(data, version, path))


def probe(f: BinaryIO, size: int) -> bool:
    try:
        return descriptor_range(f, size) is not None
    except Exception:
        return False
