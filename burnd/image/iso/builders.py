"""Pure byte builders for a new image: dates, directory records, SUSP/Rock Ridge entries,
path table records, volume descriptors and the El Torito boot catalog (reference §3.2–3.6)."""

from __future__ import annotations

import struct
import time

from burnd.image.iso.records import SECTOR

RRIP_ID = b"RRIP_1991A"
RRIP_DESCRIPTOR = b"THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS"
RRIP_SOURCE = b"PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION."
CE_LENGTH = 28
MAX_RECORD = 255


def both16(value: int) -> bytes:
    return struct.pack("<H", value) + struct.pack(">H", value)


def both32(value: int) -> bytes:
    return struct.pack("<I", value) + struct.pack(">I", value)


def record_date(stamp: float) -> bytes:
    """7-byte directory-record date in UTC, clamped to the representable 1900–2155."""
    tm = time.gmtime(min(max(stamp, -2208988800), 5900000000))
    year = min(max(tm.tm_year - 1900, 0), 255)
    return bytes((year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, 0))


def volume_date(stamp: float | None) -> bytes:
    """17-byte descriptor date in UTC; None gives the "not specified" form."""
    if stamp is None:
        return b"0" * 16 + b"\x00"
    tm = time.gmtime(min(max(stamp, 0), 253402300799))
    return time.strftime("%Y%m%d%H%M%S", tm).encode("ascii") + b"00\x00"


def dir_record(identifier: bytes, extent: int, size: int, stamp: float, flags: int, system_use: bytes = b"") -> bytes:
    head = struct.pack("<BB", 0, 0) + both32(extent) + both32(size) + record_date(stamp)
    head += bytes((flags, 0, 0)) + both16(1) + bytes((len(identifier),)) + identifier
    if len(identifier) % 2 == 0:
        head += b"\x00"
    record = head + system_use
    if len(record) % 2:
        record += b"\x00"
    if len(record) > MAX_RECORD:
        raise ValueError("directory record longer than 255 bytes")
    return bytes((len(record),)) + record[1:]


def record_length(identifier: bytes, system_use_length: int) -> int:
    length = 33 + len(identifier) + (1 - len(identifier) % 2) + system_use_length
    return length + length % 2


def susp(signature: bytes, body: bytes) -> bytes:
    return signature + bytes((4 + len(body), 1)) + body


def sp_entry() -> bytes:
    return susp(b"SP", b"\xbe\xef\x00")


def er_entry() -> bytes:
    return susp(b"ER", bytes((len(RRIP_ID), len(RRIP_DESCRIPTOR), len(RRIP_SOURCE), 1)) + RRIP_ID + RRIP_DESCRIPTOR + RRIP_SOURCE)


def ce_entry(block: int, offset: int, length: int) -> bytes:
    return susp(b"CE", both32(block) + both32(offset) + both32(length))


def px_entry(mode: int, nlink: int) -> bytes:
    return susp(b"PX", both32(mode) + both32(nlink) + both32(0) + both32(0))


def tf_entry(stamp: float) -> bytes:
    """Modify, access and attribute-change times, all the file's mtime (reproducible)."""
    date = record_date(stamp)
    return susp(b"TF", b"\x0e" + date * 3)


def nm_entries(name: bytes) -> list[bytes]:
    """One NM entry per 250 bytes, all but the last flagged CONTINUE."""
    pieces = [name[i : i + 250] for i in range(0, len(name), 250)] or [b""]
    return [susp(b"NM", bytes((1 if i < len(pieces) - 1 else 0,)) + piece) for i, piece in enumerate(pieces)]


def sl_entries(target: bytes) -> list[bytes]:
    """SL entries for a symlink target, each at most 255 bytes. Where an entry is full, the
    text component in progress is split with the component CONTINUE flag, so the entry
    boundary never falls between two components: libarchive 3.6 joins components of
    consecutive SL entries without a '/', while Linux inserts one; a split component reads the
    same in both."""
    components: list[tuple[int, bytes]] = []
    parts = target.split(b"/")
    if target.startswith(b"/"):
        components.append((0x08, b""))
        parts = parts[1:]
    for part in parts:
        if part == b".":
            components.append((0x02, b""))
        elif part == b"..":
            components.append((0x04, b""))
        elif part:
            components.append((0, part))
    room = 250
    entries: list[bytes] = []
    current = b""
    for flags, text in components:
        while len(current) + 2 + len(text) > room:
            take = min(room - len(current) - 2, 255)
            if text and take > 0:
                current += bytes((flags | 0x01, take)) + text[:take]
                text = text[take:]
            entries.append(current)
            current = b""
        current += bytes((flags, len(text))) + text
    entries.append(current)
    return [susp(b"SL", bytes((1 if i < len(entries) - 1 else 0,)) + body) for i, body in enumerate(entries)]


