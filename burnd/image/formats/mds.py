"""MDS/MDF v1 (Alcohol 120%): a little-endian binary descriptor (.mds) beside the data (.mdf).

The descriptor is a tree of offsets (header → session blocks → track blocks → extra blocks
and file-name footers); every offset and count is checked against the descriptor size before
it is followed, since a damaged .mds is otherwise an easy way to read garbage.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

from burnd.errors import BadImage, UnsupportedImage
from burnd.image import cdsector as cd
from burnd.image.cdlayout import MAX_TRACKS, CdImage, StoredTrack
from burnd.image.source import SectorSource, Track, TrackMode

NAME = "mds"
EXTENSIONS = (".mds",)

SIGNATURE = b"MEDIA DESCRIPTOR"
HEADER_SIZE = 88
SESSION_SIZE = 24
TRACK_SIZE = 80
MAX_MDS_BYTES = 16 << 20
DVD_MEDIA = frozenset({0x10, 0x11, 0x12, 0x13, 0x14})
LEADIN_POINT = 0xA0

AUDIO, MODE1, MODE2, FORM1, FORM2 = 1, 2, 3, 4, 5


def _unpack(fmt: str, data: bytes, offset: int, what: str, where: str) -> tuple:
    if offset < 0 or offset + struct.calcsize(fmt) > len(data):
        raise BadImage(f"{where}: the MDS {what} at offset {offset} lies past the end of the descriptor; the .mds is damaged")
    return struct.unpack_from(fmt, data, offset)


def _name(data: bytes, footer_offset: int, mds_path: str) -> str:
    """The MDF file a track footer names; ``*.mdf`` means "this descriptor's name, .mdf"."""
    name_offset, wide = _unpack("<II", data, footer_offset, "file-name footer", mds_path)
    if not 0 <= name_offset < len(data):
        raise BadImage(f"{mds_path}: the MDF file name offset {name_offset} lies outside the descriptor")
    if wide:
        end = data.find(b"\x00\x00", name_offset)
        while end != -1 and (end - name_offset) % 2:
            end = data.find(b"\x00\x00", end + 1)
        name = data[name_offset : end if end != -1 else len(data)].decode("utf-16-le", "replace")
    else:
        end = data.find(b"\x00", name_offset)
        name = data[name_offset : end if end != -1 else len(data)].decode("latin-1")
    folder = os.path.dirname(os.path.abspath(mds_path))
    if name.startswith("*"):
        name = os.path.splitext(os.path.basename(mds_path))[0] + name[1:]
    return os.path.join(folder, os.path.basename(name.replace("\\", "/")))


def _mode(mode_byte: int, sector_size: int, dvd: bool) -> tuple[TrackMode, cd.SectorLayout | None]:
    kind = mode_byte & 0x07
    if kind == AUDIO:
        return TrackMode.AUDIO, None
    if sector_size == 2048:
        track_mode = TrackMode.DATA if dvd else (TrackMode.MODE1 if kind == MODE1 else TrackMode.MODE2_FORM1)
        return track_mode, cd.COOKED
    if kind == MODE1 and sector_size >= cd.RAW_SECTOR_SIZE:
        return TrackMode.MODE1, cd.SectorLayout(cd.SectorKind.MODE1, sector_size)
    if kind in (MODE2, FORM1, FORM2):
        if sector_size == 2336:
            return TrackMode.MODE2_MIXED, cd.MODE2_2336
        if sector_size >= cd.RAW_SECTOR_SIZE:
            return TrackMode.MODE2_MIXED, cd.SectorLayout(cd.SectorKind.MODE2, sector_size)
    raise UnsupportedImage(f"MDS track mode 0x{mode_byte:02x} with {sector_size}-byte sectors is not supported")


def parse_mds(data: bytes, mds_path: str) -> list[StoredTrack]:
    if len(data) < HEADER_SIZE or data[:16] != SIGNATURE:
        raise BadImage(f"{mds_path}: no MEDIA DESCRIPTOR signature; this is not an MDS file")
    if data[16] != 1:
        raise UnsupportedImage(
            f"{mds_path}: MDS version {data[16]}.{data[17]} (Daemon Tools MDX/MDSv2, encrypted) is not "
            "supported; convert it to ISO or MDS v1 with Daemon Tools"
        )
    medium, session_count = _unpack("<HH", data, 18, "header", mds_path)
    sessions_offset = _unpack("<I", data, 80, "header", mds_path)[0]
    if not 1 <= session_count <= MAX_TRACKS:
        raise BadImage(f"{mds_path}: the MDS header claims {session_count} sessions")
    dvd = medium in DVD_MEDIA
    stored: list[StoredTrack] = []
    for s in range(session_count):
        (_, _, number, all_blocks, _, _, _, _, tracks_offset) = _unpack(
            "<iiHBBHHII", data, sessions_offset + s * SESSION_SIZE, "session block", mds_path
        )
        for b in range(all_blocks):
            block = _unpack("<BB10sIH18xIQII", data, tracks_offset + b * TRACK_SIZE, "track block", mds_path)
            mode_byte, _, q, extra_offset, sector_size, start, start_offset, files, footer_offset = block
            point = q[2]
            if point >= LEADIN_POINT:
                continue
            if len(stored) >= MAX_TRACKS:
                raise BadImage(f"{mds_path}: the MDS descriptor lists more than 99 tracks")
            if files > 1:
                raise UnsupportedImage(f"{mds_path}: track {point} is split over {files} MDF files; join them first")
            if sector_size == 0:
                raise BadImage(f"{mds_path}: track {point} has a sector size of 0")
            mode, layout = _mode(mode_byte, sector_size, dvd)
            if dvd:
                pregap, length = 0, extra_offset
            else:
                pregap, length = _unpack("<II", data, extra_offset, "extra block", mds_path)
            track = Track(point, number, mode, start, length, sector_size, pregap)
            stored.append(StoredTrack(track, _name(data, footer_offset, mds_path), start_offset, layout))
    return stored


def open_image(path: str) -> SectorSource:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_MDS_BYTES + 1)
    except OSError as exc:
        raise BadImage(f"{path}: cannot read the MDS descriptor ({exc.strerror})") from exc
    if len(data) > MAX_MDS_BYTES:
        raise BadImage(f"{path}: {len(data)} bytes is far too large for an MDS descriptor")
    return CdImage(path, NAME, parse_mds(data, path))


def probe(f: BinaryIO, size: int) -> bool:
    try:
        f.seek(0)
        return f.read(16) == SIGNATURE
    except Exception:
        return False
