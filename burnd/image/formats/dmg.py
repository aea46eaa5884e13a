"""UDIF ``.dmg`` (Apple disk images): a ``koly`` trailer, an XML plist, ``mish`` run tables.

Layout (reference §14, all BE): the last 512 bytes are the ``koly`` trailer giving the data
fork, the XML plist and the disk size in 512-byte sectors. The plist's ``resource-fork → blkx``
entries each carry a ``mish`` table of 40-byte runs (type, sector, sector count, compressed
offset and length); runs are zero-filled, raw, ignored (zeros), zlib or bzip2. ADC, LZFSE and
LZMA runs, encrypted and segmented images are refused with UnsupportedImage. Raw ``.cdr``
files carry no trailer; ``detect`` treats them as plain ISO.

The payload may be HFS+ or APFS rather than ISO 9660/UDF; this module only gives the bytes.
"""

from __future__ import annotations

import plistlib
import struct
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import BinaryIO, overload
from xml.parsers.expat import ExpatError

from burnd.errors import BadImage, UnsupportedImage
from burnd.image.formats import codec
from burnd.image.formats.chunked import (
    ChunkedView,
    SingleTrackImage,
    check_limits,
    file_size,
    guarded_open,
    read_at,
)
from burnd.image.source import PlainSlice, SectorSource

NAME = "dmg"
EXTENSIONS = (".dmg",)

KOLY = struct.Struct(">4sIIIQQQQQII16sII128sQQ120sII128sIQ12x")
MISH = struct.Struct(">4sIQQQII24s136sI")
RUN = struct.Struct(">IIQQQQ")
SECTOR = 512
#: zero and raw runs are served in pieces of 1 MiB
PIECE_SECTORS = 2048

ZERO_FILL, RAW, IGNORE = 0x00000000, 0x00000001, 0x00000002
ADC, ZLIB, BZIP2, LZFSE, LZMA = 0x80000004, 0x80000005, 0x80000006, 0x80000007, 0x80000008
COMMENT, END = 0x7FFFFFFE, 0xFFFFFFFF
UNSUPPORTED = {ADC: "ADC", LZFSE: "LZFSE", LZMA: "LZMA"}
ENCRYPTED = b"encrcdsa"
CONVERT_HINT = "convert it on a Mac with: hdiutil convert X.dmg -format UDZO -o Y.dmg (zlib), or to ISO with -format UDTO"


def probe(f: BinaryIO, size: int) -> bool:
    try:
        if size < KOLY.size:
            return False
        f.seek(0)
        if f.read(len(ENCRYPTED)) == ENCRYPTED:
            return True
        f.seek(size - KOLY.size)
        return f.read(4) == b"koly"
    except (OSError, ValueError):
        return False


def open_image(path: str) -> SectorSource:
    return guarded_open(path, lambda fds: _build(path, fds))


@dataclass(frozen=True, slots=True)
class Run:
    """One stretch of the disk: ``sectors`` 512-byte sectors from disk sector ``sector``."""

    kind: int
    sector: int
    sectors: int
    offset: int
    length: int


def _plist(fd: int, offset: int, length: int, path: str) -> dict:
    if not length:
        raise UnsupportedImage(f"{path}: this UDIF image has no XML plist (an old resource-fork-only image); {CONVERT_HINT}")
    try:
        plist = plistlib.loads(read_at(fd, offset, length, f"{path}: plist"))
    except (plistlib.InvalidFileException, ExpatError, ValueError) as err:
        raise BadImage(f"{path}: the DMG's XML plist is malformed ({err}); the image is corrupt") from None
    if not isinstance(plist, dict):
        raise BadImage(f"{path}: the DMG's plist is not a dictionary; the image is corrupt")
    return plist


def _runs(plist: dict, fork_offset: int, path: str) -> list[Run]:
    try:
        entries = plist["resource-fork"]["blkx"]
        blocks = [entry["Data"] for entry in entries]
    except (KeyError, TypeError):
        raise BadImage(f"{path}: the DMG plist has no resource-fork/blkx partition list; the image is corrupt") from None
    runs = []
    for block in blocks:
        if not isinstance(block, bytes) or len(block) < MISH.size:
            raise BadImage(f"{path}: a blkx entry is not a mish block; the image is corrupt")
        magic, _version, first, _count, data_start, _buffers, _desc, _res, _sum, count = MISH.unpack_from(block)
        if magic != b"mish" or len(block) < MISH.size + count * RUN.size:
            raise BadImage(f"{path}: a blkx entry has a bad mish header or too few runs; the image is corrupt")
        for kind, _comment, sector, sectors, offset, length in RUN.iter_unpack(block[MISH.size : MISH.size + count * RUN.size]):
            if kind in (COMMENT, END):
                continue
            if kind in UNSUPPORTED:
                raise UnsupportedImage(f"{path}: the DMG uses {UNSUPPORTED[kind]} compression, which burnd does not read; {CONVERT_HINT}")
            if kind not in (ZERO_FILL, RAW, IGNORE, ZLIB, BZIP2):
                raise BadImage(f"{path}: unknown DMG run type {kind:#010x}; the image is corrupt or from a newer macOS")
            if sectors:
                runs.append(Run(kind, first + sector, sectors, fork_offset + data_start + offset, length))
    return sorted(runs, key=lambda r: r.sector)


