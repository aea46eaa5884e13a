"""DAA (PowerISO) and GBI (gBurner), format versions 1 and 2, single or split into volumes.

Layout (reference §11, checked against daa2iso 0.1.7e, whose reading we follow): a 76-byte LE
header with a CRC32 over its first 72 bytes; descriptors (type, length including their own 8
bytes) up to the chunk table; the chunk table up to the data offset; then the chunks back to
back, each decoding to ``chunk_size`` bytes (the last to the rest of the ISO).

- Version 1 (0x100): 3-byte entries (byte 0 = bits 16–23 of the stored length, bytes 1–2 the
  low 16 bits LE); every chunk is bare deflate.
- Version 2 (0x110): the chunk-size field is ``(size >> 14) & 0xFFF`` plus flag bits; the
  table is bit-packed LSB-first, per chunk a length (stored value + 5) then a type (0 LZMA
  with the header's 5 property bytes and optional x86 BCJ filter, 1 deflate); a length of at
  least the chunk size means stored. Flags may XOR-obfuscate the table bytes (0x8000000) and
  the read values (0x20000).
- GBI: the table bytes are additionally obfuscated with the low byte of the header CRC.

Split images (a split descriptor in the main file) continue the chunk data in ``DAA VOL``
volumes, each with a 40-byte header giving its own data offset; a chunk may straddle two.

Refused with UnsupportedImage: password-protected images, a compressed
version-2 chunk table (flag 0x4000; daa2iso's own support for it is untested) and the
"bit swap" deflate variant (bits 23–24 of the chunk-size field, inverted for GBI).
"""

from __future__ import annotations

import lzma
import struct
import zlib
from dataclasses import dataclass
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
from burnd.image.source import SectorSource

NAME = "daa"
EXTENSIONS = (".daa", ".gbi")

HEADER = struct.Struct("<16sIIIIIIQQ16sI")  # 76 bytes
DESCRIPTOR = struct.Struct("<II")
VOLUME_HEADER = struct.Struct("<16sI16sI")  # signature, data offset, v2 extra header, CRC32
MAX_VOLUMES = 512
VERSION1, VERSION2 = 0x100, 0x110
DESCRIPTOR_SPLIT, DESCRIPTOR_ENCRYPTION = 2, 3
SIGNATURES = {b"DAA": "DAA", b"GBI": "GBI", b"DAA VOL": "DAA volume", b"GBI VOL": "GBI volume"}
CONVERT_HINT = "convert it to ISO with PowerISO (poweriso convert X.daa -o X.iso)"

# Version 2 flags in the chunk-size field.
TABLE_COMPRESSED, VALUES_OBFUSCATED, TABLE_OBFUSCATED = 0x4000, 0x20000, 0x8000000
LZMA_PROPS_SIZE = 5
VALUE_MASKS = bytes((0x0A, 0x35, 0x2D, 0x3F, 0x08, 0x33, 0x09, 0x15))
STORED, LZMA, DEFLATE = -1, 0, 1


def _signature(raw: bytes) -> str | None:
    name, _, padding = raw.partition(b"\0")
    return SIGNATURES.get(name) if not padding.strip(b"\0") else None


def probe(f: BinaryIO, size: int) -> bool:
    try:
        f.seek(0)
        head = f.read(HEADER.size)
        return len(head) == HEADER.size and _signature(head[:16]) is not None
    except (OSError, ValueError):
        return False


def open_image(path: str) -> SectorSource:
    return guarded_open(path, lambda fds: _build(path, fds))


def _descriptors(fd: int, start: int, end: int, path: str) -> tuple[int, int]:
    """Walk the descriptors between header and chunk table: (number of volumes, number of
    5-byte size fields in the split descriptor, which says how volumes are named). Refuses
    password-protected images."""
    position, volumes, fields = start, 1, 0
    while position < end:
        kind, length = DESCRIPTOR.unpack(read_at(fd, position, DESCRIPTOR.size, f"{path}: descriptor"))
        if length < DESCRIPTOR.size:
            raise BadImage(f"{path}: descriptor at byte {position} has length {length}; the image is corrupt")
        if kind == DESCRIPTOR_ENCRYPTION:
            raise UnsupportedImage(f"{path}: the DAA image is password-protected; burnd does not decrypt DAA — {CONVERT_HINT} with the password")
        if kind == DESCRIPTOR_SPLIT:
            volumes = struct.unpack("<I", read_at(fd, position + DESCRIPTOR.size, 4, f"{path}: split descriptor"))[0]
            fields = (length - DESCRIPTOR.size - 8) // 5
        position += length
    return volumes, fields


