"""cdrdao TOC files: a text descriptor whose tracks are built from file segments and zero fill.

Each track is a sequence of fragments (``DATAFILE``/``FILE`` segments, ``ZERO``/``SILENCE``
fill, unstored ``PREGAP``); ``START`` marks index 1. A 2048-byte view exists when the track's
data from index 1 on is one contiguous segment of one file, which is what cdrdao and every
ripper writes; anything more exotic is refused with UnsupportedImage rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import BinaryIO

from burnd.errors import BadImage, UnsupportedImage
from burnd.image import cdsector as cd
from burnd.image.cdlayout import MAX_TRACKS, CdImage, StoredTrack, file_size
from burnd.image.formats.bincue import resolve_data_file
from burnd.image.source import SectorSource, Track, TrackMode

NAME = "cdrdao_toc"
EXTENSIONS = (".toc",)

MAX_TOC_BYTES = 1 << 20
SUBCHANNEL_BYTES = 96
DISC_TYPES = ("CD_ROM", "CD_DA", "CD_ROM_XA", "CD_I")

MODES: dict[str, tuple[TrackMode, int, cd.SectorLayout | None]] = {
    "AUDIO": (TrackMode.AUDIO, 2352, None),
    "MODE0": (TrackMode.MODE2_FORMLESS, 2336, None),
    "MODE1": (TrackMode.MODE1, 2048, cd.COOKED),
    "MODE1_RAW": (TrackMode.MODE1, 2352, cd.MODE1_RAW),
    "MODE2": (TrackMode.MODE2_MIXED, 2336, cd.MODE2_2336),
    "MODE2_FORM1": (TrackMode.MODE2_FORM1, 2048, cd.COOKED),
    "MODE2_FORM2": (TrackMode.MODE2_FORMLESS, 2324, None),
    "MODE2_FORM_MIX": (TrackMode.MODE2_MIXED, 2336, cd.MODE2_2336),
    "MODE2_RAW": (TrackMode.MODE2_MIXED, 2352, cd.MODE2_RAW),
}

_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\{|\})|([^\s{}"]+)')


@dataclass
class Fragment:
    path: str | None  # None: zero fill (or an unstored pregap)
    offset: int
    sectors: int | None  # None: to the end of the file


@dataclass
class TocTrack:
    mode: str
    sector_size: int
    fragments: list[Fragment] = field(default_factory=list)
    start: int | None = None  # sectors from the track's beginning to index 1
    unstored_pregap: int = 0


def _tokens(text: str) -> list[str]:
    text = re.sub(r"//[^\n]*", "", text)
    return [q if q else (b or w) for q, b, w in _TOKEN.findall(text)]


def _length(token: str, sector_size: int) -> int:
    """A length in sectors: ``mm:ss:ff`` or a plain number of bytes (audio samples for AUDIO)."""
    if ":" in token:
        return cd.parse_msf(token)
    value = int(token)
    unit = 4 if sector_size == 2352 else sector_size
    return value * unit // sector_size


def parse_toc(text: str, toc_path: str) -> list[TocTrack]:
    tokens = _tokens(text)
    tracks: list[TocTrack] = []
    i = 0

    def bad(why: str) -> BadImage:
        return BadImage(f"{toc_path}: {why}; fix the .toc file (cdrdao show-toc checks it)")

    def arg() -> str:
        nonlocal i
        if i >= len(tokens):
            raise bad("the file ends in the middle of a statement")
        i += 1
        return tokens[i - 1]

    try:
        while i < len(tokens):
            word = arg()
            upper = word.upper()
            if word == "{":
                depth = 1
                while depth:
                    t = arg()
                    depth += {"{": 1, "}": -1}.get(t, 0)
            elif upper == "TRACK":
                mode = arg().upper()
                if mode not in MODES or len(tracks) >= MAX_TRACKS:
                    raise bad(f"unknown track mode {mode!r} or more than 99 tracks")
                size = MODES[mode][1]
                if i < len(tokens) and tokens[i].upper() in ("RW", "RW_RAW"):
                    i += 1
                    size += SUBCHANNEL_BYTES
                tracks.append(TocTrack(mode, size))
            elif upper in ("DATAFILE", "FILE", "AUDIOFILE", "ZERO", "SILENCE", "START", "PREGAP", "INDEX"):
                if not tracks:
                    raise bad(f"{upper} before any TRACK")
                track = tracks[-1]
                size = track.sector_size
                if upper in ("DATAFILE", "FILE", "AUDIOFILE"):
                    name = arg()
                    offset = 0
                    if i < len(tokens) and tokens[i].startswith("#"):
                        offset = int(arg()[1:])
                    if upper != "DATAFILE":
                        offset += _length(arg(), size) * size
                    length = None
                    if i < len(tokens) and re.fullmatch(r"[\d:]+", tokens[i]):
                        length = _length(arg(), size)
                    track.fragments.append(Fragment(resolve_data_file(toc_path, name), offset, length))
                elif upper in ("ZERO", "SILENCE"):
                    if i < len(tokens) and tokens[i].upper() in MODES:
                        i += 1
                    track.fragments.append(Fragment(None, 0, _length(arg(), size)))
                elif upper == "START":
                    stored = sum(f.sectors or 0 for f in track.fragments)
                    track.start = _length(arg(), size) if i < len(tokens) and ":" in tokens[i] else stored
                elif upper == "PREGAP":
                    track.unstored_pregap = _length(arg(), size)
                else:
                    arg()
    except ValueError as exc:
        raise bad(str(exc)) from None
    if not tracks:
        raise bad("no TRACK statements")
    return tracks


def _from_index1(pieces: list[tuple[str | None, int, int]], start: int, size: int) -> list[tuple[str | None, int, int]]:
    """The non-empty pieces of a track from sector ``start`` (index 1) on."""
    out = []
    covered = 0
    for path, offset, sectors in pieces:
        skip = max(0, start - covered)
        if sectors > skip:
            out.append((path, offset + skip * size, sectors - skip))
        covered += sectors
    return out


def layout_tracks(toc_path: str, tracks: list[TocTrack]) -> list[StoredTrack]:
    stored = []
    lba = 0
    positions: dict[str, int] = {}
    for number, t in enumerate(tracks, 1):
        mode, _, layout = MODES[t.mode]
        size = t.sector_size
        if size != MODES[t.mode][1] and layout is not None:
            layout = cd.SectorLayout(layout.kind, size, layout.skip)
        pieces = []  # (path, byte offset, sectors)
        for frag in t.fragments:
            if frag.path is None:
                pieces.append((None, 0, frag.sectors or 0))
                continue
            offset = frag.offset if frag.offset else positions.get(frag.path, 0)
            total = file_size(frag.path, toc_path)
            sectors = frag.sectors if frag.sectors is not None else max(0, (total - offset) // size)
            positions[frag.path] = offset + sectors * size
            pieces.append((frag.path, offset, sectors))
        start = t.start or 0
        lba += t.unstored_pregap
        after = _from_index1(pieces, start, size)
        if len(after) != 1 or after[0][0] is None:
            raise UnsupportedImage(
                f"{toc_path}: track {number} is not one contiguous file segment from its START on; "
                "convert it with cdrdao (toc2cue) first"
            )
        path, offset, sectors = after[0]
        track = Track(number, 1, mode, lba + start, sectors, size, start + t.unstored_pregap)
        stored.append(StoredTrack(track, path, offset, layout))
        lba += start + sectors
    return stored


def open_image(path: str) -> SectorSource:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_TOC_BYTES + 1)
    except OSError as exc:
        raise BadImage(f"{path}: cannot read the TOC file ({exc.strerror})") from exc
    if len(raw) > MAX_TOC_BYTES or b"\x00" in raw:
        raise BadImage(f"{path}: this is not a cdrdao TOC file (binary data or larger than 1 MiB)")
    return CdImage(path, NAME, layout_tracks(path, parse_toc(raw.decode("latin-1"), path)))


def probe(f: BinaryIO, size: int) -> bool:
    """A TOC file is small text where a TRACK keyword is followed by a cdrdao mode word (a cue
    sheet has a track number there)."""
    try:
        if size > MAX_TOC_BYTES:
            return False
        f.seek(0)
        head = f.read(65536)
        if b"\x00" in head:
            return False
        tokens = [t.upper() for t in _tokens(head.decode("latin-1"))]
        return any(a == "TRACK" and b in MODES for a, b in zip(tokens, tokens[1:]))
    except Exception:
        return False
