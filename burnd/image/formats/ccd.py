"""CloneCD CCD/IMG/SUB: an INI descriptor holding the raw full TOC, raw 2352-byte sectors in
the .img (every track, every session, no inter-session gap), subchannel in the .sub.

Track starts come from the TOC entries (PLBA of points 1..99), session ends from the lead-out
point (0xA2); the .img position of an address is its offset from the session's first stored
sector plus the sizes of the earlier sessions.
"""

from __future__ import annotations

import os
import re
from typing import BinaryIO

from burnd.errors import BadImage
from burnd.image import cdsector as cd
from burnd.image.cdlayout import MAX_TRACKS, CdImage, StoredTrack
from burnd.image.source import SectorSource, Track, TrackMode

NAME = "ccd"
EXTENSIONS = (".ccd",)

MAX_CCD_BYTES = 1 << 20
LEADOUT_POINT = 0xA2
MODES = {
    0: (TrackMode.AUDIO, None),
    1: (TrackMode.MODE1, cd.MODE1_RAW),
    2: (TrackMode.MODE2_MIXED, cd.MODE2_RAW),
}

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """Sections and keys, both lower-cased (CloneCD writers disagree on case)."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        match = _SECTION.match(line)
        if match:
            current = sections.setdefault(match.group(1).strip().lower(), {})
        elif "=" in line and current is not None:
            key, value = line.split("=", 1)
            current[key.strip().lower()] = value.strip()
    return sections


def _int(section: dict[str, str], key: str, where: str) -> int:
    try:
        return int(section[key], 0)
    except (KeyError, ValueError):
        raise BadImage(f"{where}: missing or malformed {key!r} in the CCD file") from None


def parse_ccd(text: str, ccd_path: str, img_path: str) -> list[StoredTrack]:
    ini = parse_ini(text)
    if "clonecd" not in ini:
        raise BadImage(f"{ccd_path}: no [CloneCD] section; this is not a CloneCD descriptor")
    starts: dict[int, tuple[int, int]] = {}  # track -> (session, index-1 LBA)
    leadouts: dict[int, int] = {}
    for name, section in ini.items():
        if not name.startswith("entry "):
            continue
        point = _int(section, "point", ccd_path)
        session = _int(section, "session", ccd_path)
        if not 1 <= session <= MAX_TRACKS:
            raise BadImage(f"{ccd_path}: TOC [{name}] names session {session}")
        if 1 <= point <= MAX_TRACKS:
            starts[point] = (session, _int(section, "plba", ccd_path))
        elif point == LEADOUT_POINT:
            leadouts[session] = _int(section, "plba", ccd_path)
    if not starts:
        raise BadImage(f"{ccd_path}: the CCD TOC has no track entries")
    stored: list[StoredTrack] = []
    numbers = sorted(starts)
    img_base = 0
    session_first: dict[int, int] = {}
    for i, number in enumerate(numbers):
        session, start = starts[number]
        section = ini.get(f"track {number}", {})
        mode, layout = MODES.get(_int(section, "mode", ccd_path) if "mode" in section else 1, (None, None))
        if mode is None:
            raise BadImage(f"{ccd_path}: [TRACK {number}] has an unknown MODE")
        if "index 1" in section:
            start = _int(section, "index 1", ccd_path)
        pregap_start = _int(section, "index 0", ccd_path) if "index 0" in section else start
        if session not in session_first:
            if session_first:
                previous = max(session_first)
                img_base += leadouts.get(previous, 0) - session_first[previous]
            session_first[session] = max(0, pregap_start)
        following = numbers[i + 1] if i + 1 < len(numbers) else None
        if following is not None and starts[following][0] == session:
            nxt = ini.get(f"track {following}", {})
            end = _int(nxt, "index 0", ccd_path) if "index 0" in nxt else starts[following][1]
        elif session in leadouts:
            end = leadouts[session]
        else:
            raise BadImage(f"{ccd_path}: session {session} has no lead-out entry (Point=0xa2)")
        if end < start or start < session_first[session]:
            raise BadImage(f"{ccd_path}: track {number} ends before it starts (TOC addresses out of order)")
        offset = (img_base + start - session_first[session]) * cd.RAW_SECTOR_SIZE
        track = Track(number, session, mode, start, end - start, cd.RAW_SECTOR_SIZE, start - pregap_start)
        stored.append(StoredTrack(track, img_path, offset, layout))
    return stored


def img_path_for(ccd_path: str) -> str:
    base = os.path.splitext(ccd_path)[0]
    folder = os.path.dirname(os.path.abspath(ccd_path)) or "."
    stem = os.path.basename(base).lower()
    for entry in sorted(os.listdir(folder)):
        name, ext = os.path.splitext(entry)
        if name.lower() == stem and ext.lower() == ".img":
            return os.path.join(folder, entry)
    raise BadImage(f"{ccd_path}: the CloneCD data file {os.path.basename(base)}.img is missing; keep it next to the .ccd")


def open_image(path: str) -> SectorSource:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CCD_BYTES + 1)
    except OSError as exc:
        raise BadImage(f"{path}: cannot read the CCD descriptor ({exc.strerror})") from exc
    if len(raw) > MAX_CCD_BYTES or b"\x00" in raw:
        raise BadImage(f"{path}: this is not a CloneCD descriptor (binary data or larger than 1 MiB)")
    return CdImage(path, NAME, parse_ccd(raw.decode("latin-1"), path, img_path_for(path)))


def probe(f: BinaryIO, size: int) -> bool:
    try:
        f.seek(0)
        head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
        return head.lower().startswith(b"[clonecd]")
    except Exception:
        return False
