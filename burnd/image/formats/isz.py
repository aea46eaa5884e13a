"""ISZ: UltraISO's compressed ISO, optionally split into ``.isz``, ``.i01``, ``.i02`` … parts.

Layout (reference §10, with libmirage's corrections to the vendor spec): a 48- or 64-byte LE
header; a chunk table of ``ptr_len``-byte entries whose top two bits give the chunk type
(zero-filled, stored, zlib, bzip2 with its ``BZh`` magic blanked) and the rest its stored
length; an optional segment table for split images. Both tables are XOR-obfuscated with the
bitwise complement of ``IsZ!``. Chunks follow one another as one logical stream that runs on
across the part files, so a chunk may straddle two parts.
"""

from __future__ import annotations

import struct
import zlib
from itertools import accumulate
from typing import BinaryIO

from burnd.errors import BadImage, UnsupportedImage
from burnd.image.formats import codec
from burnd.image.formats.chunked import (
    ChunkedView,
    Extent,
    SingleTrackImage,
    SpannedReader,
    check_limits,
    file_size,
    guarded_open,
    open_fd,
    read_at,
)
from burnd.image.source import USER_DATA_SIZE, PlainSlice, SectorSource

NAME = "isz"
EXTENSIONS = (".isz",)

MAGIC = b"IsZ!"
HEADER = struct.Struct("<4sBBIHIBQIIBBIIIB")  # 48 bytes
CHECKSUMS = struct.Struct("<IIII")  # the 64-byte header's extra fields
SEGMENT = struct.Struct("<QIIII")  # size, chunk count, first chunk, chunk offset, bytes spilled
KEY = bytes(~b & 0xFF for b in MAGIC)

ZERO, STORED, ZLIB, BZIP2 = range(4)
#: parts are named .i01 … .i99
MAX_SEGMENTS = 100


