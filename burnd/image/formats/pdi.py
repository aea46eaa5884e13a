"""PDI: Pinnacle Instant CD/DVD (formerly VOB InstantCD) images.

Only the magic and the data offset are known (reference §16): sectors start at byte 304,
either cooked 2048-byte sectors (loop-attachable as they are) or raw 2352-byte Mode 1 sectors,
recognised by the sync pattern at byte 304. The rest of the 304-byte header is undocumented,
so the sector count is what the file holds.
"""

from __future__ import annotations

from typing import BinaryIO

from burnd.errors import BadImage
from burnd.image.cdsector import COOKED, MODE1_RAW, SYNC, RawView
from burnd.image.formats.chunked import SingleTrackImage, file_size, guarded_open, read_at
from burnd.image.source import PlainSlice, SectorSource, TrackMode

NAME = "pdi"
EXTENSIONS = (".pdi",)

MAGIC = b"TTAFMPVOBCDIMG\x01\x00"
DATA_OFFSET = 304


def probe(f: BinaryIO, size: int) -> bool:
    try:
        f.seek(0)
        return size >= DATA_OFFSET and f.read(len(MAGIC)) == MAGIC
    except (OSError, ValueError):
        return False


def open_image(path: str) -> SectorSource:
    return guarded_open(path, lambda fds: _build(path, fds))


def _build(path: str, fds: list[int]) -> SectorSource:
    fd = fds[0]
    if read_at(fd, 0, len(MAGIC), path) != MAGIC:
        raise BadImage(f"{path}: not a PDI image (no TTAFMPVOBCDIMG signature)")
    payload = file_size(fd) - DATA_OFFSET
    raw = payload >= len(SYNC) and read_at(fd, DATA_OFFSET, len(SYNC), path) == SYNC
    layout = MODE1_RAW if raw else COOKED
    sectors = max(0, payload) // layout.stride
    if sectors == 0:
        raise BadImage(f"{path}: the PDI image holds no whole sector after its header; it is truncated")
    view = RawView(fd, DATA_OFFSET, sectors, layout, name=path)
    plain = None if raw else PlainSlice(path, DATA_OFFSET, sectors * layout.stride)
    mode = TrackMode.MODE1 if raw else TrackMode.DATA
    return SingleTrackImage(path, NAME, view, fds, plain, mode, layout.stride)
