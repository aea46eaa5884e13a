"""BIN/CUE (CDRWIN cue sheet): text descriptor, one or more raw or cooked data files.

Offsets inside a file are counted in sectors whose size changes with each track, so a track's
byte offset is the sum over the earlier tracks of the same file — not ``frames × 2352`` as
naive readers assume. Unstored gaps (PREGAP, POSTGAP) shift disc addresses but no bytes.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from typing import BinaryIO

from burnd.errors import BadImage, UnsupportedImage
from burnd.image import cdsector as cd
from burnd.image.cdlayout import MAX_TRACKS, CdImage, StoredTrack, file_size
from burnd.image.source import SectorSource, Track, TrackMode

NAME = "bincue"
EXTENSIONS = (".cue",)

MAX_CUE_BYTES = 1 << 20
#: leading lead-out + lead-in before the first track of session 2, then of later sessions
#: (libmirage's values; the 150-sector pregap comes on top)
SESSION_GAPS = (11250, 6750)
SESSION_PREGAP = 150

# cue track type -> (mode, bytes per sector in the file, layout or None)
TRACK_TYPES: dict[str, tuple[TrackMode, int, cd.SectorLayout | None]] = {
    "AUDIO": (TrackMode.AUDIO, 2352, None),
    "CDG": (TrackMode.AUDIO, 2448, None),
    "MODE1/2048": (TrackMode.MODE1, 2048, cd.COOKED),
    "MODE1/2352": (TrackMode.MODE1, 2352, cd.MODE1_RAW),
    "MODE2/2048": (TrackMode.MODE2_FORM1, 2048, cd.COOKED),
    "MODE2/2324": (TrackMode.MODE2_FORMLESS, 2324, None),
    "MODE2/2336": (TrackMode.MODE2_MIXED, 2336, cd.MODE2_2336),
    "MODE2/2352": (TrackMode.MODE2_MIXED, 2352, cd.MODE2_RAW),
    "CDI/2336": (TrackMode.MODE2_MIXED, 2336, cd.MODE2_2336),
    "CDI/2352": (TrackMode.MODE2_MIXED, 2352, cd.MODE2_RAW),
}

_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


@dataclass
class _CueTrack:
    number: int
    kind: str
    file: int
    line: int
    session: int
    indexes: dict[int, int] = field(default_factory=dict)
    pregap: int = 0
    postgap: int = 0


@dataclass
class _CueFile:
    name: str
    kind: str


@dataclass
class CueSheet:
    """The parsed text, before any file is looked at."""

    files: list[_CueFile]
    tracks: list[_CueTrack]


def _tokens(line: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in _TOKEN.finditer(line)]


def decode_text(raw: bytes) -> str:
    """Cue sheets come from Windows tools: UTF-8 (maybe with BOM) or a legacy code page.
    Latin-1 never fails, so a CP-1252 file still parses (names may look odd)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _line_error(where: str, lineno: int, line: str, why: str) -> BadImage:
    return BadImage(f"{where} line {lineno}: {why}: {line.strip()!r}; fix or regenerate the cue sheet")


def parse_cue(text: str, where: str = "cue sheet") -> CueSheet:
    """Parse cue text into files and tracks; BadImage names the offending line."""
    files: list[_CueFile] = []
    tracks: list[_CueTrack] = []
    session = 1
    for lineno, line in enumerate(text.splitlines(), 1):
        words = _tokens(line)
        if not words:
            continue
        keyword = words[0].upper()
        bad = functools.partial(_line_error, where, lineno, line)
        try:
            if keyword == "REM":
                if len(words) >= 3 and words[1].upper() == "SESSION":
                    session = int(words[2])
                    if not 1 <= session <= MAX_TRACKS:
                        raise bad("session number out of range")
            elif keyword == "FILE":
                if len(words) < 2:
                    raise bad("FILE needs a file name")
                files.append(_CueFile(words[1], words[2].upper() if len(words) > 2 else "BINARY"))
            elif keyword == "TRACK":
                if len(words) < 3 or not files:
                    raise bad("TRACK needs a number and a type, after a FILE line")
                kind = words[2].upper()
                if kind not in TRACK_TYPES:
                    raise bad(f"unknown track type {words[2]!r}")
                number = int(words[1])
                if not 1 <= number <= MAX_TRACKS or len(tracks) >= MAX_TRACKS:
                    raise bad("track number out of range or too many tracks")
                tracks.append(_CueTrack(number, kind, len(files) - 1, lineno, session))
            elif keyword in ("INDEX", "PREGAP", "POSTGAP"):
                if not tracks:
                    raise bad(f"{keyword} before any TRACK")
                track = tracks[-1]
                if keyword == "INDEX":
                    if len(words) < 3:
                        raise bad("INDEX needs a number and a time")
                    if track.file != len(files) - 1 and int(words[1]) >= 1:
                        track.file = len(files) - 1  # INDEX 00 in the previous file, data in this one
                    track.indexes[int(words[1])] = cd.parse_msf(words[2])
                else:
                    if len(words) < 2:
                        raise bad(f"{keyword} needs a time (MM:SS:FF)")
                    setattr(track, keyword.lower(), cd.parse_msf(words[1]))
        except ValueError as exc:
            raise bad(str(exc)) from None
    if not tracks:
        raise BadImage(f"{where}: no TRACK lines; this is not a usable cue sheet")
    for track in tracks:
        if 1 not in track.indexes:
            raise BadImage(f"{where} line {track.line}: track {track.number} has no INDEX 01")
    return CueSheet(files, tracks)


