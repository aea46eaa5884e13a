"""Pure parsers for ISO 9660 on-disc structures: volume descriptors, directory records, dates.

Everything here takes bytes and returns plain values, raising ``BadImage`` for anything that
cannot be decoded, so the tree walker can stay about I/O and policy. Both-endian fields are read
from their little-endian half only: some mastering tools write a wrong big-endian copy
(reference §3.11), and the LE half is what every real reader uses.
"""

from __future__ import annotations

import calendar
import struct
from dataclasses import dataclass

from burnd.errors import BadImage

SECTOR = 2048
VD_START = 16
MAGIC = b"CD001"

VD_BOOT = 0
VD_PRIMARY = 1
VD_SUPPLEMENTARY = 2
VD_PARTITION = 3
VD_TERMINATOR = 255

FLAG_HIDDEN = 0x01
FLAG_DIRECTORY = 0x02
FLAG_ASSOCIATED = 0x04
FLAG_MULTI_EXTENT = 0x80

JOLIET_ESCAPES = {b"%/@": 1, b"%/C": 2, b"%/E": 3}


def u16le(data: bytes, offset: int) -> int:
    return struct.unpack_from("<H", data, offset)[0]


def u32le(data: bytes, offset: int) -> int:
    return struct.unpack_from("<I", data, offset)[0]


