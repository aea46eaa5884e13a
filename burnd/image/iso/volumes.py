"""Find and classify volume descriptors: ISO 9660 sets, UDF recognition sequences, sessions.

A session's descriptor set starts at its first LBA + 16 (reference §3.1, §3.9). For a plain image
file that holds several sessions at their disc addresses, later sets are looked for where the
previous session ends (optionally after the usual CD lead-out/lead-in gaps); a container's TOC
is the real authority, so this is a best effort for bare files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from burnd.errors import BadImage
from burnd.image.iso.imagefile import ImageFile
from burnd.image.iso.udf import tag_ok
from burnd.image.iso.records import (
    MAGIC,
    SECTOR,
    VD_BOOT,
    VD_PRIMARY,
    VD_SUPPLEMENTARY,
    VD_START,
    VD_TERMINATOR,
    VolumeDescriptor,
    parse_volume_descriptor,
    u32le,
)

MAX_DESCRIPTORS = 64
UDF_VRS_IDS = (b"BEA01", b"NSR02", b"NSR03", b"TEA01", b"BOOT2", b"CDW02")
#: Gaps (in sectors) seen between the end of one CD session and the next one's start.
SESSION_GAPS = (0, 150, 6900, 11400)
#: Write units DVD (ECC block) and BD (cluster) tracks are padded to: a session written there
#: starts at the previous volume's end rounded up to one of these.
SESSION_ALIGNMENTS = (16, 32)
MAX_SESSIONS = 99
UDF_ANCHOR = 256


@dataclass(slots=True)
class DescriptorSet:
    """The volume descriptors of one session."""

    start: int
    primary: VolumeDescriptor | None = None
    joliet: VolumeDescriptor | None = None
    enhanced: VolumeDescriptor | None = None
    boot_catalog: int | None = None
    boot_system_id: str = ""
    udf_vrs: list[str] = field(default_factory=list)
    udf_anchor: bool = False  # a valid AVDP at sector 256 (found when no recognition sequence is)

    @property
    def has_udf(self) -> bool:
        return self.udf_anchor or any(ident.startswith("NSR") for ident in self.udf_vrs)

    def to_dict(self) -> dict:
        return {
            "start_lba": self.start,
            "descriptor_lba": self.start + VD_START,
            "primary": self.primary is not None,
            "joliet_level": self.joliet.joliet_level if self.joliet else None,
            "iso9660_1999": self.enhanced is not None,
            "boot_record": self.boot_catalog is not None,
            "udf_recognition": list(self.udf_vrs),
            "udf_anchor": self.udf_anchor,
        }


def read_descriptor_set(image: ImageFile, start: int) -> DescriptorSet:
    """Read the ISO descriptors at ``start + 16`` and any UDF recognition sequence after them."""
    result = DescriptorSet(start)
    lba = start + VD_START
    for _ in range(MAX_DESCRIPTORS):
        sector = _sector(image, lba)
        if sector is None:
            break
        if sector[1:6] != MAGIC:
            break
        lba += 1
        if _classify(sector, result):
            break
    _read_vrs(image, lba, result)
    if result.primary is None and not result.udf_vrs:
        _find_udf(image, start, result)
    if result.primary is None and not result.has_udf:
        raise BadImage(f"{image.path}: no ISO 9660 (CD001) or UDF volume descriptors at sector {start + VD_START}; not an ISO image")
    return result


def _sector(image: ImageFile, lba: int) -> bytes | None:
    offset = lba * SECTOR
    if offset + SECTOR > image.size:
        return None
    return image.read_at(offset, SECTOR, "volume descriptor")


def _classify(sector: bytes, result: DescriptorSet) -> bool:
    """Record one CD001 descriptor; True when it is the set terminator."""
    kind = sector[0]
    if kind == VD_TERMINATOR:
        return True
    if kind == VD_BOOT:
        result.boot_system_id = sector[7:39].decode("latin-1").rstrip("\x00 ")
        if result.boot_system_id.startswith("EL TORITO"):
            result.boot_catalog = u32le(sector, 71)
    elif kind == VD_PRIMARY and result.primary is None:
        result.primary = parse_volume_descriptor(sector)
    elif kind == VD_SUPPLEMENTARY:
        vd = parse_volume_descriptor(sector)
        if vd.is_enhanced and result.enhanced is None:
            result.enhanced = vd
        elif vd.is_joliet and result.joliet is None:
            result.joliet = vd
    return False


def _read_vrs(image: ImageFile, lba: int, result: DescriptorSet) -> None:
    for _ in range(MAX_DESCRIPTORS):
        sector = _sector(image, lba)
        if sector is None or sector[0] != 0 or sector[1:6] not in UDF_VRS_IDS:
            return
        result.udf_vrs.append(sector[1:6].decode("ascii"))
        if sector[1:6] == b"TEA01":
            return
        lba += 1


def _find_udf(image: ImageFile, start: int, result: DescriptorSet) -> None:
    """UDF-only images may start their recognition sequence after sector 16, or carry only
    the anchor at 256; look for either (a file system on its own, no ISO 9660)."""
    for lba in range(start + VD_START + 1, start + 32):
        sector = _sector(image, lba)
        if sector is not None and sector[0] == 0 and sector[1:6] == b"BEA01":
            _read_vrs(image, lba, result)
            return
    anchor = _sector(image, start + UDF_ANCHOR)
    result.udf_anchor = anchor is not None and tag_ok(anchor, 2, start + UDF_ANCHOR)


def find_sessions(image: ImageFile) -> list[DescriptorSet]:
    """The descriptor sets of every session found in the file, oldest first."""
    sessions = [read_descriptor_set(image, 0)]
    while len(sessions) < MAX_SESSIONS:
        current = sessions[-1]
        if current.primary is None:
            break
        end = current.start + current.primary.space_size
        following = _next_session(image, end, current.start)
        if following is None:
            break
        sessions.append(following)
    return sessions


def _next_session(image: ImageFile, end: int, previous_start: int) -> DescriptorSet | None:
    aligned = (-(-end // unit) * unit for unit in SESSION_ALIGNMENTS)
    for start in dict.fromkeys([*(end + gap for gap in SESSION_GAPS), *aligned]):
        if start <= previous_start:
            continue
        sector = _sector(image, start + VD_START)
        if sector is not None and sector[1:6] == MAGIC and sector[0] == VD_PRIMARY:
            return read_descriptor_set(image, start)
    return None