def _covering(runs: list[Run], disk_sectors: int, path: str) -> list[Run]:
    """The runs with zero-fill inserted for gaps, so they tile the disk exactly; the last run
    must end where the trailer says the disk does."""
    tiled: list[Run] = []
    position = 0
    for run in runs:
        if run.sector < position:
            raise BadImage(f"{path}: DMG runs overlap at sector {run.sector}; the image is corrupt")
        if run.sector > position:
            tiled.append(Run(ZERO_FILL, position, run.sector - position, 0, 0))
        tiled.append(run)
        position = run.sector + run.sectors
    if position > disk_sectors:
        raise BadImage(f"{path}: DMG runs reach sector {position} but the disk has {disk_sectors}; the image is corrupt")
    if position < disk_sectors:
        raise BadImage(f"{path}: DMG runs cover {position} sectors but the trailer says the disk has {disk_sectors}; the image is corrupt")
    return tiled


class Pieces(Sequence[int]):
    """The disk cut into chunks for ``ChunkedView``: each compressed run whole, zero and raw
    runs in pieces of at most PIECE_SECTORS — so a run of zeros as large as the disk never
    becomes one chunk. Pieces are computed on access: memory grows with the run count only,
    however large a (possibly lying) header says the disk is."""

    def __init__(self, runs: list[Run]) -> None:
        self.runs = runs
        counts = (-(-r.sectors // PIECE_SECTORS) if r.kind in (ZERO_FILL, IGNORE, RAW) else 1 for r in runs)
        self._first = list(accumulate(counts, initial=0))

    def __len__(self) -> int:
        return self._first[-1]

    def piece(self, index: int) -> Run:
        if not 0 <= index < len(self):
            raise IndexError(index)
        number = bisect_right(self._first, index) - 1
        run = self.runs[number]
        if run.kind not in (ZERO_FILL, IGNORE, RAW):
            return run
        done = (index - self._first[number]) * PIECE_SECTORS
        sectors = min(PIECE_SECTORS, run.sectors - done)
        if run.kind != RAW:
            return Run(run.kind, run.sector + done, sectors, 0, 0)
        skip = done * SECTOR
        return Run(RAW, run.sector + done, sectors, run.offset + skip, max(0, min(sectors * SECTOR, run.length - skip)))

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...
    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self.piece(index).sector * SECTOR


def _plain_slice(runs: list[Run], path: str) -> PlainSlice | None:
    """The data as one byte range when every run is raw and they follow each other on disk."""
    if not runs or any(r.kind != RAW or r.length != r.sectors * SECTOR for r in runs):
        return None
    if any(b.offset != a.offset + a.length for a, b in zip(runs, runs[1:])):
        return None
    return PlainSlice(path, runs[0].offset, sum(r.length for r in runs))


def _build(path: str, fds: list[int]) -> SectorSource:
    fd = fds[0]
    size = file_size(fd)
    if size < KOLY.size:
        raise BadImage(f"{path}: too short for a UDIF trailer")
    if read_at(fd, 0, len(ENCRYPTED), path) == ENCRYPTED:
        raise UnsupportedImage(f"{path}: the DMG is encrypted; burnd does not decrypt DMG — on a Mac: hdiutil convert X.dmg -format UDTO -o X (asks for the password)")
    koly = KOLY.unpack(read_at(fd, size - KOLY.size, KOLY.size, path))
    magic, _version, _hsize, _flags, _running, fork_offset, fork_length = koly[:7]
    segment_count, xml_offset, xml_length, disk_sectors = koly[10], koly[15], koly[16], koly[22]
    if magic != b"koly":
        raise BadImage(f"{path}: not a UDIF image (no koly trailer)")
    if segment_count > 1:
        raise UnsupportedImage(f"{path}: segmented DMG (.dmgpart) images are not supported; {CONVERT_HINT}")
    if fork_offset + fork_length > size:
        raise BadImage(f"{path}: the data fork runs past the end of the file; the image is truncated")
    total = disk_sectors * SECTOR
    whole = _covering(_runs(_plist(fd, xml_offset, xml_length, path), fork_offset, path), disk_sectors, path)
    largest = max((r.sectors for r in whole if r.kind in (ZLIB, BZIP2)), default=PIECE_SECTORS)
    runs = Pieces(whole)
    check_limits(path, largest * SECTOR, len(runs))

    def decode(i: int, length: int) -> bytes:
        run = runs.piece(i)
        what = f"{path}: run {i} (sector {run.sector})"
        if run.kind in (ZERO_FILL, IGNORE):
            return bytes(length)
        if run.offset + run.length > size:
            raise BadImage(f"{what} lies past the end of the file; the image is truncated")
        data = read_at(fd, run.offset, run.length, what)
        if run.kind == RAW:
            if len(data) < length:
                raise BadImage(f"{what} is raw with {len(data)} of {length} bytes; the image is corrupt")
            return data[:length]
        if run.kind == ZLIB:
            return codec.inflate(data, length, what)
        return codec.bunzip2(data, length, what)

    view = ChunkedView(runs, total, decode, path)
    return SingleTrackImage(path, NAME, view, fds, _plain_slice(whole, path))