def volume_path(path: str, index: int, fields: int) -> str:
    """The name of volume ``index`` (0 = the main file) of a split image: ``x.part01.daa`` →
    ``x.part02.daa`` (99 size fields), ``x.part001.daa`` → ``x.part002.daa`` (512), ``x.daa``
    → ``x.d00`` (101)."""
    if index == 0:
        return path
    if fields in (99, 512):
        digits = 2 if fields == 99 else 3
        marker = "0" * (digits - 1) + "1."
        cut = path.rfind(marker)
        if cut < 0:
            raise BadImage(f"{path}: a split DAA's first volume must be named *.part{marker}daa; rename it back")
        return f"{path[:cut]}{index + 1:0{digits}d}.{path[cut + len(marker):]}"
    if fields == 101:
        return f"{path[:-2]}{index - 1:02d}"
    raise BadImage(f"{path}: the split descriptor has {fields} size fields, which names no known volume scheme; the image is corrupt")


def _volume_extents(path: str, fds: list[int], volumes: int, fields: int, data_offset: int) -> list[Extent]:
    """The chunk data as one stream over the main file and its ``DAA VOL`` volumes."""
    if not 1 <= volumes <= MAX_VOLUMES:
        raise BadImage(f"{path}: the split descriptor claims {volumes} volumes; the image is corrupt")
    extents, logical = [], 0
    for index in range(volumes):
        if index:
            name = volume_path(path, index, fields)
            fds.append(open_fd(name))
            header = read_at(fds[-1], 0, VOLUME_HEADER.size, name)
            signature, offset, _extra, crc = VOLUME_HEADER.unpack(header)
            if _signature(signature) not in ("DAA volume", "GBI volume") or zlib.crc32(header[:-4]) != crc:
                raise BadImage(f"{name}: not a valid volume of {path} (bad DAA VOL header); the set is mixed up or damaged")
            offset &= 0xFFFFFF
        else:
            offset = data_offset
        length = max(0, file_size(fds[-1]) - offset)
        extents.append(Extent(fds[-1], offset, logical, length))
        logical += length
    return extents


def unobfuscate_gbi(table: bytes, crc: int) -> bytes:
    key = (len(table) >> 2) & 0xFF
    return bytes(((b - crc) & 0xFF) ^ key for b in table)


def unobfuscate_table(table: bytes, iso_size: int) -> bytes:
    """PowerISO's version-2 table obfuscation: subtract a byte sequence seeded by the size."""
    sectors = iso_size // 2048
    step, value = (sectors >> 8) & 0xFF, sectors & 0xFF
    out = bytearray(len(table))
    for i, b in enumerate(table):
        out[i] = (b - value) & 0xFF
        value = (value + step) & 0xFF
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Table:
    """Per chunk: stored length in the file and codec (STORED, LZMA or DEFLATE)."""

    lengths: list[int]
    types: list[int]


def _table_v1(table: bytes) -> Table:
    lengths = [table[i] << 16 | table[i + 1] | table[i + 2] << 8 for i in range(0, len(table) - 2, 3)]
    return Table(lengths, [DEFLATE] * len(lengths))


def _bit_widths(settings: int, chunk_size: int) -> tuple[int, int]:
    """(length bits, type bits) from the v2 header byte; a zero length width is derived from
    the chunk size the way PowerISO does."""
    type_bits = settings & 7
    length_bits = settings >> 3
    if length_bits:
        return length_bits + 10, type_bits
    value = chunk_size
    while value > type_bits:
        length_bits += 1
        value >>= 1
    return length_bits, type_bits