def resolve_data_file(cue_path: str, name: str) -> str:
    """The file a FILE line means: relative to the cue, else the same name in any case (cues
    come from case-insensitive Windows), else just its base name (absolute Windows paths)."""
    folder = os.path.dirname(os.path.abspath(cue_path))
    base = re.split(r"[\\/]", name)[-1]
    for candidate in (name, base):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    try:
        entries = os.listdir(folder)
    except OSError:
        entries = []
    for entry in entries:
        if entry.lower() == base.lower() and os.path.isfile(os.path.join(folder, entry)):
            return os.path.join(folder, entry)
    raise BadImage(
        f"{cue_path}: the data file {name!r} named in the cue sheet is not in {folder}; "
        "copy it next to the .cue or fix the FILE line"
    )


def layout_tracks(cue_path: str, sheet: CueSheet, sizes: list[int], paths: list[str]) -> list[StoredTrack]:
    """Turn parsed tracks plus data-file sizes into disc addresses and byte offsets."""
    stored: list[StoredTrack] = []
    lba = 0  # disc address of frame 0 of the current file
    session = 1
    for file_no, cue_file in enumerate(sheet.files):
        in_file = [t for t in sheet.tracks if t.file == file_no]
        byte = 0  # byte offset of the current track's first stored frame
        file_frames = 0
        for i, t in enumerate(in_file):
            mode, size, layout = TRACK_TYPES[t.kind]
            first = t.indexes.get(0, t.indexes[1]) if i else 0
            index1 = t.indexes[1]
            if first > index1:
                raise BadImage(f"{cue_path} line {t.line}: INDEX 00 lies after INDEX 01")
            if i + 1 < len(in_file):
                following = in_file[i + 1]
                end = following.indexes.get(0, following.indexes[1])
                if end < index1:
                    raise BadImage(f"{cue_path} line {following.line}: track {following.number} starts before track {t.number}")
            else:
                end = first + (sizes[file_no] - byte) // size
                if end < index1:
                    raise BadImage(
                        f"{cue_path}: {paths[file_no]!r} has {sizes[file_no]} bytes, too few for track "
                        f"{t.number} at {cd.format_msf(index1)}; the data file is truncated"
                    )
            if t.session != session:
                gap = SESSION_GAPS[0] if session == 1 else SESSION_GAPS[1]
                lba += gap + max(0, SESSION_PREGAP - (t.pregap + index1 - first))
                session = t.session
            lba += t.pregap
            if cue_file.kind not in ("BINARY", "MOTOROLA"):
                raise UnsupportedImage(
                    f"{cue_path}: track {t.number} is in a {cue_file.kind} file; only BINARY and "
                    "MOTOROLA data files are read (convert the audio to raw BIN first)"
                )
            track = Track(
                number=t.number, session=t.session, mode=mode, start_lba=lba + index1,
                sectors=end - index1, sector_size=size, pregap=t.pregap + index1 - first,
            )
            stored.append(StoredTrack(
                track, paths[file_no], byte + (index1 - first) * size, layout,
                big_endian_audio=cue_file.kind == "MOTOROLA",
            ))
            byte += (end - first) * size
            file_frames = end
            lba += t.postgap
        lba += file_frames
    return stored


def open_image(path: str) -> SectorSource:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CUE_BYTES + 1)
    except OSError as exc:
        raise BadImage(f"{path}: cannot read the cue sheet ({exc.strerror})") from exc
    if len(raw) > MAX_CUE_BYTES or b"\x00" in raw:
        raise BadImage(f"{path}: this is not a cue sheet (binary data or larger than 1 MiB)")
    sheet = parse_cue(decode_text(raw), path)
    paths = [resolve_data_file(path, f.name) for f in sheet.files]
    sizes = [file_size(p, path) for p in paths]
    return CdImage(path, NAME, layout_tracks(path, sheet, sizes, paths))


def probe(f: BinaryIO, size: int) -> bool:
    """A cue sheet is small text with FILE and TRACK commands."""
    try:
        if size > MAX_CUE_BYTES:
            return False
        f.seek(0)
        head = f.read(65536)
        if b"\x00" in head:
            return False
        lines = [_tokens(line) for line in decode_text(head).splitlines()]
        words = {line[0].upper() for line in lines if line}
        numbered = any(len(w) >= 3 and w[0].upper() == "TRACK" and w[1].isdigit() for w in lines)
        return numbered and {"FILE", "INDEX"} <= words
    except Exception:
        return False