def text(field: bytes, ucs2: bool = False) -> str:
    """An identifier field with its padding (spaces or NULs) removed."""
    if ucs2:
        value = field[: len(field) // 2 * 2].decode("utf-16-be", errors="replace")
    else:
        value = field.decode("latin-1")
    return value.rstrip(" \x00")


def volume_date(field: bytes) -> float | None:
    """A 17-byte ``YYYYMMDDHHMMSScc`` + GMT-offset date as a UTC timestamp; None when unset or
    undecodable (all-zero dates are common and not an error)."""
    digits = field[:16]
    if not digits.isdigit() or digits == b"0" * 16:
        return None
    try:
        year, month, day = int(digits[0:4]), int(digits[4:6]), int(digits[6:8])
        hour, minute, second = int(digits[8:10]), int(digits[10:12]), int(digits[12:14])
        if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
            return None
        stamp = calendar.timegm((year, month, day, hour, minute, min(second, 59), 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    return stamp + int(digits[14:16]) / 100 - _gmt_offset(field[16]) * 900


def record_date(field: bytes) -> float | None:
    """A 7-byte directory-record date as a UTC timestamp, clamped to sane values."""
    if len(field) < 7 or not any(field[:6]):
        return None
    year, month, day, hour, minute, second = field[:6]
    month, day = min(max(month, 1), 12), min(max(day, 1), 31)
    try:
        stamp = calendar.timegm((1900 + year, month, day, min(hour, 23), min(minute, 59), min(second, 59), 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    return float(stamp - _gmt_offset(field[6]) * 900)


def _gmt_offset(raw: int) -> int:
    """Signed 15-minute units, clamped to the legal −48…+52 (out-of-range values are noise)."""
    value = raw - 256 if raw > 127 else raw
    return value if -48 <= value <= 52 else 0


@dataclass(frozen=True, slots=True)
class VolumeDescriptor:
    """The fields of a PVD/SVD/EVD that burnd shows or needs to walk the tree."""

    kind: int
    version: int
    file_structure_version: int
    joliet_level: int
    system_id: str
    volume_id: str
    volume_set_id: str
    publisher_id: str
    preparer_id: str
    application_id: str
    space_size: int
    block_size: int
    path_table_size: int
    path_table_lba: int
    root: bytes
    created: float | None
    modified: float | None

    @property
    def is_joliet(self) -> bool:
        return self.kind == VD_SUPPLEMENTARY and self.joliet_level > 0

    @property
    def is_enhanced(self) -> bool:
        """ISO 9660:1999 Enhanced Volume Descriptor."""
        return self.kind == VD_SUPPLEMENTARY and self.version == 2


def parse_volume_descriptor(sector: bytes) -> VolumeDescriptor:
    """Decode a primary/supplementary/enhanced descriptor sector (type 1 or 2)."""
    if len(sector) < SECTOR or sector[1:6] != MAGIC:
        raise BadImage("volume descriptor is truncated or lacks the CD001 signature")
    kind = sector[0]
    joliet = JOLIET_ESCAPES.get(bytes(sector[88:91]), 0) if kind == VD_SUPPLEMENTARY else 0
    ucs2 = joliet > 0
    block_size = u16le(sector, 128)
    if block_size not in (512, 1024, 2048):
        raise BadImage(f"logical block size {block_size} is not 512, 1024 or 2048; the volume descriptor is corrupt")
    return VolumeDescriptor(
        kind=kind,
        version=sector[6],
        file_structure_version=sector[881],
        joliet_level=joliet,
        system_id=text(sector[8:40], ucs2),
        volume_id=text(sector[40:72], ucs2),
        volume_set_id=text(sector[190:318], ucs2),
        publisher_id=text(sector[318:446], ucs2),
        preparer_id=text(sector[446:574], ucs2),
        application_id=text(sector[574:702], ucs2),
        space_size=u32le(sector, 80),
        block_size=block_size,
        path_table_size=u32le(sector, 132),
        path_table_lba=u32le(sector, 140),
        root=bytes(sector[156:190]),
        created=volume_date(sector[813:830]),
        modified=volume_date(sector[830:847]),
    )


@dataclass(frozen=True, slots=True)
class DirRecord:
    """One directory record, decoded. ``name`` is raw bytes (d-chars or UCS-2BE)."""

    length: int
    xar_blocks: int
    extent: int
    size: int
    date: float | None
    flags: int
    unit_size: int
    gap_size: int
    name: bytes
    system_use: bytes

    @property
    def is_dir(self) -> bool:
        return bool(self.flags & FLAG_DIRECTORY)

    @property
    def is_self_or_parent(self) -> bool:
        return self.name in (b"\x00", b"\x01")


def parse_dir_record(data: bytes, offset: int) -> DirRecord:
    """Decode the record at ``offset``; the caller has checked that its length byte is nonzero."""
    length = data[offset]
    if length < 34 or offset + length > len(data):
        raise BadImage(f"directory record at byte {offset} has an impossible length {length}")
    name_len = data[offset + 32]
    name_end = offset + 33 + name_len
    if name_end > offset + length:
        raise BadImage(f"directory record at byte {offset} has a name longer than the record")
    su_start = name_end + (1 - name_len % 2)
    return DirRecord(
        length=length,
        xar_blocks=data[offset + 1],
        extent=u32le(data, offset + 2),
        size=u32le(data, offset + 10),
        date=record_date(data[offset + 18 : offset + 25]),
        flags=data[offset + 25],
        unit_size=data[offset + 26],
        gap_size=data[offset + 27],
        name=bytes(data[offset + 33 : name_end]),
        system_use=bytes(data[min(su_start, offset + length) : offset + length]),
    )


def iter_dir_records(data: bytes, block_size: int):
    """Yield the records of a directory extent. Records never cross a block: a zero length
    byte, or fewer than 34 bytes left, means "continue at the next block"."""
    offset = 0
    end = len(data)
    while offset < end:
        block_end = (offset // block_size + 1) * block_size
        if block_end - offset < 34 or data[offset] == 0:
            offset = block_end
            continue
        record = parse_dir_record(data[: min(block_end, end)], offset)
        yield record
        offset += record.length


def iso_name(raw: bytes, joliet: bool) -> tuple[str, int]:
    """A primary/Joliet identifier as (name without version, version number)."""
    name = text(raw, ucs2=True) if joliet else raw.decode("latin-1")
    version = 1
    if ";" in name:
        name, _, suffix = name.rpartition(";")
        version = int(suffix) if suffix.isdigit() and len(suffix) < 6 else 1
    if not joliet and name.endswith(".") and name != ".":
        name = name[:-1]
    return name, version
