"""CSO (CISO, v1 and v2) and ZSO: block-compressed ISOs from the PSP scene.

A 24-byte header, then one u32 per block plus one, whose low 31 bits shifted by ``index_shift``
give each block's file offset (a block ends where the next begins, padding allowed). v1: the
high bit marks a stored block, otherwise bare deflate. ZSO: the same with LZ4 blocks. v2: a
block as long as the block size is stored, otherwise the high bit picks LZ4 over deflate.
"""

from __future__ import annotations

import struct
import sys
from array import array
from typing import BinaryIO

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

NAME = "cso"
EXTENSIONS = (".cso", ".ciso", ".zso")

HEADER = struct.Struct("<4sIQIBB2x")
MAGICS = (b"CISO", b"ZISO")
HIGH_BIT = 0x80000000


def probe(f: BinaryIO, size: int) -> bool:
    try:
        f.seek(0)
        head = f.read(HEADER.size)
        if len(head) != HEADER.size:
            return False
        magic, _, total, block, version, _ = HEADER.unpack(head)
        return magic in MAGICS and block > 0 and version <= 2
    except (OSError, ValueError):
        return False


def open_image(path: str) -> SectorSource:
    return guarded_open(path, lambda fds: _build(path, fds))


def _index(fd: int, blocks: int, what: str) -> array:
    entries = array("I")
    entries.frombytes(read_at(fd, HEADER.size, (blocks + 1) * 4, f"{what} block index"))
    if sys.byteorder == "big":
        entries.byteswap()
    return entries


def _build(path: str, fds: list[int]) -> SectorSource:
    fd = fds[0]
    magic, _header_size, total, block, version, shift = HEADER.unpack(read_at(fd, 0, HEADER.size, path))
    if magic not in MAGICS:
        raise BadImage(f"{path}: not a CSO/ZSO image (no CISO/ZISO signature)")
    zso = magic == b"ZISO"
    if version > 2 or (zso and version > 1):
        raise UnsupportedImage(f"{path}: {magic.decode()} version {version} is not supported (only CSO v1/v2 and ZSO v1); convert it to ISO with maxcso")
    blocks = -(-total // block) if block else 0
    check_limits(path, block, blocks)
    index = _index(fd, blocks, path)
    limit = file_size(fd)
    if ((index[blocks] & ~HIGH_BIT) << shift) > limit:
        raise BadImage(f"{path}: the block index points past the end of the file ({limit} bytes); the image is truncated")

    def decode(i: int, length: int) -> bytes:
        start = (index[i] & ~HIGH_BIT) << shift
        end = (index[i + 1] & ~HIGH_BIT) << shift
        what = f"{path}: block {i}"
        if end < start or end > limit:
            raise BadImage(f"{what} spans bytes {start}..{end} of a {limit}-byte file; the block index is corrupt")
        data = read_at(fd, start, end - start, what)
        flagged = bool(index[i] & HIGH_BIT)
        if version == 2 and not zso:
            stored, lz4 = end - start >= block, flagged
        else:
            stored, lz4 = flagged, zso
        if stored:
            if len(data) < length:
                raise BadImage(f"{what} is stored uncompressed but holds {len(data)} of {length} bytes; the image is corrupt")
            return data[:length]
        if lz4:
            return codec.lz4_block(data, length, what)
        return codec.inflate(data, length, what, codec.RAW_DEFLATE)

    view = ChunkedView(range(0, total, block), total, decode, path)
    return SingleTrackImage(path, NAME, view, fds, _plain_slice(path, index, shift, block, total, version == 2 and not zso))


def _plain_slice(path: str, index: array, shift: int, block: int, total: int, v2: bool) -> PlainSlice | None:
    """The data as one byte range when every block is stored and they follow each other with
    no padding (a CSO made with compression off). Stops at the first compressed block."""
    blocks = len(index) - 1
    if blocks < 1:
        return None
    for i in range(blocks):
        span = ((index[i + 1] & ~HIGH_BIT) - (index[i] & ~HIGH_BIT)) << shift
        last = i == blocks - 1
        if v2:
            stored = span >= block and (last or span == block)
        else:
            stored = bool(index[i] & HIGH_BIT) and (span >= total - i * block if last else span == block)
        if not stored:
            return None
    return PlainSlice(path, (index[0] & ~HIGH_BIT) << shift, total)
