"""SUSP / Rock Ridge (RRIP) decoding of a directory record's system use area.

The parser follows ``CE`` continuation areas through a caller-supplied block reader, with a
hop limit so a continuation that points at itself cannot loop. It returns one ``RockRidge``
value per record; the tree walker decides what to do with it (names, relocation, modes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from burnd.errors import BadImage
from burnd.image.iso.records import record_date, u32le, volume_date
from burnd.image.iso.zisofs import parse_zf

#: read(block, offset_in_block, length) -> bytes
AreaReader = Callable[[int, int, int], bytes]

MAX_CONTINUATIONS = 64

NM_CONTINUE, NM_CURRENT, NM_PARENT = 1, 2, 4
SL_CONTINUE, SL_CURRENT, SL_PARENT, SL_ROOT = 1, 2, 4, 8


@dataclass(slots=True)
class RockRidge:
    """What the RRIP entries of one record say; ``None`` means "entry absent"."""

    name: str | None = None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    mtime: float | None = None
    symlink: str | None = None
    child_link: int | None = None  # CL: this file record stands for a relocated directory
    relocated: bool = False  # RE: hide this entry, it is shown at its CL place
    sp_skip: int | None = None  # SP in the root "." record: bytes to skip in every area
    extensions: list[str] = field(default_factory=list)  # ER identifiers
    zisofs_size: int | None = None  # ZF (algorithm 'pz'): the uncompressed size
    zisofs_other: bool = False  # ZF with an algorithm burnd does not inflate


def parse_system_use(area: bytes, read_area: AreaReader, skip: int = 0) -> RockRidge:
    """Decode one record's system use area (after ``skip`` bytes), following ``CE``."""
    rr = RockRidge()
    name_parts: list[str] = []
    link_parts: list[str] = []
    link_state = {"pending": "", "open": False}
    data = area[skip:]
    for _hop in range(MAX_CONTINUATIONS):
        continuation = _parse_area(data, rr, name_parts, link_parts, link_state)
        if continuation is None:
            break
        block, offset, length = continuation
        data = read_area(block, offset, length)
    else:
        raise BadImage(f"Rock Ridge continuation areas chain more than {MAX_CONTINUATIONS} times (cyclic CE entries)")
    if name_parts:
        rr.name = "".join(name_parts)
    if link_parts or link_state["open"]:
        if link_state["pending"]:
            link_parts.append(link_state["pending"])
        rr.symlink = _join_symlink(link_parts)
    return rr


def _parse_area(data: bytes, rr: RockRidge, name_parts: list[str], link_parts: list[str], link_state: dict) -> tuple[int, int, int] | None:
    continuation = None
    offset = 0
    while offset + 4 <= len(data):
        sig = bytes(data[offset : offset + 2])
        length = data[offset + 2]
        if length < 4 or offset + length > len(data):
            break  # padding or garbage after the last entry
        body = bytes(data[offset + 4 : offset + length])
        if sig == b"ST":
            break
        if sig == b"CE" and len(body) >= 24:
            continuation = (u32le(body, 0), u32le(body, 8), u32le(body, 16))
        else:
            _apply_entry(sig, body, rr, name_parts, link_parts, link_state)
        offset += length
    return continuation


def _apply_entry(sig: bytes, body: bytes, rr: RockRidge, name_parts: list[str], link_parts: list[str], link_state: dict) -> None:
    if sig == b"SP" and len(body) >= 3 and body[:2] == b"\xbe\xef":
        rr.sp_skip = body[2]
    elif sig == b"ER" and len(body) >= 4:
        id_len = body[0]
        rr.extensions.append(body[4 : 4 + id_len].decode("latin-1"))
    elif sig == b"NM" and len(body) >= 1:
        flags = body[0]
        if flags & NM_CURRENT:
            name_parts.append(".")
        elif flags & NM_PARENT:
            name_parts.append("..")
        else:
            name_parts.append(body[1:].decode("utf-8", errors="surrogateescape"))
    elif sig == b"PX" and len(body) >= 32:
        rr.mode = u32le(body, 0)
        rr.uid = u32le(body, 16)
        rr.gid = u32le(body, 24)
    elif sig == b"TF" and len(body) >= 1:
        rr.mtime = _tf_mtime(body)
    elif sig == b"SL" and len(body) >= 1:
        _sl_components(body[1:], link_parts, link_state)
    elif sig == b"CL" and len(body) >= 4:
        rr.child_link = u32le(body, 0)
    elif sig == b"RE":
        rr.relocated = True
    elif sig == b"ZF":
        rr.zisofs_size = parse_zf(body)
        rr.zisofs_other = rr.zisofs_size is None


def _tf_mtime(body: bytes) -> float | None:
    """The modification time from a TF entry (creation comes first when its bit is set)."""
    flags = body[0]
    long_form = bool(flags & 0x80)
    width = 17 if long_form else 7
    if not flags & 0x02:
        return None
    position = 1 + (width if flags & 0x01 else 0)
    stamp = body[position : position + width]
    if len(stamp) < width:
        return None
    return volume_date(stamp) if long_form else record_date(stamp)


def _sl_components(data: bytes, link_parts: list[str], link_state: dict) -> None:
    """Accumulate SL component records; a component with CONTINUE joins the next one."""
    link_state["open"] = True
    offset = 0
    while offset + 2 <= len(data):
        flags, length = data[offset], data[offset + 1]
        content = data[offset + 2 : offset + 2 + length]
        offset += 2 + length
        if flags & SL_ROOT:
            piece = "/"
        elif flags & SL_PARENT:
            piece = ".."
        elif flags & SL_CURRENT:
            piece = "."
        else:
            piece = content.decode("utf-8", errors="surrogateescape")
        link_state["pending"] += piece
        if not flags & SL_CONTINUE:
            link_parts.append(link_state["pending"])
            link_state["pending"] = ""


def _join_symlink(parts: list[str]) -> str:
    if not parts:
        return ""
    if parts[0] == "/":
        return "/" + "/".join(parts[1:])
    return "/".join(parts)

