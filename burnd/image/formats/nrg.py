"""NRG (Nero): data first, then a big-endian chunk chain found through a footer.

v2 ends with ``NER5`` + u64 chain offset, v1 with ``NERO`` + u32. DAO sessions (DAOX/DAOI)
give each track's file offsets directly; TAO sessions (ETN2/ETNF) give offset, length and
start LBA; the N-th such chunk is session N. CUEX (LBA) / CUES (binary MSF), when present,
give the disc addresses.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from burnd.errors import BadImage
from burnd.image import cdsector as cd
from burnd.image.cdlayout import MAX_TRACKS, CdImage, StoredTrack
from burnd.image.source import SectorSource, Track, TrackMode

NAME = "nrg"
EXTENSIONS = (".nrg",)

MAX_CHUNKS = 4096
#: the metadata chain of a real image is a few KB; refuse to slurp a lying length
MAX_CHUNK_BYTES = 16 << 20
DAO_HEADER = 22
TAO_PREGAP = 150

MODES: dict[int, tuple[TrackMode, int, cd.SectorLayout | None]] = {
    0x00: (TrackMode.MODE1, 2048, cd.COOKED),
    0x02: (TrackMode.MODE2_FORM1, 2048, cd.COOKED),
    0x03: (TrackMode.MODE2_MIXED, 2336, cd.MODE2_2336),
    0x05: (TrackMode.MODE1, 2352, cd.MODE1_RAW),
    0x06: (TrackMode.MODE2_MIXED, 2352, cd.MODE2_RAW),
    0x07: (TrackMode.AUDIO, 2352, None),
    0x08: (TrackMode.AUDIO, 2352, None),
    0x0F: (TrackMode.MODE1, 2448, cd.SectorLayout(cd.SectorKind.MODE1, 2448)),
    0x10: (TrackMode.AUDIO, 2448, None),
    0x11: (TrackMode.MODE2_MIXED, 2448, cd.SectorLayout(cd.SectorKind.MODE2, 2448)),
}


@dataclass(frozen=True)
class Chunk:
    id: bytes
    body: bytes


def footer(f: BinaryIO, size: int) -> tuple[int, int] | None:
    """(version, offset of the first chunk) from the footer, or None when there is none."""
    if size >= 12:
        f.seek(size - 12)
        tail = f.read(12)
        if tail[:4] == b"NER5":
            return 2, struct.unpack(">Q", tail[4:])[0]
    if size >= 8:
        f.seek(size - 8)
        tail = f.read(8)
        if tail[:4] == b"NERO":
            return 1, struct.unpack(">I", tail[4:])[0]
    return None


def read_chunks(f: BinaryIO, size: int, start: int, where: str) -> list[Chunk]:
    """Walk the chain from ``start`` to ``END!``. Each step moves forward, so a lying length
    cannot loop; counts and sizes are bounded so a crafted file cannot exhaust memory."""
    chunks: list[Chunk] = []
    pos = start
    while True:
        if len(chunks) >= MAX_CHUNKS:
            raise BadImage(f"{where}: more than {MAX_CHUNKS} NRG chunks; the metadata is damaged")
        if pos + 8 > size:
            raise BadImage(f"{where}: the NRG chunk list runs past the end of the file (no END! chunk); the image is truncated")
        f.seek(pos)
        head = f.read(8)
        cid, length = head[:4], struct.unpack(">I", head[4:])[0]
        if cid == b"END!":
            return chunks
        if length > MAX_CHUNK_BYTES or pos + 8 + length > size:
            raise BadImage(f"{where}: NRG chunk {cid!r} at {pos} claims {length} bytes, past the end of the file")
        chunks.append(Chunk(cid, f.read(length)))
        pos += 8 + length


def _mode(code: int, where: str) -> tuple[TrackMode, int, cd.SectorLayout | None]:
    try:
        return MODES[code]
    except KeyError:
        raise BadImage(f"{where}: unknown NRG track mode 0x{code:02x}; this image type is not supported") from None


def cue_addresses(chunks: list[Chunk]) -> list[dict[int, int]]:
    """Per session, track number → LBA of its index 1, from CUEX (LBA) or CUES (MSF) chunks."""
    sessions = []
    for chunk in chunks:
        if chunk.id not in (b"CUEX", b"CUES"):
            continue
        points: dict[int, int] = {}
        for pos in range(0, len(chunk.body) - 7, 8):
            _, tno, index, _, where = struct.unpack(">BBBBi", chunk.body[pos : pos + 8])
            if index != 1 or tno in (0, 0xAA):
                continue
            if chunk.id == b"CUES":
                m, s, fr = chunk.body[pos + 5 : pos + 8]
                where = cd.msf_to_frames(m, s, fr) - cd.MSF_LBA_OFFSET
            points[cd.from_bcd(tno)] = where
        sessions.append(points)
    return sessions


def dao_tracks(chunk: Chunk, session: int, path: str) -> list[tuple[Track, int, cd.SectorLayout | None]]:
    wide = chunk.id == b"DAOX"
    entry_size, fmt = (42, ">QQQ") if wide else (30, ">III")
    body = chunk.body
    if len(body) < DAO_HEADER:
        raise BadImage(f"{path}: NRG {chunk.id.decode()} chunk is too short")
    first_track = body[20]
    count = (len(body) - DAO_HEADER) // entry_size
    if count > MAX_TRACKS:
        raise BadImage(f"{path}: the NRG {chunk.id.decode()} chunk lists {count} tracks; a CD has at most 99")
    out = []
    for i in range(count):
        entry = body[DAO_HEADER + i * entry_size : DAO_HEADER + (i + 1) * entry_size]
        mode, size, layout = _mode(entry[14], path)
        index0, index1, end = struct.unpack(fmt, entry[18:])
        if not index0 <= index1 <= end:
            raise BadImage(f"{path}: NRG track {first_track + i} has its offsets out of order")
        track = Track(first_track + i, session, mode, 0, (end - index1) // size, size, (index1 - index0) // size)
        out.append((track, index1, layout))
    return out


def tao_tracks(chunk: Chunk, path: str) -> list[tuple[int, int, int, int]]:
    """(offset, length in bytes, mode, start LBA) per TAO entry."""
    layouts = {b"ETN2": (32, ">QQIII"), b"ETNF": (20, ">IIIII")}
    entry_size, fmt = layouts[chunk.id]
    if len(chunk.body) // entry_size > MAX_TRACKS:
        raise BadImage(f"{path}: the NRG {chunk.id.decode()} chunk lists more than 99 tracks")
    out = []
    for pos in range(0, len(chunk.body) - entry_size + 1, entry_size):
        offset, length, mode, lba, _ = struct.unpack(fmt, chunk.body[pos : pos + struct.calcsize(fmt)])
        out.append((offset, length, mode, lba))
    return out


def layout_image(chunks: list[Chunk], path: str) -> list[StoredTrack]:
    """Tracks from DAO chunks if any, else from TAO chunks; the N-th DAOX/DAOI (or ETN2/ETNF)
    chunk describes session N, as libmirage reads it (SINF only repeats the track counts)."""
    raw: list[tuple[Track, int, cd.SectorLayout | None]] = []
    daos = [c for c in chunks if c.id in (b"DAOX", b"DAOI")]
    for session, chunk in enumerate(daos, 1):
        raw += dao_tracks(chunk, session, path)
    if not daos:
        taos = [c for c in chunks if c.id in (b"ETN2", b"ETNF")]
        number = 1
        for session, chunk in enumerate(taos, 1):
            for offset, length, code, lba in tao_tracks(chunk, path):
                mode, size, layout = _mode(code, path)
                raw.append((Track(number, session, mode, lba, length // size, size, TAO_PREGAP), offset, layout))
                number += 1
    if len(raw) > MAX_TRACKS:
        raise BadImage(f"{path}: the NRG metadata lists {len(raw)} tracks; a CD has at most 99")
    addresses = {n: lba for points in cue_addresses(chunks) for n, lba in points.items()}
    stored = []
    next_lba = -raw[0][0].pregap if daos and raw else 0  # track 1's stored pregap precedes LBA 0
    for track, offset, layout in raw:
        lba = addresses.get(track.number, track.start_lba if not daos else next_lba + track.pregap)
        track = Track(track.number, track.session, track.mode, lba, track.sectors, track.sector_size, track.pregap)
        next_lba = lba + track.sectors
        stored.append(StoredTrack(track, path, offset, layout))
    return stored


def open_image(path: str) -> SectorSource:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            found = footer(f, size)
            if found is None:
                raise BadImage(f"{path}: no NER5/NERO footer at the end; this is not an NRG image (or it is truncated)")
            _, start = found
            chunks = read_chunks(f, size, start, path)
    except OSError as exc:
        raise BadImage(f"{path}: cannot read the NRG image ({exc.strerror})") from exc
    return CdImage(path, NAME, layout_image(chunks, path))


def probe(f: BinaryIO, size: int) -> bool:
    try:
        found = footer(f, size)
        return found is not None and found[1] < size
    except Exception:
        return False