def rr_flags_entry(flags: int) -> bytes:
    return susp(b"RR", bytes((flags,)))


def path_table_record(identifier: bytes, extent: int, parent: int, big_endian: bool) -> bytes:
    fmt = ">BBIH" if big_endian else "<BBIH"
    record = struct.pack(fmt, len(identifier), 0, extent, parent) + identifier
    return record + (b"\x00" if len(identifier) % 2 else b"")


def volume_descriptor(
    *,
    kind: int,
    ids: dict[str, bytes],
    space: int,
    path_table_size: int,
    l_table: int,
    m_table: int,
    root: bytes,
    created: float | None,
    escapes: bytes = b"",
) -> bytes:
    """A PVD (kind 1) or Joliet SVD (kind 2, ``escapes`` = ``%/E``); ``ids`` are pre-encoded
    and pre-padded fields: system, volume, volume_set, publisher, preparer, application."""
    vd = bytearray(SECTOR)
    vd[0:7] = bytes((kind,)) + b"CD001\x01"
    vd[8:40] = ids["system"]
    vd[40:72] = ids["volume"]
    vd[80:88] = both32(space)
    vd[88 : 88 + len(escapes)] = escapes
    vd[120:124] = both16(1)
    vd[124:128] = both16(1)
    vd[128:132] = both16(SECTOR)
    vd[132:140] = both32(path_table_size)
    vd[140:144] = struct.pack("<I", l_table)
    vd[148:152] = struct.pack(">I", m_table)
    vd[156:190] = root
    vd[190:318] = ids["volume_set"]
    vd[318:446] = ids["publisher"]
    vd[446:574] = ids["preparer"]
    vd[574:702] = ids["application"]
    vd[702:813] = ids["files"]
    vd[813:830] = volume_date(created)
    vd[830:847] = volume_date(created)
    vd[847:864] = volume_date(None)
    vd[864:881] = volume_date(None)
    vd[881] = 1
    vd[883:1395] = b" " * 512  # application use: spaces, as isomd5sum expects of an unused area
    return bytes(vd)


def terminator() -> bytes:
    return b"\xffCD001\x01".ljust(SECTOR, b"\x00")


def boot_record(catalog_lba: int) -> bytes:
    vd = bytearray(SECTOR)
    vd[0:7] = b"\x00CD001\x01"
    vd[7:39] = b"EL TORITO SPECIFICATION".ljust(32, b"\x00")
    vd[71:75] = struct.pack("<I", catalog_lba)
    return bytes(vd)


def boot_catalog(entries: list[tuple[int, int, int]]) -> bytes:
    """Catalog for (platform id, load size in 512-byte sectors, image LBA) entries, all
    no-emulation and bootable: the first is the default entry, the rest one section each."""
    platform = entries[0][0]
    validation = bytearray(32)
    validation[0], validation[1] = 1, platform
    validation[4:28] = b"BURND".ljust(24, b"\x00")
    validation[30:32] = b"\x55\xaa"
    checksum = (-sum(struct.unpack("<16H", bytes(validation)))) & 0xFFFF
    validation[28:30] = struct.pack("<H", checksum)
    catalog = bytes(validation) + _boot_entry(*entries[0][1:])
    rest = entries[1:]
    for index, (entry_platform, count, lba) in enumerate(rest):
        header = 0x91 if index == len(rest) - 1 else 0x90
        catalog += struct.pack("<BBH", header, entry_platform, 1) + bytes(28) + _boot_entry(count, lba)
    return catalog.ljust(SECTOR, b"\x00")


def _boot_entry(count: int, lba: int) -> bytes:
    return struct.pack("<BBHBBHI", 0x88, 0, 0, 0, 0, count, lba).ljust(32, b"\x00")


def boot_info_table(pvd_lba: int, file_lba: int, data: bytes) -> bytes:
    """The 56 bytes at offset 8 of a BIOS boot file (``-boot-info-table``): PVD LBA, file LBA,
    file length and the 32-bit sum of the file's words from byte 64 on."""
    tail = data[64:] + bytes(-len(data[64:]) % 4)
    checksum = sum(struct.unpack(f"<{len(tail) // 4}I", tail)) & 0xFFFFFFFF
    return struct.pack("<IIII", pvd_lba, file_lba, len(data), checksum) + bytes(40)


def pad_field(value: str, length: int, ucs2: bool = False) -> bytes:
    """An identifier field: a-chars/d-chars space-padded, or UCS-2BE padded with UCS-2 spaces."""
    if ucs2:
        encoded = value.encode("utf-16-be", "replace")[: length // 2 * 2]
        return encoded + " ".encode("utf-16-be") * ((length - len(encoded)) // 2) + b" " * (length % 2)
    return value.encode("ascii", "replace")[:length].ljust(length, b" ")
