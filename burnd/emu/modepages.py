"""Mode pages 05h (Write Parameters, settable) and 2Ah (Capabilities, read-only).

Reference §3.13. Page 05h is drive state, not medium state: it survives media changes, and its
Write Type / Multi-session fields decide how CD and DVD-R[W] tracks and sessions are recorded.
"""

from __future__ import annotations

from burnd.emu import responses as r
from burnd.emu.kinds import Family, MediumKind
from burnd.emu.media import WRITE_PACKET, WRITE_RAW, WRITE_SAO, WRITE_TAO, WriteMode

PAGE05_LENGTH = 0x32
PAGE2A_LENGTH = 0x22
MODE_HEADER = 8
BUFFER_KIB = 4096
# Data block types → bytes per block (reference §3.13 page 05h byte 4).
BLOCK_SIZES = {
    0: 2352,
    1: 2368,
    2: 2448,
    3: 2448,
    8: 2048,
    9: 2336,
    10: 2048,
    11: 2056,
    12: 2324,
    13: 2332,
}
# Bits a host may change in page 05h (the "changeable values" mask), bytes 2–51.
_CHANGEABLE = bytes((0x7F, 0xFF, 0x0F, 0xFF, 0x00, 0x3F, 0xFF, 0x00)) + bytes((0xFF,) * 42)


def default_page05() -> bytearray:
    """Power-on page 05h: TAO, Mode 1 data, no multi-session (real drives' usual default)."""
    page = bytearray(PAGE05_LENGTH + 2)
    page[0], page[1] = 0x05, PAGE05_LENGTH
    page[2] = 0x40 | WRITE_TAO
    page[3] = 0x04
    page[4] = 8
    page[14:16] = (150).to_bytes(2, "big")
    return page


def changeable_page05() -> bytes:
    return bytes((0x05, PAGE05_LENGTH)) + _CHANGEABLE


def write_mode(page: bytes | bytearray) -> WriteMode:
    return WriteMode(
        write_type=page[2] & 0x0F,
        multisession=page[3] >> 6,
        fixed_packet=bool(page[3] & 0x20),
        packet_size=int.from_bytes(page[10:14], "big"),
        test_write=bool(page[2] & 0x10),
    )


def block_size(page: bytes | bytearray) -> int:
    return BLOCK_SIZES.get(page[4] & 0x0F, 2048)


def validate_page05(page: bytes, kind: MediumKind | None) -> None:
    """Reject what real drives reject in MODE SELECT page 05h for the loaded medium.

    Offsets in the raised errors are relative to the parameter list (8-byte header first).
    """
    if page[0] & 0x80:
        raise r.invalid_param_field(MODE_HEADER, bit=7)
    if page[1] != PAGE05_LENGTH:
        raise r.invalid_param_field(MODE_HEADER + 1)
    if page[4] & 0x0F not in BLOCK_SIZES:
        raise r.invalid_param_field(MODE_HEADER + 4)
    write_type = page[2] & 0x0F
    if write_type > WRITE_RAW:
        raise r.invalid_param_field(MODE_HEADER + 2)
    if kind is None or not kind.uses_page05:
        return
    if kind.family is Family.DVD:
        if write_type not in (WRITE_PACKET, WRITE_SAO) or page[4] & 0x0F != 8:
            raise r.invalid_param_field(MODE_HEADER + 2)
        if write_type == WRITE_PACKET and page[2] & 0x20 and page[5] != 16:
            raise r.invalid_param_field(MODE_HEADER + 5)


PAGES = (0x05, 0x2A)


def page(code: int, control: int, page05: bytes | bytearray, locked: bool) -> bytes:
    """One page as MODE SENSE returns it: current (0), changeable mask (1) or default (2)."""
    if code == 0x05:
        return {0: bytes(page05), 1: changeable_page05(), 2: bytes(default_page05())}[control]
    if control == 1:
        return bytes((0x2A, PAGE2A_LENGTH)) + bytes(PAGE2A_LENGTH)
    return page2a(locked)


def page2a(disc_locked: bool) -> bytes:
    """Capabilities page: reads/writes CD-R/RW, DVD-R/RAM; tray loader; 4 MiB buffer."""
    page = bytearray(PAGE2A_LENGTH + 2)
    page[0], page[1] = 0x2A, PAGE2A_LENGTH
    page[2] = 0x3B
    page[3] = 0x37
    page[4] = 0xF0
    page[5] = 0x00
    page[6] = 0x29 | (0x02 if disc_locked else 0)
    page[8:10] = (7056).to_bytes(2, "big")
    page[12:14] = BUFFER_KIB.to_bytes(2, "big")
    page[18:20] = (7056).to_bytes(2, "big")
    page[20:22] = (7056).to_bytes(2, "big")
    page[28:30] = (7056).to_bytes(2, "big")
    page[30:32] = (1).to_bytes(2, "big")
    page[34:36] = (7056).to_bytes(2, "big")
    return bytes(page)