def deobfuscate(data: bytes) -> bytes:
    """XOR with the repeating complement of ``IsZ!`` (its own inverse, so writers use it too)."""
    key = (KEY * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(len(data), "little")


def part_path(path: str, index: int) -> str:
    """``name.isz`` → ``name.i01`` for part 1: the last two characters become the number."""
    return path if index == 0 else f"{path[:-2]}{index:02d}"


def probe(f: BinaryIO, size: int) -> bool:
    try:
        f.seek(0)
        head = f.read(HEADER.size)
        return len(head) == HEADER.size and head[:4] == MAGIC and head[5] <= 1
    except (OSError, ValueError):
        return False


def open_image(path: str) -> SectorSource:
    return guarded_open(path, lambda fds: _build(path, fds))


def _chunk_table(fd: int, count: int, ptr_len: int, offset: int, path: str) -> tuple[list[int], list[int]]:
    table = deobfuscate(read_at(fd, offset, count * ptr_len, f"{path}: chunk table"))
    bits = ptr_len * 8 - 2
    types, lengths = [], []
    for i in range(0, len(table), ptr_len):
        entry = int.from_bytes(table[i : i + ptr_len], "little")
        types.append(entry >> bits)
        lengths.append(entry & ((1 << bits) - 1))
    return types, lengths


Segment = tuple[int, int, int, int, int]  # size, chunk count, first chunk, chunk offset, spill


def _segments(fd: int, offset: int, path: str) -> list[Segment]:
    segments = []
    for index in range(MAX_SEGMENTS + 1):
        entry = SEGMENT.unpack(deobfuscate(read_at(fd, offset + index * SEGMENT.size, SEGMENT.size, f"{path}: segment table")))
        if entry[0] == 0:
            return segments
        segments.append(entry)
    raise BadImage(f"{path}: the segment table has no end marker within {MAX_SEGMENTS} entries; the image is corrupt")


def _extents(path: str, fds: list[int], segments: list[Segment], starts: list[int], data_offset: int) -> list[Extent]:
    """One extent per part file, so the chunks form one logical stream across the parts."""
    if not segments:
        return [Extent(fds[0], data_offset, 0, max(0, file_size(fds[0]) - data_offset))]
    extents: list[Extent] = []
    spill = 0
    for index, (_size, _count, first, chunk_offset, left) in enumerate(segments):
        if index:
            fds.append(open_fd(part_path(path, index)))
        if first > len(starts) - 1 or chunk_offset < spill:
            raise BadImage(f"{path}: segment {index} of the segment table is inconsistent; the image is corrupt")
        logical = starts[first] - spill
        if extents and logical < extents[-1].logical:
            raise BadImage(f"{path}: segment {index} starts before segment {index - 1}; the segment table is corrupt")
        extents.append(Extent(fds[index], chunk_offset - spill, logical, 0))
        spill = left
    sized = []
    for current, following in zip(extents, extents[1:] + [None]):
        length = following.logical - current.logical if following else file_size(current.fd) - current.offset
        sized.append(Extent(current.fd, current.offset, current.logical, max(0, length)))
    return sized


def _build(path: str, fds: list[int]) -> SectorSource:
    fd = fds[0]
    fields = HEADER.unpack(read_at(fd, 0, HEADER.size, path))
    (magic, header_size, version, _serial, sector_size, total_sectors, encryption, _segment_size,
     chunks, chunk_size, ptr_len, segment_number, table_offset, segment_offset, data_offset, _) = fields
    if magic != MAGIC:
        raise BadImage(f"{path}: not an ISZ image (no IsZ! signature)")
    if segment_number:
        raise BadImage(f"{path}: this is part {segment_number} of a split ISZ image; open the first part (the .isz file) instead")
    if version > 1:
        raise UnsupportedImage(f"{path}: ISZ version {version} is not supported (only version 1); convert it to ISO with UltraISO")
    if encryption:
        raise UnsupportedImage(
            f"{path}: the ISZ image is encrypted (method {encryption}); burnd does not decrypt ISZ — "
            "decrypt it with UltraISO first (Tools → Compress ISO without a password) or convert it to ISO"
        )
    if sector_size == 0 or chunk_size % sector_size or sector_size % 512:
        raise BadImage(f"{path}: sector size {sector_size} / chunk size {chunk_size} are inconsistent; the header is corrupt")
    total = total_sectors * sector_size
    check_limits(path, chunk_size, chunks)
    if chunks != -(-total // chunk_size):
        raise BadImage(f"{path}: the header lists {chunks} chunks but {total} bytes need {-(-total // chunk_size)}; the header is corrupt")
    if not 1 <= ptr_len <= 4:
        raise UnsupportedImage(f"{path}: ISZ chunk pointers of {ptr_len} bytes are not supported (1..4); convert it to ISO with UltraISO")
    if table_offset:
        types, lengths = _chunk_table(fd, chunks, ptr_len, table_offset, path)
    elif total > file_size(fd) * (MAX_SEGMENTS if segment_offset else 1):
        raise BadImage(f"{path}: an ISZ without a chunk table stores {total} bytes, more than the file holds; it is truncated")
    else:
        types, lengths = [STORED] * chunks, [min(chunk_size, total - i * chunk_size) for i in range(chunks)]
    starts = list(accumulate(lengths, initial=0))
    segments = _segments(fd, segment_offset, path) if segment_offset else []
    stream = SpannedReader(_extents(path, fds, segments, starts, data_offset), path)

    def decode(i: int, length: int) -> bytes:
        what = f"{path}: chunk {i}"
        if types[i] == ZERO:
            return bytes(length)
        data = stream.read(starts[i], lengths[i])
        if types[i] == STORED:
            if len(data) != length:
                raise BadImage(f"{what} is stored with {len(data)} bytes, expected {length}; the image is corrupt")
            return data
        if types[i] == ZLIB:
            return codec.inflate(data, length, what)
        return codec.bunzip2(b"BZh" + data[3:], length, what)

    view = ChunkedView(range(0, total, chunk_size), total, decode, path)
    stored = not segments and all(t == STORED for t in types) and starts[-1] == total
    plain = PlainSlice(path, data_offset, total) if stored and data_offset + total <= file_size(fd) else None
    return IszImage(path, view, fds, _data_crc(fd, header_size, path), plain)


def _data_crc(fd: int, header_size: int, path: str) -> int | None:
    """The 64-byte header's CRC32 of the uncompressed data (stored inverted), or None."""
    if header_size < HEADER.size + CHECKSUMS.size:
        return None
    stored, _size, _unknown, _compressed = CHECKSUMS.unpack(read_at(fd, HEADER.size, CHECKSUMS.size, path))
    return ~stored & 0xFFFFFFFF


class IszImage(SingleTrackImage):
    """An opened ISZ image; ``data_crc`` is the header's CRC32 of the uncompressed data, if any."""

    def __init__(self, path: str, view: ChunkedView, fds: list[int], data_crc: int | None, plain: PlainSlice | None) -> None:
        super().__init__(path, NAME, view, fds, plain)
        self._chunks = view
        self.data_crc = data_crc

    def verify(self, batch_sectors: int = 512) -> bool | None:
        """Check the whole image against the header CRC: True/False, or None when the header
        (the 48-byte form) carries none. Decompresses every chunk once, in bounded memory."""
        if self.data_crc is None:
            return None
        view = self._chunks
        crc = 0
        buffer = bytearray(batch_sectors * USER_DATA_SIZE)
        remaining = view.size
        for first in range(0, view.sectors, batch_sectors):
            count = min(batch_sectors, view.sectors - first)
            chunk = memoryview(buffer)[: count * USER_DATA_SIZE]
            view.readinto(first, chunk)
            crc = zlib.crc32(chunk[: min(len(chunk), remaining)], crc)
            remaining -= len(chunk)
        return crc == self.data_crc