def _table_v2(table: bytes, length_bits: int, type_bits: int, chunk_size: int, obfuscated_values: bool) -> Table:
    entry_bits = length_bits + type_bits
    lengths, types = [], []
    padded = table + bytes(5)
    position = 0
    for index in range(len(table) * 8 // entry_bits):
        values = []
        for bits in (length_bits, type_bits):
            value = int.from_bytes(padded[position >> 3 : (position >> 3) + 5], "little") >> (position & 7)
            if obfuscated_values:
                value ^= ((index ^ VALUE_MASKS[index & 7]) & 0xFF) * 0x01010101
            values.append(value & ((1 << bits) - 1))
            position += bits
        length = values[0] + LZMA_PROPS_SIZE
        lengths.append(length)
        types.append(STORED if length >= chunk_size else values[1])
    return Table(lengths, types)


def _build(path: str, fds: list[int]) -> SectorSource:
    fd = fds[0]
    raw = read_at(fd, 0, HEADER.size, path)
    (signature, table_offset, version, data_offset, _one, _zero, size_field, iso_size, _daa_size, extra, crc) = HEADER.unpack(raw)
    kind = _signature(signature)
    if kind is None:
        raise BadImage(f"{path}: not a DAA image (no DAA/GBI signature)")
    if kind.endswith("volume"):
        raise BadImage(f"{path}: this is a later volume of a split {kind[:3]} image; open the first volume (*.part01.daa, *.part001.daa or *.daa)")
    if zlib.crc32(raw[:72]) != crc:
        raise BadImage(f"{path}: the DAA header checksum does not match; the header is corrupt (re-create or re-download the image)")
    if version == VERSION1:
        chunk_size = size_field
    elif version == VERSION2:
        data_offset &= 0xFFFFFF
        chunk_size = (size_field & 0xFFF) << 14
        if size_field & TABLE_COMPRESSED:
            raise UnsupportedImage(f"{path}: this DAA has a compressed chunk table, which burnd does not read; {CONVERT_HINT}")
        if (size_field >> 23) & 3 != (1 if kind == "GBI" else 0):
            raise UnsupportedImage(f"{path}: this {kind} uses bit-swapped deflate, which burnd does not read; {CONVERT_HINT}")
    else:
        raise BadImage(f"{path}: unknown DAA format version {version:#x}; the header is corrupt")
    if not HEADER.size <= table_offset <= data_offset:
        raise BadImage(f"{path}: chunk table at {table_offset} and data at {data_offset} are out of order; the header is corrupt")
    volumes, fields = _descriptors(fd, HEADER.size, table_offset, path)
    chunks = -(-iso_size // chunk_size) if chunk_size else 0
    check_limits(path, chunk_size, chunks)
    table = read_at(fd, table_offset, data_offset - table_offset, f"{path}: chunk table")
    if kind == "GBI":
        table = unobfuscate_gbi(table, crc & 0xFF)
    filters: list[dict] = []
    if version == VERSION1:
        parsed = _table_v1(table)
    else:
        if size_field & TABLE_OBFUSCATED:
            table = unobfuscate_table(table, iso_size)
        length_bits, type_bits = _bit_widths(extra[5], chunk_size)
        if not 0 < length_bits <= 32:
            raise BadImage(f"{path}: chunk table entries of {length_bits} bits; the header is corrupt")
        parsed = _table_v2(table, length_bits, type_bits, chunk_size, bool(size_field & VALUES_OBFUSCATED))
        filters = ([{"id": lzma.FILTER_X86}] if extra[6] else []) + [codec.lzma_props(extra[7:12])]
    if len(parsed.lengths) < chunks:
        raise BadImage(f"{path}: the chunk table lists {len(parsed.lengths)} chunks, the image needs {chunks}; the header is corrupt")
    starts = list(accumulate(parsed.lengths[:chunks], initial=0))
    stream = SpannedReader(_volume_extents(path, fds, volumes, fields, data_offset), path)

    def decode(i: int, length: int) -> bytes:
        what = f"{path}: chunk {i}"
        data = stream.read(starts[i], parsed.lengths[i])
        codec_type = parsed.types[i]
        if codec_type == STORED:
            return data[:length]
        if codec_type == DEFLATE:
            return codec.inflate(data, length, what, codec.RAW_DEFLATE)
        if codec_type == LZMA:
            return codec.unlzma(data, length, what, filters)
        raise BadImage(f"{what} has unknown compression type {codec_type}; the image is corrupt")

    view = ChunkedView(range(0, iso_size, chunk_size), iso_size, decode, path)
    return SingleTrackImage(path, NAME, view, fds)
