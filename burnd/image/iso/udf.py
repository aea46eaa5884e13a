"""A small read-only UDF reader (ECMA-167 / OSTA UDF 1.02–2.60) for listing and extraction.

pycdlib only reads UDF alongside ISO 9660; UDF-only images (Blu-ray, some DVD and Windows
images) carry no CD001 at all, so burnd walks UDF itself. Supported: type 1 partition maps and
the UDF 2.50+ metadata partition, short/long/embedded allocation descriptors with continuation
extents, File Entries and Extended File Entries. Every descriptor's tag (checksum, identifier,
location) is verified, directories are visited once, and all reads are bounds-checked.
"""

from __future__ import annotations

import calendar
import struct
from dataclasses import dataclass

from burnd.errors import BadImage, UnsupportedImage
from burnd.image.iso.entry import Entry, Kind, Run
from burnd.image.iso.imagefile import ImageFile

SECTOR = 2048
TAG_PD, TAG_AVDP, TAG_LVD, TAG_TD = 5, 2, 6, 8
TAG_FSD, TAG_FID, TAG_AED, TAG_FE, TAG_EFE = 256, 257, 258, 261, 266
FILE_TYPES = {4: Kind.DIR, 5: Kind.FILE, 12: Kind.SYMLINK, 6: Kind.BLOCK, 7: Kind.CHAR, 9: Kind.FIFO, 10: Kind.SOCKET}
METADATA_PARTITION = b"*UDF Metadata Partition"
MAX_AD_CHAIN = 1024
MAX_ENTRIES = 1 << 22
MAX_FILE_SIZE = 1 << 40  # unrecorded (sparse) extents could otherwise claim anything


def tag_ok(block: bytes, ident: int, location: int | None) -> bool:
    """A descriptor tag with the expected identifier, a correct checksum and location."""
    if len(block) < 16:
        return False
    checksum = (sum(block[0:4]) + sum(block[5:16])) & 0xFF
    tag_id, = struct.unpack_from("<H", block, 0)
    tag_location, = struct.unpack_from("<I", block, 12)
    return checksum == block[4] and tag_id == ident and (location is None or tag_location == location)


