"""Identifier generation for the ISO 9660 (level 2) and Joliet trees of a new image.

Rock Ridge carries the real names; these are the fallbacks other readers show, so they only
need to be legal, unique within their directory, and deterministic (same input names, same
output) for reproducible images.
"""

from __future__ import annotations

import re

ISO_MAX = 30  # level 2: name + extension at most 30 characters (directories 31; we use 30)
JOLIET_MAX = 64
_NOT_DCHAR = re.compile(r"[^A-Z0-9_]")
_JOLIET_FORBIDDEN = re.compile(r"[*/:;?\\\x00-\x1f]")


def _dchars(value: str) -> str:
    return _NOT_DCHAR.sub("_", value.upper())


def iso_identifier(name: str, is_dir: bool) -> tuple[str, str]:
    """(base, extension) before uniqueness; directories have no extension."""
    if is_dir:
        return _dchars(name)[:ISO_MAX] or "_", ""
    base, dot, ext = name.rpartition(".")
    if not dot or not base:
        base, ext = name, ""
    ext = _dchars(ext)[:8]
    base = _dchars(base)[: ISO_MAX - 1 - len(ext)] or "_"
    return base, ext


def unique_iso_identifiers(names: list[str], dirs: list[bool]) -> list[bytes]:
    """Encoded identifiers (files as ``BASE.EXT;1``), made unique by a numeric tail."""
    taken: set[tuple[str, str]] = set()
    result = []
    for name, is_dir in zip(names, dirs):
        base, ext = iso_identifier(name, is_dir)
        room = ISO_MAX - (1 + len(ext) if not is_dir else 0)
        candidate, counter = (base, ext), 0
        while candidate in taken:
            counter += 1
            tail = str(counter)
            candidate = (base[: room - len(tail)] + tail, ext)
        taken.add(candidate)
        base, ext = candidate
        result.append(base.encode("ascii") if is_dir else f"{base}.{ext};1".encode("ascii"))
    return result


def unique_joliet_identifiers(names: list[str]) -> list[bytes]:
    """UCS-2BE names of at most 64 units, forbidden characters replaced, unique."""
    taken: set[str] = set()
    result = []
    for name in names:
        clean = _JOLIET_FORBIDDEN.sub("_", name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
        encoded = _truncate_ucs2(clean, JOLIET_MAX)
        counter = 0
        while _folded(encoded) in taken:
            counter += 1
            tail = f"~{counter}"
            encoded = _truncate_ucs2(clean, JOLIET_MAX - len(tail)) + tail.encode("utf-16-be")
        taken.add(_folded(encoded))
        result.append(encoded)
    return result


def _truncate_ucs2(value: str, units: int) -> bytes:
    """At most ``units`` UTF-16 code units, keeping the extension and never splitting a pair."""
    encoded = value.encode("utf-16-be", "surrogatepass")
    if len(encoded) <= units * 2:
        return encoded
    stem, dot, ext = value.rpartition(".")
    suffix = (dot + ext).encode("utf-16-be", "surrogatepass") if dot and len(ext) < 16 else b""
    head = (stem if suffix else value).encode("utf-16-be", "surrogatepass")[: units * 2 - len(suffix)]
    if head and 0xD8 <= head[-2] <= 0xDB:
        head = head[:-2]
    return head + suffix


def _folded(encoded: bytes) -> str:
    """Case-folded for the uniqueness check: Windows compares Joliet names without case."""
    return encoded.decode("utf-16-be", "surrogatepass").casefold()
