"""GET CONFIGURATION: the virtual drive's feature descriptors for the loaded medium.

The drive is a multi-format BD burner: every profile of :data:`~burnd.emu.kinds.DRIVE_PROFILES`
appears in the Profile List, and each feature's Current bit follows the loaded disc (reference
§3.4). Pure: a function of (disc or None, serial).
"""

from __future__ import annotations

from collections.abc import Callable

from burnd.emu.kinds import DRIVE_PROFILES, Family, Recording
from burnd.emu.media import Disc

Predicate = Callable[[Disc], bool]


def _descriptor(code: int, version: int, persistent: bool, current: bool, payload: bytes) -> bytes:
    flags = (version << 2) | (0x02 if persistent else 0) | (0x01 if current else 0)
    return code.to_bytes(2, "big") + bytes((flags, len(payload))) + payload


def _is(*names: str) -> Predicate:
    return lambda d: d.kind.name in names


def _family(family: Family) -> Predicate:
    return lambda d: d.kind.family is family


def _incremental(d: Disc) -> bool:
    return d.kind.name in ("cd-r", "cd-rw", "dvd-r", "bd-r") or (
        d.kind.name == "dvd-rw" and d.incremental_ok
    )


def _random_writable(d: Disc) -> bool:
    return d.kind.recording is Recording.RANDOM and d.is_formatted


def _formattable(d: Disc) -> bool:
    return bool(d.format_offers())


def _profile_list(disc: Disc | None) -> bytes:
    current = disc.profile if disc else 0
    return b"".join(
        p.to_bytes(2, "big") + bytes((0x01 if p == current else 0, 0)) for p in DRIVE_PROFILES
    )


def _random_writable_payload(disc: Disc | None) -> bytes:
    last = max(disc.user_capacity - 1, 0) if disc is not None and _random_writable(disc) else 0
    return last.to_bytes(4, "big") + (2048).to_bytes(4, "big") + b"\x00\x10\x00\x00"


Payload = bytes | Callable[[Disc | None], bytes]

# (code, version, current-predicate, payload); media features, sorted by code.
_MEDIA_FEATURES: tuple[tuple[int, int, Predicate, Payload], ...] = (
    (0x0010, 0, lambda d: True, (2048).to_bytes(4, "big") + b"\x00\x10\x01\x00"),
    (0x0020, 1, _random_writable, _random_writable_payload),
    (0x001D, 0, _family(Family.CD), b""),
    (0x001E, 1, _family(Family.CD), b"\x00\x00\x00\x00"),
    (0x001F, 0, _family(Family.DVD), b"\x00\x00\x00\x00"),
    (0x0021, 1, _incremental, b"\x01\x00\x01\x01\x10\x00\x00\x00"),
    (0x0023, 0, _formattable, b"\x00\x00\x00\x00\x00\x00\x00\x00"),
    (0x0024, 0, _is("dvd-ram", "bd-re"), b""),
    (0x0025, 0, lambda d: False, b"\x00\x00\x08\x00\x00\x01\x00\x00"),
    (0x0026, 0, _is("dvd-rw-ro"), b""),
    (0x0027, 0, _is("cd-rw"), b"\x00\x00\x00\x00"),
    (0x002A, 0, _is("dvd+rw"), b"\x01\x00\x00\x00"),
    (0x002B, 0, _is("dvd+r"), b"\x01\x00\x00\x00"),
    (0x002C, 0, _is("dvd-rw-ro"), b"\x0e\x00\x00\x00"),
    (0x002D, 2, _is("cd-r", "cd-rw"), b"\x46\x00\x00\x00"),
    (0x002E, 0, _is("cd-r", "cd-rw"), b"\x66\x00\x10\x00"),
    (0x002F, 1, _is("dvd-r", "dvd-rw"), b"\x46\x00\x00\x00"),
    (0x0038, 0, lambda d: d.kind.name == "bd-r" and d.pow, b"\x00\x00\x00\x00"),
    (0x003B, 0, _is("dvd+r-dl"), b"\x01\x00\x00\x00"),
    (0x0040, 1, _family(Family.BD), bytes(28)),
    (0x0041, 1, _is("bd-r", "bd-re"), bytes(20)),
)


def features(disc: Disc | None, serial: str) -> list[tuple[int, bool, bytes]]:
    """All feature descriptors as (code, current, bytes), in ascending code order."""
    out = [
        (0x0000, True, _descriptor(0x0000, 0, True, True, _profile_list(disc))),
        (0x0001, True, _descriptor(0x0001, 2, True, True, b"\x00\x00\x00\x01\x01\x00\x00\x00")),
        (0x0002, True, _descriptor(0x0002, 1, True, True, b"\x02\x00\x00\x00")),
        (0x0003, True, _descriptor(0x0003, 0, True, True, b"\x29\x00\x00\x00")),
    ]
    for code, version, predicate, payload in _MEDIA_FEATURES:
        current = disc is not None and predicate(disc)
        body = payload(disc) if callable(payload) else payload
        out.append((code, current, _descriptor(code, version, False, current, body)))
    out += [
        (0x0100, True, _descriptor(0x0100, 0, True, True, b"")),
        (0x0107, True, _descriptor(0x0107, 3, True, True, b"\x0f\x00\x00\x00")),
        (0x0108, True, _descriptor(0x0108, 0, True, True, _serial_payload(serial))),
    ]
    return out


def _serial_payload(serial: str) -> bytes:
    raw = serial.encode("ascii", "replace")
    return raw.ljust(-(-len(raw) // 4) * 4, b" ")


def configuration(disc: Disc | None, serial: str, rt: int, start: int) -> bytes:
    """The whole GET CONFIGURATION response for request type ``rt`` from ``start``."""
    chosen = []
    for code, current, blob in features(disc, serial):
        if (
            rt == 0
            and code >= start
            or rt == 1
            and code >= start
            and current
            or (rt == 2 and code == start)
        ):
            chosen.append(blob)
    body = bytearray(8)
    body[6:8] = (disc.profile if disc else 0).to_bytes(2, "big")
    body += b"".join(chosen)
    body[0:4] = (len(body) - 4).to_bytes(4, "big")
    return bytes(body)