def udf_timestamp(raw: bytes) -> float | None:
    type_tz, year, month, day, hour, minute, second = struct.unpack_from("<HhBBBBB", raw, 0)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    offset = type_tz & 0x0FFF
    minutes = offset - 0x1000 if offset & 0x0800 else offset
    if minutes == -2047 or not -1440 <= minutes <= 1440:
        minutes = 0
    try:
        stamp = calendar.timegm((year, month, day, min(hour, 23), min(minute, 59), min(second, 59), 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    return float(stamp - minutes * 60)


def dstring(raw: bytes) -> str:
    """An OSTA compressed Unicode string: 8 = one byte per char, 16 = UTF-16BE."""
    if not raw:
        return ""
    if raw[0] == 16:
        return raw[1 : 1 + (len(raw) - 1) // 2 * 2].decode("utf-16-be", errors="replace")
    return raw[1:].decode("latin-1")


def unix_mode(permissions: int, kind: Kind) -> int:
    """UDF keeps rwx per class in 5-bit groups (owner at bit 10, group 5, other 0)."""
    bits = ((permissions >> 10) & 7) << 6 | ((permissions >> 5) & 7) << 3 | (permissions & 7)
    type_bits = {Kind.DIR: 0o040000, Kind.SYMLINK: 0o120000, Kind.CHAR: 0o020000, Kind.BLOCK: 0o060000, Kind.FIFO: 0o010000, Kind.SOCKET: 0o140000}
    return type_bits.get(kind, 0o100000) | bits


@dataclass(frozen=True, slots=True)
class _Node:
    kind: Kind
    size: int
    mode: int
    mtime: float | None
    uid: int
    gid: int
    runs: tuple[Run, ...]
    embedded: bytes | None


class UdfReader:
    """Locate the file set and walk it."""

    def __init__(self, image: ImageFile) -> None:
        self.image = image
        self.volume_id = ""
        self.partitions: dict[int, int] = {}  # partition number -> start sector
        self.maps: list[tuple[str, int]] = []  # per map index: ("physical"|"metadata", partition number)
        self.metadata_runs: tuple[Run, ...] = ()
        self.visited: set[tuple[int, int]] = set()
        self.count = 0
        avdp = self._anchor()
        self._volume_descriptors(avdp)

    def _block(self, sector: int, what: str) -> bytes:
        return self.image.read_at(sector * SECTOR, SECTOR, what)

    def _anchor(self) -> bytes:
        last = self.image.size // SECTOR - 1
        for sector in (256, last - 256, last):
            if 0 <= sector <= last:
                block = self._block(sector, "UDF anchor")
                if tag_ok(block, TAG_AVDP, sector):
                    return block
        raise BadImage(f"{self.image.path}: no valid UDF anchor (AVDP) at sector 256, N-256 or N; the UDF volume is truncated or corrupt")

    def _volume_descriptors(self, avdp: bytes) -> None:
        length, location = struct.unpack_from("<II", avdp, 16)
        lvd = None
        for index in range(min(length // SECTOR, 64)):
            sector = location + index
            block = self._block(sector, "UDF volume descriptor")
            tag_id, = struct.unpack_from("<H", block, 0)
            if tag_ok(block, TAG_PD, sector):
                number, = struct.unpack_from("<H", block, 22)
                self.partitions[number] = struct.unpack_from("<I", block, 188)[0]
            elif tag_ok(block, TAG_LVD, sector):
                lvd = block
            elif tag_id == TAG_TD or tag_id == 0:
                break
        if lvd is None or not self.partitions:
            raise BadImage(f"{self.image.path}: UDF volume descriptor sequence lacks a partition or logical volume descriptor")
        block_size, = struct.unpack_from("<I", lvd, 212)
        if block_size != SECTOR:
            raise UnsupportedImage(f"{self.image.path}: UDF logical block size {block_size} is not 2048; burnd reads 2048-byte UDF only")
        self._fsd_ad = lvd[248:264]
        self.volume_id = dstring(lvd[84 : 84 + min(lvd[84 + 127], 127)]) if lvd[84 + 127] else ""
        self._partition_maps(lvd)

    def _partition_maps(self, lvd: bytes) -> None:
        table_length, count = struct.unpack_from("<II", lvd, 264)
        offset, end = 440, min(440 + table_length, len(lvd))
        for _ in range(min(count, 16)):
            if offset + 2 > end:
                break
            map_type, map_length = lvd[offset], lvd[offset + 1]
            if map_length < 6:
                raise BadImage(f"{self.image.path}: UDF partition map of length {map_length} is corrupt")
            if map_type == 1:
                self.maps.append(("physical", struct.unpack_from("<H", lvd, offset + 4)[0]))
            elif map_type == 2 and lvd[offset + 5 : offset + 5 + len(METADATA_PARTITION)] == METADATA_PARTITION:
                number, = struct.unpack_from("<H", lvd, offset + 38)
                file_location, = struct.unpack_from("<I", lvd, offset + 40)
                self.maps.append(("metadata", number))
                if number not in self.partitions:
                    raise BadImage(f"{self.image.path}: UDF metadata partition refers to missing partition {number}")
                self.metadata_runs = self._node(self.partitions[number] + file_location, None, number).runs
            else:
                raise UnsupportedImage(f"{self.image.path}: UDF partition map type {map_type} (virtual/sparable) is not supported; convert the image with a tool that understands it")
            offset += map_length

    @property
    def _fsd_location(self) -> tuple[int, int]:
        lbn, ref = struct.unpack_from("<IH", self._fsd_ad, 4)
        return ref, lbn

    def _sector(self, ref: int, lbn: int) -> int:
        """Physical sector of logical block ``lbn`` in partition map ``ref``."""
        if ref >= len(self.maps):
            raise BadImage(f"{self.image.path}: UDF address refers to partition map {ref}, which does not exist")
        kind, number = self.maps[ref]
        if number not in self.partitions:
            raise BadImage(f"{self.image.path}: UDF partition {number} has no partition descriptor")
        if kind == "metadata":
            return self._metadata_sector(lbn)
        return self.partitions[number] + lbn

    def _metadata_sector(self, lbn: int) -> int:
        position = lbn * SECTOR
        for run in self.metadata_runs:
            if position < run.length and run.offset is not None:
                return (run.offset + position) // SECTOR
            position -= run.length
        raise BadImage(f"{self.image.path}: UDF metadata block {lbn} is outside the metadata file")

    def entries(self) -> list[Entry]:
        ref, lbn = self._fsd_location
        fsd = self._block(self._sector(ref, lbn), "UDF file set descriptor")
        if not tag_ok(fsd, TAG_FSD, None):
            raise BadImage(f"{self.image.path}: UDF file set descriptor at block {lbn} has a bad tag")
        root_lbn, root_ref = struct.unpack_from("<IH", fsd, 404)
        result: list[Entry] = []
        stack = [((), root_ref, root_lbn)]
        while stack:
            parts, dir_ref, dir_lbn = stack.pop()
            if (dir_ref, dir_lbn) in self.visited:
                raise BadImage(f"{self.image.path}: UDF directory /{'/'.join(parts)} is reached twice (cyclic directory)")
            self.visited.add((dir_ref, dir_lbn))
            directory = self._node(self._sector(dir_ref, dir_lbn), dir_ref)
            for name, child_ref, child_lbn in self._fids(self._content(directory)):
                node = self._node(self._sector(child_ref, child_lbn), child_ref)
                self.count += 1
                if self.count > MAX_ENTRIES:
                    raise BadImage(f"{self.image.path}: UDF tree has more than {MAX_ENTRIES} entries; refusing")
                target = _symlink_target(self._content(node)) if node.kind is Kind.SYMLINK else None
                child = parts + (name,)
                size = node.size if node.kind is Kind.FILE else len(target or "")
                result.append(Entry(child, node.kind, size, node.mode, node.mtime, node.uid, node.gid, target, node.runs if node.kind is Kind.FILE else ()))
                if node.kind is Kind.DIR:
                    stack.append((child, child_ref, child_lbn))
        result.sort(key=lambda e: e.parts)
        return result

    def _node(self, sector: int, home_ref: int | None, raw_partition: int | None = None) -> _Node:
        """Read the (Extended) File Entry at ``sector``. Short allocation descriptors are
        relative to ``home_ref`` (the ICB's partition map) or, for the metadata file itself,
        to physical partition ``raw_partition``."""
        block = self._block(sector, "UDF file entry")
        is_efe = tag_ok(block, TAG_EFE, None)
        if not is_efe and not tag_ok(block, TAG_FE, None):
            raise BadImage(f"{self.image.path}: UDF file entry at sector {sector} has a bad tag")
        kind = FILE_TYPES.get(block[16 + 11], Kind.FILE)
        flags, = struct.unpack_from("<H", block, 16 + 18)
        uid, gid, permissions = struct.unpack_from("<III", block, 36)
        size, = struct.unpack_from("<Q", block, 56)
        mtime = udf_timestamp(block[92 if is_efe else 84 :])
        ea_length, ad_length = struct.unpack_from("<II", block, 208 if is_efe else 168)
        ad_start = (216 if is_efe else 176) + ea_length
        if ad_start + ad_length > SECTOR:
            raise BadImage(f"{self.image.path}: UDF file entry at sector {sector} claims more descriptor bytes than fit in a block")
        ads = block[ad_start : ad_start + ad_length]
        mode = unix_mode(permissions, kind)
        if flags & 7 == 3:
            return _Node(kind, min(size, ad_length), mode, mtime, uid, gid, (), ads[:size])
        if size > MAX_FILE_SIZE:
            raise BadImage(f"{self.image.path}: UDF file entry at sector {sector} claims an absurd size of {size} bytes")
        runs = tuple(self._allocation(ads, flags & 7, home_ref, raw_partition, size))
        if sum(run.length for run in runs) != size:
            raise BadImage(f"{self.image.path}: UDF file entry at sector {sector} claims {size} bytes but its extents cover {sum(r.length for r in runs)}")
        return _Node(kind, size, mode, mtime, uid, gid, runs, None)

    def _ad_sector(self, ref: int | None, raw_partition: int | None, position: int) -> int:
        if ref is not None:
            return self._sector(ref, position)
        return self.partitions.get(raw_partition, 0) + position

    def _allocation(self, ads: bytes, ad_type: int, home_ref: int | None, raw_partition: int | None, size: int):
        """Turn allocation descriptors into byte runs covering ``size`` bytes."""
        width = {0: 8, 1: 16}.get(ad_type)
        if width is None:
            raise UnsupportedImage(f"{self.image.path}: UDF allocation descriptor type {ad_type} is not supported")
        left = size
        for _hop in range(MAX_AD_CHAIN):
            next_ads = None
            for offset in range(0, len(ads) - width + 1, width):
                raw_length, position = struct.unpack_from("<II", ads, offset)
                extent_type, length = raw_length >> 30, raw_length & 0x3FFFFFFF
                if length == 0:
                    break
                ref = struct.unpack_from("<H", ads, offset + 8)[0] if width == 16 else home_ref
                sector = self._ad_sector(ref, raw_partition, position)
                if extent_type == 3:
                    next_ads = self._block(sector, "UDF allocation extent")[24 : 24 + min(length, SECTOR - 24)]
                    break
                take = min(length, left)
                if take > 0:
                    offset_bytes = sector * SECTOR if extent_type == 0 else None
                    if offset_bytes is not None and offset_bytes + take > self.image.size:
                        raise BadImage(f"{self.image.path}: UDF extent at sector {sector} (+{take} bytes) lies past the end of the image")
                    yield Run(offset_bytes, take)
                    left -= take
            if next_ads is None:
                return
            ads = next_ads
        raise BadImage(f"{self.image.path}: UDF allocation extents chain more than {MAX_AD_CHAIN} times")

    def _content(self, node: _Node) -> bytes:
        """A directory's or symlink's bytes (small by nature; capped at 64 MiB)."""
        if node.embedded is not None:
            return node.embedded
        if node.size > 64 << 20:
            raise BadImage(f"{self.image.path}: a UDF directory claims {node.size} bytes; refusing")
        return b"".join(self.image.read_at(r.offset, r.length, "UDF directory") if r.offset is not None else bytes(r.length) for r in node.runs)

    def _fids(self, data: bytes):
        offset = 0
        while offset + 38 <= len(data):
            if not tag_ok(data[offset : offset + 16], TAG_FID, None):
                raise BadImage(f"{self.image.path}: UDF directory holds a corrupt file identifier descriptor")
            characteristics, name_length = data[offset + 18], data[offset + 19]
            lbn, ref = struct.unpack_from("<IH", data, offset + 24)
            iu_length, = struct.unpack_from("<H", data, offset + 36)
            name_start = offset + 38 + iu_length
            raw_name = data[name_start : name_start + name_length]
            offset += (38 + iu_length + name_length + 3) & ~3
            if characteristics & 0x0C:  # deleted or parent
                continue
            yield dstring(raw_name), ref, lbn


def _symlink_target(data: bytes) -> str:
    """Path components (ECMA-167 4/14.16): 1 root, 2 '..', 3 '.', 5 name."""
    parts: list[str] = []
    offset = 0
    while offset + 4 <= len(data):
        kind, length = data[offset], data[offset + 1]
        raw = data[offset + 4 : offset + 4 + length]
        offset += 4 + length
        if kind == 1:
            parts = [""]
        elif kind == 2:
            parts.append("..")
        elif kind == 3:
            parts.append(".")
        elif kind == 5:
            parts.append(dstring(raw))
    return "/".join(parts) if parts != [""] else "/"
