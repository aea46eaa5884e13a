"""A minimal SCSI host for the emulator tests: CDBs built by hand from reference §3's tables,
responses parsed by hand. Deliberately independent of burnd.scsi.mmc so the two readings of
the reference can be compared.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Any

from burnd.emu import VirtualBurner
from burnd.scsi.transport import CommandResult, Direction

NONE, IN, OUT = Direction.NONE, Direction.FROM_DEVICE, Direction.TO_DEVICE


def u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def u32(value: int) -> bytes:
    return (value & 0xFFFFFFFF).to_bytes(4, "big")


def tur() -> bytes:
    return bytes(6)


def request_sense(alloc: int = 18) -> bytes:
    return bytes((0x03, 0, 0, 0, alloc, 0))


def inquiry(alloc: int = 36, evpd: int = 0, page: int = 0) -> bytes:
    return bytes((0x12, evpd, page)) + u16(alloc) + b"\x00"


def get_configuration(rt: int = 0, start: int = 0, alloc: int = 4096) -> bytes:
    return bytes((0x46, rt)) + u16(start) + bytes(3) + u16(alloc) + b"\x00"


def gesn(classes: int = 0x10, alloc: int = 8, polled: int = 1) -> bytes:
    return bytes((0x4A, polled, 0, 0, classes, 0, 0)) + u16(alloc) + b"\x00"


def disc_info(alloc: int = 34) -> bytes:
    return bytes((0x51, 0, 0, 0, 0, 0, 0)) + u16(alloc) + b"\x00"


def track_info(value: int, address_type: int = 1, alloc: int = 48) -> bytes:
    return bytes((0x52, address_type)) + u32(value) + b"\x00" + u16(alloc) + b"\x00"


def read_toc(fmt: int = 0, msf: bool = False, track: int = 0, alloc: int = 2048) -> bytes:
    return bytes((0x43, 0x02 if msf else 0, fmt, 0, 0, 0, track)) + u16(alloc) + b"\x00"


def read_capacity() -> bytes:
    return bytes((0x25,)) + bytes(9)


def read_format_capacities(alloc: int = 252) -> bytes:
    return bytes((0x23,)) + bytes(6) + u16(alloc) + b"\x00"


def write10(lba: int, count: int) -> bytes:
    return bytes((0x2A, 0)) + u32(lba) + b"\x00" + u16(count) + b"\x00"


def write12(lba: int, count: int) -> bytes:
    return bytes((0xAA, 0)) + u32(lba) + u32(count) + b"\x00\x00"


def read10(lba: int, count: int) -> bytes:
    return bytes((0x28, 0)) + u32(lba) + b"\x00" + u16(count) + b"\x00"


def read12(lba: int, count: int) -> bytes:
    return bytes((0xA8, 0)) + u32(lba) + u32(count) + b"\x00\x00"


def read_cd(lba: int, count: int, flags: int = 0x10) -> bytes:
    return bytes((0xBE, 0)) + u32(lba) + count.to_bytes(3, "big") + bytes((flags, 0, 0))


def sync_cache(immed: bool = False) -> bytes:
    return bytes((0x35, 0x02 if immed else 0)) + bytes(8)


def close(function: int, track: int = 0, immed: bool = False) -> bytes:
    return bytes((0x5B, 1 if immed else 0, function, 0)) + u16(track) + bytes(4)


def reserve_track(size: int) -> bytes:
    return bytes((0x53, 0, 0, 0, 0)) + u32(size) + b"\x00"


def blank(blank_type: int, immed: bool = False) -> bytes:
    return bytes((0xA1, blank_type | (0x10 if immed else 0))) + bytes(10)


def format_unit() -> bytes:
    return bytes((0x04, 0x11, 0, 0, 0, 0))


def format_params(
    blocks: int, ftype: int, param: int = 0, sub: int = 0, immed: bool = True
) -> bytes:
    return (
        bytes((0, 0x82 if immed else 0x80))
        + u16(8)
        + u32(blocks)
        + bytes(((ftype << 2) | sub,))
        + param.to_bytes(3, "big")
    )


def mode_sense(page: int, control: int = 0, alloc: int = 0xFFFF) -> bytes:
    return bytes((0x5A, 0x08, (control << 6) | page, 0, 0, 0, 0)) + u16(alloc) + b"\x00"


def mode_select(length: int) -> bytes:
    return bytes((0x55, 0x10, 0, 0, 0, 0, 0)) + u16(length) + b"\x00"


def page05(
    write_type: int = 1,
    multisession: int = 0,
    track_mode: int = 4,
    block_type: int = 8,
    test: bool = False,
    fixed_packet: bool = False,
    packet: int = 0,
    link: int = 0,
) -> bytes:
    """Mode parameter header (8 bytes, zero) + page 05h of length 32h."""
    page = bytearray(52)
    page[0], page[1] = 0x05, 0x32
    page[2] = 0x40 | (0x20 if link else 0) | (0x10 if test else 0) | write_type
    page[3] = (multisession << 6) | (0x20 if fixed_packet else 0) | track_mode
    page[4] = block_type
    page[5] = link
    page[10:14] = u32(packet)
    page[14:16] = u16(150)
    return bytes(8) + bytes(page)


def start_stop(byte4: int) -> bytes:
    return bytes((0x1B, 0, 0, 0, byte4, 0))


def prevent(lock: bool) -> bytes:
    return bytes((0x1E, 0, 0, 0, 1 if lock else 0, 0))


def sense_of(result: CommandResult) -> tuple[int, int, int]:
    s = result.sense
    return s[2] & 0x0F, s[12], s[13]


def well_formed_sense(sense: bytes) -> bool:
    return len(sense) >= 18 and sense[0] & 0x7F in (0x70, 0x71) and sense[7] + 8 == len(sense)


@dataclass
class DiscInfo:
    status: int
    last_session_state: int
    erasable: bool
    sessions: int
    first_track_last_session: int
    last_track_last_session: int
    bg_format: int
    length: int
    raw: bytes


def parse_disc_info(data: bytes) -> DiscInfo:
    return DiscInfo(
        status=data[2] & 3,
        last_session_state=(data[2] >> 2) & 3,
        erasable=bool(data[2] & 0x10),
        sessions=data[4] | (data[9] << 8),
        first_track_last_session=data[5] | (data[10] << 8),
        last_track_last_session=data[6] | (data[11] << 8),
        bg_format=data[7] & 3,
        length=struct.unpack(">H", data[0:2])[0],
        raw=bytes(data),
    )


@dataclass
class TrackInfo:
    number: int
    session: int
    blank: bool
    reserved: bool
    nwa_valid: bool
    start: int
    nwa: int
    free: int
    size: int
    last_recorded: int


def parse_track_info(data: bytes) -> TrackInfo:
    return TrackInfo(
        number=data[2] | (data[32] << 8),
        session=data[3] | (data[33] << 8),
        blank=bool(data[6] & 0x40),
        reserved=bool(data[6] & 0x80),
        nwa_valid=bool(data[7] & 1),
        start=struct.unpack(">I", data[8:12])[0],
        nwa=struct.unpack(">I", data[12:16])[0],
        free=struct.unpack(">I", data[16:20])[0],
        size=struct.unpack(">I", data[24:28])[0],
        last_recorded=struct.unpack(">I", data[28:32])[0],
    )


class Host:
    """Sends hand-built CDBs; ``ok`` asserts GOOD and returns the data, ``check`` the sense."""

    def __init__(self, vb: VirtualBurner) -> None:
        self.vb = vb

    def run(self, cdb: bytes, direction: Direction = NONE, data: Any = None) -> CommandResult:
        return self.vb.execute(cdb, direction, data)

    def ok(self, cdb: bytes, direction: Direction = NONE, data: Any = None) -> bytes:
        result = self.run(cdb, direction, data)
        assert result.ok, f"{cdb.hex()} failed: {result.sense.hex()}"
        return bytes(result.data)

    def get(self, cdb: bytes, alloc: int = 4096) -> bytes:
        return self.ok(cdb, IN, alloc)

    def check(
        self, cdb: bytes, direction: Direction = NONE, data: Any = None
    ) -> tuple[int, int, int]:
        result = self.run(cdb, direction, data)
        assert result.check_condition, f"{cdb.hex()} unexpectedly succeeded"
        assert well_formed_sense(result.sense)
        return sense_of(result)

    # Composite steps a burn engine performs, each built from the raw commands above.
    def profile(self) -> int:
        return struct.unpack(">H", self.get(get_configuration(alloc=8), 8)[6:8])[0]

    def disc(self) -> DiscInfo:
        return parse_disc_info(self.get(disc_info(), 34))

    def track(self, number: int, address_type: int = 1) -> TrackInfo:
        return parse_track_info(self.get(track_info(number, address_type), 48))

    def write(self, lba: int, count: int, fill: int = 0x5A) -> None:
        self.ok(write10(lba, count), OUT, bytes((fill,)) * (count * 2048))

    def read(self, lba: int, count: int) -> bytes:
        return self.get(read10(lba, count), count * 2048)

    def wait_ready(self, limit: int = 2000) -> list[tuple[int, int, int]]:
        """Poll TEST UNIT READY as reference §4.4 says; returns the senses seen on the way."""
        seen = []
        for _ in range(limit):
            result = self.run(tur())
            if result.ok:
                return seen
            seen.append(sense_of(result))
            time.sleep(0.005)
        raise AssertionError(f"drive never became ready: {seen[-3:]}")
