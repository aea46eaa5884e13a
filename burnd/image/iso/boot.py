"""El Torito boot catalog and hybrid system-area (MBR / GPT / APM) decoding.

Pure functions over the catalog sector and the 32 KiB system area (reference §3.6, §3.7).
A broken catalog is reported, not fatal: the file system is still readable without it.
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass

PLATFORMS = {0: "bios", 1: "powerpc", 2: "mac", 0xEF: "efi"}
EMULATIONS = {0: "none", 1: "floppy-1.2M", 2: "floppy-1.44M", 3: "floppy-2.88M", 4: "hard-disk"}
ENTRY = 32


@dataclass(frozen=True, slots=True)
class BootEntry:
    platform: str
    bootable: bool
    emulation: str
    load_segment: int
    sector_count: int  # in 512-byte virtual sectors
    lba: int

    def to_dict(self) -> dict:
        return asdict(self)


def validation_checksum(entry: bytes) -> int:
    """The sum of the entry's 16 little-endian words (0 for a valid validation entry)."""
    return sum(struct.unpack("<16H", entry[:ENTRY])) & 0xFFFF


def parse_boot_catalog(sector: bytes) -> tuple[list[BootEntry], str | None]:
    """(entries, problem). ``problem`` says why the catalog is unusable, else None."""
    validation = sector[:ENTRY]
    if validation[0] != 1 or validation[30:32] != b"\x55\xaa":
        return [], "boot catalog validation entry lacks its 01 … 55 AA markers"
    if validation_checksum(validation) != 0:
        return [], "boot catalog validation entry checksum does not sum to zero"
    platform = validation[1]
    entries = [_entry(sector[ENTRY : 2 * ENTRY], platform)]
    offset = 2 * ENTRY
    while offset + ENTRY <= len(sector):
        header = sector[offset]
        if header not in (0x90, 0x91):
            break
        section_platform = sector[offset + 1]
        count = struct.unpack_from("<H", sector, offset + 2)[0]
        offset += ENTRY
        for _ in range(count):
            if offset + ENTRY > len(sector):
                return entries, "boot catalog section claims more entries than the catalog holds"
            if sector[offset] == 0x44:  # extension entry: belongs to the previous one
                offset += ENTRY
                continue
            entries.append(_entry(sector[offset : offset + ENTRY], section_platform))
            offset += ENTRY
        if header == 0x91:
            break
    return entries, None


def _entry(raw: bytes, platform: int) -> BootEntry:
    load_segment, = struct.unpack_from("<H", raw, 2)
    count, lba = struct.unpack_from("<HI", raw, 6)
    return BootEntry(
        platform=PLATFORMS.get(platform, f"0x{platform:02x}"),
        bootable=raw[0] == 0x88,
        emulation=EMULATIONS.get(raw[1] & 0x0F, f"0x{raw[1]:02x}"),
        load_segment=load_segment,
        sector_count=count,
        lba=lba,
    )


def parse_system_area(area: bytes) -> dict:
    """What the 32 KiB before the descriptors holds: MBR partitions, GPT, Apple map."""
    result: dict = {"mbr": False, "mbr_partitions": [], "gpt": False, "apm": False}
    if len(area) >= 512 and area[510:512] == b"\x55\xaa":
        partitions = []
        for index in range(4):
            raw = area[446 + 16 * index : 462 + 16 * index]
            start, sectors = struct.unpack_from("<II", raw, 8)
            if raw[4] or sectors:
                partitions.append({"index": index + 1, "bootable": raw[0] == 0x80, "type": raw[4], "start_512": start, "sectors_512": sectors})
        result["mbr"] = bool(partitions) or any(area[:440])
        result["mbr_partitions"] = partitions
    result["gpt"] = area[512:520] == b"EFI PART" or area[2048:2056] == b"EFI PART"
    result["apm"] = area[:2] == b"ER" and (area[512:514] == b"PM" or area[2048:2050] == b"PM")
    return result
