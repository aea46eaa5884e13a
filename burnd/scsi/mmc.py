"""MMC command descriptor blocks and response parsers: pure functions over bytes.

Builders return the CDB (and, for commands that send data, the parameter list) so every byte
can be checked against the reference tables without a drive. Parsers take whatever the drive
returned and give frozen dataclasses; anything malformed raises :class:`ParseError` and nothing
else, because the bytes come from hardware (or an emulator) we do not control and the callers
must be able to treat "the drive answered garbage" as one case.

Length rules (reference 3.0): a response carries its own length field. When the host's
allocation length cut the response short, parsers report what fits ("truncated but
consistent"); when the declared length cannot hold the mandatory fields, or the bytes run out
before them, the response is inconsistent and rejected.

Field offsets and bit positions follow /work/shared/reference/mmc.md section 3.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from burnd.errors import BurndError


class ParseError(BurndError):
    """A drive response is too short or internally inconsistent to be trusted."""

    dbus_name = "BadDriveResponse"


# ----------------------------------------------------------------------------- byte helpers


def be(data: bytes | memoryview, offset: int, size: int, what: str) -> int:
    """Big-endian unsigned field; a field past the end of ``data`` is a ParseError."""
    if offset < 0 or offset + size > len(data):
        raise ParseError(
            f"{what}: response is {len(data)} bytes, field at byte {offset} needs "
            f"{offset + size}; the drive sent a malformed or truncated answer"
        )
    return int.from_bytes(data[offset : offset + size], "big")


def sbe(data: bytes | memoryview, offset: int, size: int, what: str) -> int:
    """Big-endian two's-complement field (LBAs may be negative: CD lead-in)."""
    value = be(data, offset, size, what)
    sign = 1 << (8 * size - 1)
    return value - (sign << 1) if value & sign else value


def opt_be(data: bytes | memoryview, offset: int, size: int) -> int | None:
    """A trailing optional field: None when the response stops before it."""
    if offset + size > len(data):
        return None
    return int.from_bytes(data[offset : offset + size], "big")


def declared(data: bytes | memoryview, length_size: int, minimum: int, what: str) -> int:
    """Bytes of a response that are both declared by its length field and present.

    ``length_size`` is the width of the leading length field, which counts the bytes after
    itself. ``minimum`` is how many bytes the mandatory part needs; less is inconsistent
    whether the length field or the transfer is at fault.
    """
    length = be(data, 0, length_size, what) + length_size
    if length < minimum:
        raise ParseError(
            f"{what}: the length field declares {length} bytes but the mandatory part is "
            f"{minimum}; the drive's answer is inconsistent"
        )
    available = min(length, len(data))
    if available < minimum:
        raise ParseError(
            f"{what}: got {len(data)} bytes, need at least {minimum}; ask with a larger "
            f"allocation length or check the transport"
        )
    return available


def _ascii(raw: bytes | memoryview) -> str:
    """Space/NUL-padded ASCII identification field; undecodable bytes are replaced."""
    return bytes(raw).decode("ascii", "replace").rstrip(" \x00")


def _put(buf: bytearray, offset: int, size: int, value: int, what: str, signed: bool = False) -> None:
    try:
        buf[offset : offset + size] = value.to_bytes(size, "big", signed=signed)
    except OverflowError:
        raise ValueError(f"{what}={value} does not fit in {size} byte(s)") from None


def _cdb(size: int, opcode: int) -> bytearray:
    buf = bytearray(size)
    buf[0] = opcode
    return buf


def _bits(value: int, lo: int, width: int, what: str) -> int:
    """Place ``value`` in a bit field, refusing values that would spill into neighbours."""
    if not 0 <= value < (1 << width):
        raise ValueError(f"{what}={value} does not fit in {width} bit(s)")
    return value << lo


# ----------------------------------------------------------------------------- opcodes


class Op(enum.IntEnum):
    TEST_UNIT_READY = 0x00
    REQUEST_SENSE = 0x03
    FORMAT_UNIT = 0x04
    INQUIRY = 0x12
    START_STOP_UNIT = 0x1B
    PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1E
    READ_FORMAT_CAPACITIES = 0x23
    READ_CAPACITY = 0x25
    READ_10 = 0x28
    WRITE_10 = 0x2A
    WRITE_AND_VERIFY_10 = 0x2E
    SYNCHRONIZE_CACHE = 0x35
    READ_TOC_PMA_ATIP = 0x43
    GET_CONFIGURATION = 0x46
    GET_EVENT_STATUS_NOTIFICATION = 0x4A
    READ_DISC_INFORMATION = 0x51
    READ_TRACK_INFORMATION = 0x52
    RESERVE_TRACK = 0x53
    SEND_OPC_INFORMATION = 0x54
    MODE_SELECT_10 = 0x55
    MODE_SENSE_10 = 0x5A
    CLOSE_TRACK_SESSION = 0x5B
    READ_BUFFER_CAPACITY = 0x5C
    SEND_CUE_SHEET = 0x5D
    BLANK = 0xA1
    READ_12 = 0xA8
    WRITE_12 = 0xAA
    GET_PERFORMANCE = 0xAC
    READ_DISC_STRUCTURE = 0xAD
    SET_STREAMING = 0xB6
    READ_CD_MSF = 0xB9
    SET_CD_SPEED = 0xBB
    MECHANISM_STATUS = 0xBD
    READ_CD = 0xBE


_OP_NAMES = {
    Op.READ_10: "READ(10)",
    Op.READ_12: "READ(12)",
    Op.WRITE_10: "WRITE(10)",
    Op.WRITE_12: "WRITE(12)",
    Op.WRITE_AND_VERIFY_10: "WRITE AND VERIFY(10)",
    Op.MODE_SELECT_10: "MODE SELECT(10)",
    Op.MODE_SENSE_10: "MODE SENSE(10)",
    Op.READ_TOC_PMA_ATIP: "READ TOC/PMA/ATIP",
    Op.CLOSE_TRACK_SESSION: "CLOSE TRACK/SESSION",
    Op.PREVENT_ALLOW_MEDIUM_REMOVAL: "PREVENT ALLOW MEDIUM REMOVAL",
}


def command_name(cdb: bytes | memoryview) -> str:
    """Human name of the command in ``cdb`` for messages ("WRITE(10)", "opcode 0xC0")."""
    if len(cdb) == 0:
        return "empty CDB"
    try:
        op = Op(cdb[0])
    except ValueError:
        return f"opcode 0x{cdb[0]:02X}"
    return _OP_NAMES.get(op, op.name.replace("_", " "))


def command_lba(cdb: bytes | memoryview) -> int | None:
    """The LBA a READ/WRITE CDB addresses, for "failed at LBA n" messages."""
    if len(cdb) >= 10 and cdb[0] in (Op.READ_10, Op.READ_12, Op.WRITE_10, Op.WRITE_12,
                                     Op.WRITE_AND_VERIFY_10, Op.READ_CD):
        return int.from_bytes(cdb[2:6], "big", signed=True)
    return None


# ----------------------------------------------------------------------------- MSF <-> LBA

FRAMES_PER_SECOND = 75
LEAD_IN_MINUTE = 90
LEAD_IN_FIRST_LBA = -45150  # 90:00:00


def msf_to_lba(minute: int, second: int, frame: int) -> int:
    """CD address to LBA; minutes >= 90 are lead-in addresses, i.e. negative LBAs."""
    if not (0 <= second < 60 and 0 <= frame < FRAMES_PER_SECOND and 0 <= minute <= 255):
        raise ValueError(f"invalid MSF {minute:02}:{second:02}:{frame:02}")
    lba = (minute * 60 + second) * FRAMES_PER_SECOND + frame
    return lba - 450150 if minute >= LEAD_IN_MINUTE else lba - 150


def lba_to_msf(lba: int) -> tuple[int, int, int]:
    """Inverse of :func:`msf_to_lba` for LBAs from the lead-in (-45150) to 89:59:74."""
    if not LEAD_IN_FIRST_LBA <= lba < LEAD_IN_MINUTE * 60 * FRAMES_PER_SECOND - 150:
        raise ValueError(f"LBA {lba} has no CD MSF address")
    frames = lba + 150 if lba >= -150 else lba + 450150
    minute, rest = divmod(frames, 60 * FRAMES_PER_SECOND)
    second, frame = divmod(rest, FRAMES_PER_SECOND)
    return minute, second, frame


def _msf_at(data: bytes | memoryview, offset: int, what: str) -> int:
    """LBA of the 3-byte MSF at ``offset`` (bytes M, S, F)."""
    m, s, f = (be(data, offset + i, 1, what) for i in range(3))
    try:
        return msf_to_lba(m, s, f)
    except ValueError as exc:
        raise ParseError(f"{what}: {exc}") from None


# ----------------------------------------------------------------------------- simple CDBs


def test_unit_ready() -> bytes:
    return bytes(6)


def request_sense(allocation: int = 252) -> bytes:
    """Fixed-format sense (DESC = 0), the format every decoder understands."""
    cdb = _cdb(6, Op.REQUEST_SENSE)
    _put(cdb, 4, 1, allocation, "allocation")
    return bytes(cdb)


def inquiry(allocation: int = 96, page: int | None = None) -> bytes:
    """Standard INQUIRY, or the VPD page ``page`` (EVPD = 1)."""
    cdb = _cdb(6, Op.INQUIRY)
    if page is not None:
        cdb[1] = 0x01
        _put(cdb, 2, 1, page, "page")
    _put(cdb, 3, 2, allocation, "allocation")
    return bytes(cdb)


VPD_UNIT_SERIAL = 0x80


class RT(enum.IntEnum):
    """GET CONFIGURATION request type."""

    ALL = 0
    CURRENT = 1
    ONE = 2


def get_configuration(rt: RT = RT.ALL, start: int = 0, allocation: int = 8) -> bytes:
    cdb = _cdb(10, Op.GET_CONFIGURATION)
    cdb[1] = _bits(int(rt), 0, 2, "rt")
    _put(cdb, 2, 2, start, "start feature")
    _put(cdb, 7, 2, allocation, "allocation")
    return bytes(cdb)


GESN_MEDIA_CLASS = 0x10


def get_event_status_notification(classes: int = GESN_MEDIA_CLASS, allocation: int = 8) -> bytes:
    """Polled GESN (asynchronous notification is not supported anywhere in practice)."""
    cdb = _cdb(10, Op.GET_EVENT_STATUS_NOTIFICATION)
    cdb[1] = 0x01
    _put(cdb, 4, 1, classes, "classes")
    _put(cdb, 7, 2, allocation, "allocation")
    return bytes(cdb)


def read_disc_information(allocation: int = 34, data_type: int = 0) -> bytes:
    cdb = _cdb(10, Op.READ_DISC_INFORMATION)
    cdb[1] = _bits(data_type, 0, 3, "data type")
    _put(cdb, 7, 2, allocation, "allocation")
    return bytes(cdb)


class AddressType(enum.IntEnum):
    """READ TRACK INFORMATION byte 1 bits 0-1: what bytes 2-5 mean."""

    LBA = 0
    TRACK = 1
    SESSION = 2


INVISIBLE_TRACK = 0xFF


def read_track_information(
    number: int, address_type: AddressType = AddressType.TRACK, allocation: int = 48,
    open_track: bool = False,
) -> bytes:
    cdb = _cdb(10, Op.READ_TRACK_INFORMATION)
    cdb[1] = int(address_type) | (0x04 if open_track else 0)
    _put(cdb, 2, 4, number, "address/number", signed=address_type == AddressType.LBA)
    _put(cdb, 7, 2, allocation, "allocation")
    return bytes(cdb)


class TocFormat(enum.IntEnum):
    FORMATTED = 0
    MULTISESSION = 1
    RAW = 2
    PMA = 3
    ATIP = 4
    CD_TEXT = 5


def read_toc(fmt: TocFormat, allocation: int, track: int = 0, msf: bool = False) -> bytes:
    cdb = _cdb(10, Op.READ_TOC_PMA_ATIP)
    cdb[1] = 0x02 if msf else 0
    cdb[2] = _bits(int(fmt), 0, 4, "format")
    _put(cdb, 6, 1, track, "track/session")
    _put(cdb, 7, 2, allocation, "allocation")
    return bytes(cdb)


def read_capacity() -> bytes:
    return bytes(_cdb(10, Op.READ_CAPACITY))


def read_format_capacities(allocation: int = 252) -> bytes:
    cdb = _cdb(10, Op.READ_FORMAT_CAPACITIES)
    _put(cdb, 7, 2, allocation, "allocation")
    return bytes(cdb)


# ----------------------------------------------------------------------------- formatting / blanking


FORMAT_PARAMETER_LENGTH = 12


def format_unit() -> bytes:
    """FORMAT UNIT with FmtData = 1 and format code 001b; the descriptor says what to do."""
    cdb = _cdb(6, Op.FORMAT_UNIT)
    cdb[1] = 0x11
    return bytes(cdb)


def format_unit_parameters(
    blocks: int, format_type: int, subtype: int = 0, type_parameter: int = 0,
    immed: bool = True, fov: bool = True, dcrt: bool = False,
) -> bytes:
    """The 12-byte parameter list: 4-byte header + one format descriptor (reference 3.11)."""
    buf = bytearray(FORMAT_PARAMETER_LENGTH)
    buf[1] = (0x80 if fov else 0) | (0x20 if dcrt else 0) | (0x02 if immed else 0)
    _put(buf, 2, 2, 8, "descriptor length")
    _put(buf, 4, 4, blocks, "blocks")
    buf[8] = _bits(format_type, 2, 6, "format type") | _bits(subtype, 0, 2, "subtype")
    _put(buf, 9, 3, type_parameter, "type parameter")
    return bytes(buf)


class BlankType(enum.IntEnum):
    FULL = 0
    MINIMAL = 1
    TRACK = 2
    UNRESERVE_TRACK = 3
    TRACK_TAIL = 4
    UNCLOSE_SESSION = 5
    SESSION = 6


def blank(blank_type: BlankType, immed: bool = True, address: int = 0) -> bytes:
    cdb = _cdb(12, Op.BLANK)
    cdb[1] = (0x10 if immed else 0) | _bits(int(blank_type), 0, 3, "blank type")
    _put(cdb, 2, 4, address, "address")
    return bytes(cdb)


# ----------------------------------------------------------------------------- data transfer

BLOCK_SIZE = 2048
"""User data per block on DVD/BD and on CD Mode 1 / Mode 2 Form 1 data tracks."""


def _rw10(op: Op, lba: int, blocks: int, fua: bool) -> bytes:
    cdb = _cdb(10, op)
    cdb[1] = 0x08 if fua else 0
    _put(cdb, 2, 4, lba, "lba", signed=True)
    _put(cdb, 7, 2, blocks, "blocks")
    return bytes(cdb)


def _rw12(op: Op, lba: int, blocks: int, fua: bool, streaming: bool) -> bytes:
    cdb = _cdb(12, op)
    cdb[1] = 0x08 if fua else 0
    _put(cdb, 2, 4, lba, "lba", signed=True)
    _put(cdb, 6, 4, blocks, "blocks")
    cdb[10] = 0x80 if streaming else 0
    return bytes(cdb)


def write_and_verify10(lba: int, blocks: int) -> bytes:
    """Same layout as WRITE(10); growisofs' verify-while-writing variant."""
    return _rw10(Op.WRITE_AND_VERIFY_10, lba, blocks, False)


def read10(lba: int, blocks: int) -> bytes:
    return _rw10(Op.READ_10, lba, blocks, False)


def read12(lba: int, blocks: int, streaming: bool = False) -> bytes:
    return _rw12(Op.READ_12, lba, blocks, False, streaming)


def write10(lba: int, blocks: int, fua: bool = False) -> bytes:
    return _rw10(Op.WRITE_10, lba, blocks, fua)


def write12(lba: int, blocks: int, fua: bool = False, streaming: bool = False) -> bytes:
    return _rw12(Op.WRITE_12, lba, blocks, fua, streaming)


class SectorType(enum.IntEnum):
    """READ CD expected sector type (byte 1 bits 2-4)."""

    ANY = 0
    CDDA = 1
    MODE1 = 2
    MODE2 = 3
    MODE2_FORM1 = 4
    MODE2_FORM2 = 5


READ_CD_USER_DATA = 0x10
READ_CD_FULL_SECTOR = 0xF8


def read_cd(
    lba: int, blocks: int, sector_type: SectorType = SectorType.ANY,
    flags: int = READ_CD_USER_DATA, subchannel: int = 0,
) -> bytes:
    """READ CD; ``flags`` is byte 9 (0x10 user data only, 0xF8 the whole 2352-byte sector)."""
    cdb = _cdb(12, Op.READ_CD)
    cdb[1] = _bits(int(sector_type), 2, 3, "sector type")
    _put(cdb, 2, 4, lba, "lba", signed=True)
    _put(cdb, 6, 3, blocks, "blocks")
    _put(cdb, 9, 1, flags, "flags")
    cdb[10] = _bits(subchannel, 0, 3, "subchannel")
    return bytes(cdb)


def synchronize_cache(immed: bool = True, lba: int = 0, blocks: int = 0) -> bytes:
    cdb = _cdb(10, Op.SYNCHRONIZE_CACHE)
    cdb[1] = 0x02 if immed else 0
    _put(cdb, 2, 4, lba, "lba")
    _put(cdb, 7, 2, blocks, "blocks")
    return bytes(cdb)


class CloseFunction(enum.IntEnum):
    STOP_BACKGROUND_FORMAT = 0
    TRACK = 1
    SESSION = 2
    FINALIZE_MINIMAL_RADIUS = 5
    FINALIZE = 6


def close_track_session(function: CloseFunction, track: int = 0, immed: bool = True) -> bytes:
    cdb = _cdb(10, Op.CLOSE_TRACK_SESSION)
    cdb[1] = 0x01 if immed else 0
    cdb[2] = _bits(int(function), 0, 3, "close function")
    _put(cdb, 4, 2, track, "track")
    return bytes(cdb)


def reserve_track(blocks: int) -> bytes:
    cdb = _cdb(10, Op.RESERVE_TRACK)
    _put(cdb, 5, 4, blocks, "blocks")
    return bytes(cdb)


@dataclass(frozen=True, slots=True)
class CueEntry:
    """One 8-byte cue sheet entry (reference 5.2); ``lba`` is the entry's absolute address."""

    ctl_adr: int
    track: int
    index: int
    data_form: int
    lba: int
    scms: int = 0


def cue_sheet(entries: list[CueEntry]) -> bytes:
    out = bytearray()
    for e in entries:
        m, s, f = lba_to_msf(e.lba)
        out += bytes((e.ctl_adr, e.track, e.index, e.data_form, e.scms, m, s, f))
    return bytes(out)


def send_cue_sheet(size: int) -> bytes:
    cdb = _cdb(10, Op.SEND_CUE_SHEET)
    _put(cdb, 6, 3, size, "cue sheet size")
    return bytes(cdb)


def send_opc_information(do_opc: bool = True) -> bytes:
    """Optimum power calibration before writing DVD-R[W] without an OPC table (reference 3.29)."""
    cdb = _cdb(10, Op.SEND_OPC_INFORMATION)
    cdb[1] = 0x01 if do_opc else 0
    return bytes(cdb)


# ----------------------------------------------------------------------------- speed

SPEED_MAX = 0xFFFF


def set_cd_speed(read_kbps: int = SPEED_MAX, write_kbps: int = SPEED_MAX, rotation: int = 0) -> bytes:
    cdb = _cdb(12, Op.SET_CD_SPEED)
    cdb[1] = _bits(rotation, 0, 2, "rotation")
    _put(cdb, 2, 2, read_kbps, "read speed")
    _put(cdb, 4, 2, write_kbps, "write speed")
    return bytes(cdb)


PERFORMANCE_DESCRIPTOR_SIZE = 28


def set_streaming(length: int = PERFORMANCE_DESCRIPTOR_SIZE, stream_type: int = 0) -> bytes:
    cdb = _cdb(12, Op.SET_STREAMING)
    _put(cdb, 8, 1, stream_type, "type")
    _put(cdb, 9, 2, length, "parameter list length")
    return bytes(cdb)


def performance_descriptor(
    end_lba: int, read_kbps: int, write_kbps: int, start_lba: int = 0,
    wrc: int = 0, restore_defaults: bool = False, exact: bool = False, random_access: bool = False,
    time_ms: int = 1000,
) -> bytes:
    """SET STREAMING's 28-byte descriptor; sizes are kB per ``time_ms``, so kB/s at 1000 ms."""
    buf = bytearray(PERFORMANCE_DESCRIPTOR_SIZE)
    buf[0] = (_bits(wrc, 3, 2, "wrc") | (0x04 if restore_defaults else 0)
              | (0x02 if exact else 0) | (0x01 if random_access else 0))
    _put(buf, 4, 4, start_lba, "start lba")
    _put(buf, 8, 4, end_lba, "end lba")
    read_size = read_kbps * time_ms // 1000
    write_size = write_kbps * time_ms // 1000
    _put(buf, 12, 4, read_size, "read size")
    _put(buf, 16, 4, time_ms, "read time")
    _put(buf, 20, 4, write_size, "write size")
    _put(buf, 24, 4, time_ms, "write time")
    return bytes(buf)


class PerformanceType(enum.IntEnum):
    PERFORMANCE = 0x00
    WRITE_SPEED = 0x03


def get_performance(
    perf_type: PerformanceType, max_descriptors: int, start_lba: int = 0,
    write: bool = False, except_bits: int = 0,
) -> bytes:
    """GET PERFORMANCE; type 00h carries Tolerance = 10b (drives reject other values)."""
    cdb = _cdb(12, Op.GET_PERFORMANCE)
    if perf_type == PerformanceType.PERFORMANCE:
        cdb[1] = 0x10 | (0x04 if write else 0) | _bits(except_bits, 0, 2, "except")
    _put(cdb, 2, 4, start_lba, "start lba")
    _put(cdb, 8, 2, max_descriptors, "max descriptors")
    cdb[10] = int(perf_type)
    return bytes(cdb)


# ----------------------------------------------------------------------------- mechanics


def read_buffer_capacity(allocation: int = 12, block: bool = False) -> bytes:
    cdb = _cdb(10, Op.READ_BUFFER_CAPACITY)
    cdb[1] = 0x01 if block else 0
    _put(cdb, 7, 2, allocation, "allocation")
    return bytes(cdb)


def start_stop_unit(start: bool, load_eject: bool, immed: bool = False) -> bytes:
    """Byte 4: 02h eject, 03h load, 01h spin up, 00h stop."""
    cdb = _cdb(6, Op.START_STOP_UNIT)
    cdb[1] = 0x01 if immed else 0
    cdb[4] = (0x02 if load_eject else 0) | (0x01 if start else 0)
    return bytes(cdb)


def prevent_allow_medium_removal(prevent: bool) -> bytes:
    cdb = _cdb(6, Op.PREVENT_ALLOW_MEDIUM_REMOVAL)
    cdb[4] = 0x01 if prevent else 0
    return bytes(cdb)


def mechanism_status(allocation: int = 8) -> bytes:
    cdb = _cdb(12, Op.MECHANISM_STATUS)
    _put(cdb, 8, 2, allocation, "allocation")
    return bytes(cdb)


def read_disc_structure(
    fmt: int, allocation: int, media_type: int = 0, address: int = 0, layer: int = 0,
) -> bytes:
    cdb = _cdb(12, Op.READ_DISC_STRUCTURE)
    cdb[1] = _bits(media_type, 0, 4, "media type")
    _put(cdb, 2, 4, address, "address")
    _put(cdb, 6, 1, layer, "layer")
    _put(cdb, 7, 1, fmt, "format")
    _put(cdb, 8, 2, allocation, "allocation")
    return bytes(cdb)


# ----------------------------------------------------------------------------- INQUIRY

PERIPHERAL_MMC = 0x05


@dataclass(frozen=True, slots=True)
class Inquiry:
    peripheral_type: int
    qualifier: int
    removable: bool
    version: int
    response_format: int
    vendor: str
    product: str
    revision: str


def parse_inquiry(data: bytes | memoryview) -> Inquiry:
    """Standard INQUIRY data; identification strings are reported as far as they were sent."""
    what = "INQUIRY"
    first = be(data, 0, 1, what)
    be(data, 4, 1, what)
    available = min(len(data), data[4] + 5)
    body = bytes(data[:available])
    return Inquiry(
        peripheral_type=first & 0x1F,
        qualifier=first >> 5,
        removable=bool(data[1] & 0x80),
        version=data[2],
        response_format=data[3] & 0x0F,
        vendor=_ascii(body[8:16]),
        product=_ascii(body[16:32]),
        revision=_ascii(body[32:36]),
    )


def parse_unit_serial(data: bytes | memoryview) -> str:
    """VPD page 80h: byte 1 page code, bytes 2-3 page length, serial from byte 4."""
    what = "INQUIRY VPD 80h"
    if be(data, 1, 1, what) != VPD_UNIT_SERIAL:
        raise ParseError(f"{what}: page code is 0x{data[1]:02X}, not 0x80")
    length = be(data, 2, 2, what)
    return _ascii(bytes(data[4 : 4 + length])).strip()


# ----------------------------------------------------------------------------- GESN


class MediaEventCode(enum.IntEnum):
    NO_CHANGE = 0
    EJECT_REQUEST = 1
    NEW_MEDIA = 2
    MEDIA_REMOVAL = 3
    MEDIA_CHANGED = 4
    BG_FORMAT_COMPLETED = 5
    BG_FORMAT_RESTARTED = 6


@dataclass(frozen=True, slots=True)
class MediaEvent:
    code: int
    tray_open: bool
    media_present: bool
    start_slot: int
    end_slot: int


@dataclass(frozen=True, slots=True)
class EventStatus:
    no_event: bool
    notification_class: int
    supported_classes: int
    media: MediaEvent | None


def parse_event_status(data: bytes | memoryview) -> EventStatus:
    """GESN response, tolerant of both length conventions (reference 3.5).

    QEMU and the kernel count the bytes after the 4-byte header (4 for a media event), CDEmu,
    libburn and growisofs the bytes after the length field (6): the descriptor is taken from
    the bytes actually present after the header rather than from the length field.
    """
    what = "GET EVENT STATUS NOTIFICATION"
    be(data, 0, 4, what)
    nea = bool(data[2] & 0x80)
    klass = data[2] & 0x07
    media = None
    if not nea and klass == 4 and len(data) >= 8:
        media = MediaEvent(
            code=data[4] & 0x0F,
            tray_open=bool(data[5] & 0x01),
            media_present=bool(data[5] & 0x02),
            start_slot=data[6],
            end_slot=data[7],
        )
    return EventStatus(no_event=nea, notification_class=klass, supported_classes=data[3], media=media)


# ----------------------------------------------------------------------------- disc information


class DiscStatus(enum.IntEnum):
    BLANK = 0
    APPENDABLE = 1
    COMPLETE = 2
    OTHER = 3


class SessionState(enum.IntEnum):
    EMPTY = 0
    INCOMPLETE = 1
    DAMAGED = 2
    COMPLETE = 3


@dataclass(frozen=True, slots=True)
class DiscInformation:
    disc_status: DiscStatus
    last_session_state: SessionState
    erasable: bool
    first_track: int
    sessions: int
    first_track_last_session: int
    last_track_last_session: int
    bg_format_status: int
    unrestricted_use: bool
    disc_type: int
    disc_id: int | None
    last_session_lead_in: int | None
    last_possible_lead_out: int | None
    opc_tables: int

    @property
    def complete_sessions(self) -> int:
        """Sessions that are closed: the last one only counts when it is complete."""
        if self.last_session_state == SessionState.COMPLETE:
            return self.sessions
        return max(self.sessions - 1, 0)


DISC_INFO_MINIMUM = 12


def _address(data: bytes | memoryview, offset: int, cd_msf: bool) -> int | None:
    """A 4-byte address field that is MSF (bytes 1-3) on CD and LBA elsewhere."""
    if offset + 4 > len(data):
        return None
    if cd_msf:
        m, s, f = data[offset + 1], data[offset + 2], data[offset + 3]
        if (m, s, f) == (0xFF, 0xFF, 0xFF):
            return None
        try:
            return msf_to_lba(m, s, f)
        except ValueError:
            return None
    return sbe(data, offset, 4, "address")


def parse_disc_information(data: bytes | memoryview, cd: bool = False) -> DiscInformation:
    """Standard disc information (data type 000b). ``cd`` selects MSF for bytes 16-23."""
    what = "READ DISC INFORMATION"
    available = declared(data, 2, DISC_INFO_MINIMUM, what)
    body = bytes(data[:available])
    b2, b7 = body[2], body[7]
    return DiscInformation(
        disc_status=DiscStatus(b2 & 0x03),
        last_session_state=SessionState((b2 >> 2) & 0x03),
        erasable=bool(b2 & 0x10),
        first_track=body[3],
        sessions=body[9] << 8 | body[4],
        first_track_last_session=body[10] << 8 | body[5],
        last_track_last_session=body[11] << 8 | body[6],
        bg_format_status=b7 & 0x03,
        unrestricted_use=bool(b7 & 0x20),
        disc_type=body[8],
        disc_id=opt_be(body, 12, 4) if b7 & 0x80 else None,
        last_session_lead_in=_address(body, 16, cd),
        last_possible_lead_out=_address(body, 20, cd),
        opc_tables=body[33] if len(body) > 33 else 0,
    )


# ----------------------------------------------------------------------------- track information


@dataclass(frozen=True, slots=True)
class TrackInformation:
    track: int
    session: int
    track_mode: int
    copy: bool
    damaged: bool
    data_mode: int
    fixed_packet: bool
    packet: bool
    blank: bool
    reserved: bool
    start: int
    next_writable: int | None
    free_blocks: int
    packet_size: int
    size: int
    last_recorded: int | None


TRACK_INFO_MINIMUM = 28


def parse_track_information(data: bytes | memoryview) -> TrackInformation:
    what = "READ TRACK INFORMATION"
    available = declared(data, 2, TRACK_INFO_MINIMUM, what)
    body = bytes(data[:available])
    b5, b6, b7 = body[5], body[6], body[7]
    track_msb = body[32] if len(body) > 32 else 0
    session_msb = body[33] if len(body) > 33 else 0
    lra = sbe(body, 28, 4, what) if len(body) >= 32 and b7 & 0x02 else None
    return TrackInformation(
        track=track_msb << 8 | body[2],
        session=session_msb << 8 | body[3],
        track_mode=b5 & 0x0F,
        copy=bool(b5 & 0x10),
        damaged=bool(b5 & 0x20),
        data_mode=b6 & 0x0F,
        fixed_packet=bool(b6 & 0x10),
        packet=bool(b6 & 0x20),
        blank=bool(b6 & 0x40),
        reserved=bool(b6 & 0x80),
        start=sbe(body, 8, 4, what),
        next_writable=sbe(body, 12, 4, what) if b7 & 0x01 else None,
        free_blocks=be(body, 16, 4, what),
        packet_size=be(body, 20, 4, what),
        size=be(body, 24, 4, what),
        last_recorded=lra,
    )


# ----------------------------------------------------------------------------- TOC / PMA / ATIP

LEAD_OUT_TRACK = 0xAA


@dataclass(frozen=True, slots=True)
class TocEntry:
    adr: int
    control: int
    track: int
    start: int

    @property
    def is_data(self) -> bool:
        return bool(self.control & 0x04)

    @property
    def is_lead_out(self) -> bool:
        return self.track == LEAD_OUT_TRACK


@dataclass(frozen=True, slots=True)
class Toc:
    first: int
    last: int
    entries: tuple[TocEntry, ...]


def _toc_body(data: bytes | memoryview, unit: int, what: str) -> bytes:
    """Header-checked TOC bytes; a length that is not header + whole descriptors is rejected."""
    available = declared(data, 2, 4, what)
    length = be(data, 0, 2, what) + 2
    if (length - 4) % unit:
        raise ParseError(f"{what}: data length {length - 2} is not 2 + n x {unit}")
    return bytes(data[:available])


def parse_toc(data: bytes | memoryview, msf: bool = False) -> Toc:
    """Format 0 (formatted TOC); whole descriptors that fit are reported."""
    what = "READ TOC format 0"
    body = _toc_body(data, 8, what)
    entries = []
    for off in range(4, len(body) - 7, 8):
        start = _msf_at(body, off + 5, what) if msf else sbe(body, off + 4, 4, what)
        entries.append(TocEntry(adr=body[off + 1] >> 4, control=body[off + 1] & 0x0F,
                                track=body[off + 2], start=start))
    return Toc(first=body[2], last=body[3], entries=tuple(entries))


@dataclass(frozen=True, slots=True)
class SessionInfo:
    first_session: int
    last_session: int
    first_track_last_session: int
    last_session_start: int


def parse_session_info(data: bytes | memoryview) -> SessionInfo:
    """Format 1: start of the first track in the last complete session."""
    what = "READ TOC format 1"
    body = bytes(data[: declared(data, 2, 12, what)])
    return SessionInfo(first_session=body[2], last_session=body[3],
                       first_track_last_session=body[6], last_session_start=sbe(body, 8, 4, what))


@dataclass(frozen=True, slots=True)
class RawTocEntry:
    session: int
    adr: int
    control: int
    tno: int
    point: int
    msf: tuple[int, int, int]
    pmsf: tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class RawToc:
    first_session: int
    last_session: int
    entries: tuple[RawTocEntry, ...]


def parse_raw_toc(data: bytes | memoryview) -> RawToc:
    """Format 2 (CD only): 11-byte descriptors; MSFs are kept raw because POINTs A0-C0 abuse them."""
    what = "READ TOC format 2"
    body = _toc_body(data, 11, what)
    entries = tuple(
        RawTocEntry(session=body[o], adr=body[o + 1] >> 4, control=body[o + 1] & 0x0F,
                    tno=body[o + 2], point=body[o + 3], msf=(body[o + 4], body[o + 5], body[o + 6]),
                    pmsf=(body[o + 8], body[o + 9], body[o + 10]))
        for o in range(4, len(body) - 10, 11)
    )
    return RawToc(first_session=body[2], last_session=body[3], entries=entries)


@dataclass(frozen=True, slots=True)
class Atip:
    writing_power: int
    reference_speed: int
    unrestricted_use: bool
    rewritable: bool
    disc_subtype: int
    lead_in_start: int
    last_lead_out_start: int


def parse_atip(data: bytes | memoryview) -> Atip:
    """Format 4 (CD-R/RW): lead-in start (negative LBA) and last possible lead-out start."""
    what = "READ TOC format 4"
    body = bytes(data[: declared(data, 2, 15, what)])
    return Atip(
        writing_power=(body[4] >> 4) & 0x07,
        reference_speed=body[4] & 0x07,
        unrestricted_use=bool(body[5] & 0x40),
        rewritable=bool(body[6] & 0x40),
        disc_subtype=(body[6] >> 3) & 0x07,
        lead_in_start=_msf_at(body, 8, what),
        last_lead_out_start=_msf_at(body, 12, what),
    )


# ----------------------------------------------------------------------------- capacities


@dataclass(frozen=True, slots=True)
class Capacity:
    last_lba: int
    block_length: int

    @property
    def blocks(self) -> int:
        return self.last_lba + 1


def parse_read_capacity(data: bytes | memoryview) -> Capacity:
    what = "READ CAPACITY"
    return Capacity(last_lba=sbe(data, 0, 4, what), block_length=be(data, 4, 4, what))


class CapacityType(enum.IntEnum):
    """READ FORMAT CAPACITIES current/maximum descriptor type."""

    RESERVED = 0
    UNFORMATTED = 1
    FORMATTED = 2
    NO_MEDIUM = 3


@dataclass(frozen=True, slots=True)
class FormattableCapacity:
    blocks: int
    format_type: int
    type_parameter: int


@dataclass(frozen=True, slots=True)
class FormatCapacities:
    blocks: int
    descriptor_type: CapacityType
    block_length: int
    formattable: tuple[FormattableCapacity, ...]


def parse_format_capacities(data: bytes | memoryview) -> FormatCapacities:
    what = "READ FORMAT CAPACITIES"
    list_length = be(data, 3, 1, what)
    if list_length < 8 or list_length % 8:
        raise ParseError(f"{what}: capacity list length {list_length} is not a positive multiple of 8")
    body = bytes(data[: min(len(data), 4 + list_length)])
    blocks = be(body, 4, 4, what)
    block_length = be(body, 9, 3, what)
    formattable = tuple(
        FormattableCapacity(blocks=be(body, o, 4, what), format_type=body[o + 4] >> 2,
                            type_parameter=be(body, o + 5, 3, what))
        for o in range(12, len(body) - 7, 8)
    )
    return FormatCapacities(blocks=blocks, descriptor_type=CapacityType(body[8] & 0x03),
                            block_length=block_length, formattable=formattable)


# ----------------------------------------------------------------------------- mode pages


class PageControl(enum.IntEnum):
    CURRENT = 0
    CHANGEABLE = 1
    DEFAULT = 2
    SAVED = 3


PAGE_WRITE_PARAMETERS = 0x05
PAGE_CAPABILITIES = 0x2A
MODE_HEADER_SIZE = 8


def mode_sense10(page: int, allocation: int, pc: PageControl = PageControl.CURRENT, dbd: bool = True) -> bytes:
    cdb = _cdb(10, Op.MODE_SENSE_10)
    cdb[1] = 0x08 if dbd else 0
    cdb[2] = _bits(int(pc), 6, 2, "page control") | _bits(page, 0, 6, "page")
    _put(cdb, 7, 2, allocation, "allocation")
    return bytes(cdb)


def mode_select10(length: int) -> bytes:
    """MODE SELECT(10) with PF = 1, SP = 0."""
    cdb = _cdb(10, Op.MODE_SELECT_10)
    cdb[1] = 0x10
    _put(cdb, 7, 2, length, "parameter list length")
    return bytes(cdb)


def parse_mode_page(data: bytes | memoryview, page: int) -> bytes:
    """The page bytes (page header included) from a MODE SENSE(10) response.

    Block descriptors are skipped (old QEMU sent 8 bytes of them). A page cut off by the
    allocation length is returned as far as it came; the field parsers decide what they need.
    """
    what = f"MODE SENSE(10) page {page:02X}h"
    available = declared(data, 2, MODE_HEADER_SIZE, what)
    offset = MODE_HEADER_SIZE + be(data, 6, 2, what)
    code = be(data[:available], offset, 1, what) & 0x3F
    if code != page:
        raise ParseError(f"{what}: the drive returned page {code:02X}h")
    length = be(data[:available], offset + 1, 1, what) + 2
    return bytes(data[offset : min(available, offset + length)])


def mode_select_parameters(page: bytes) -> bytes:
    """The MODE SELECT(10) parameter list for ``page``: a zeroed header + the page with PS clear.

    The page is sent back with exactly the length the drive reported (drives reject a
    different page length; reference 3.13).
    """
    if len(page) < 2 or page[1] + 2 != len(page):
        raise ValueError("mode page must be complete: byte 1 + 2 == its length")
    body = bytearray(page)
    body[0] &= 0x3F
    return bytes(MODE_HEADER_SIZE) + bytes(body)


class WriteType(enum.IntEnum):
    PACKET = 0
    TAO = 1
    SAO = 2
    RAW = 3
    LAYER_JUMP = 4


class MultiSession(enum.IntEnum):
    FINAL = 0
    FINAL_B0 = 1
    OPEN = 3


@dataclass(frozen=True, slots=True)
class WriteParameters:
    """Page 05h fields burnd sets (reference 3.13)."""

    bufe: bool
    ls_valid: bool
    test_write: bool
    write_type: int
    multi_session: int
    fixed_packet: bool
    copy: bool
    track_mode: int
    data_block_type: int
    link_size: int
    host_application_code: int
    session_format: int
    packet_size: int
    audio_pause: int


WRITE_PARAMETERS_MINIMUM = 16


def parse_write_parameters(page: bytes | memoryview) -> WriteParameters:
    what = "mode page 05h"
    if be(page, 0, 1, what) & 0x3F != PAGE_WRITE_PARAMETERS:
        raise ParseError(f"{what}: page code is {page[0] & 0x3F:02X}h")
    be(page, 0, WRITE_PARAMETERS_MINIMUM, what)
    b2, b3 = page[2], page[3]
    return WriteParameters(
        bufe=bool(b2 & 0x40), ls_valid=bool(b2 & 0x20), test_write=bool(b2 & 0x10),
        write_type=b2 & 0x0F, multi_session=b3 >> 6, fixed_packet=bool(b3 & 0x20),
        copy=bool(b3 & 0x10), track_mode=b3 & 0x0F, data_block_type=page[4] & 0x0F,
        link_size=page[5], host_application_code=page[7] & 0x3F, session_format=page[8],
        packet_size=be(page, 10, 4, what), audio_pause=be(page, 14, 2, what),
    )


def write_parameters_page(page: bytes, params: WriteParameters) -> bytes:
    """``page`` (as read by MODE SENSE) with the fields of ``params`` written into it.

    Bytes burnd does not model (MCN, ISRC, sub-header) are kept as the drive reported them.
    """
    parse_write_parameters(page)
    out = bytearray(page)
    out[0] &= 0x3F
    out[2] = (out[2] & 0x80) | (0x40 if params.bufe else 0) | (0x20 if params.ls_valid else 0) \
        | (0x10 if params.test_write else 0) | _bits(params.write_type, 0, 4, "write type")
    out[3] = _bits(params.multi_session, 6, 2, "multi-session") | (0x20 if params.fixed_packet else 0) \
        | (0x10 if params.copy else 0) | _bits(params.track_mode, 0, 4, "track mode")
    out[4] = (out[4] & 0xF0) | _bits(params.data_block_type, 0, 4, "data block type")
    _put(out, 5, 1, params.link_size, "link size")
    out[7] = (out[7] & 0xC0) | _bits(params.host_application_code, 0, 6, "host application code")
    _put(out, 8, 1, params.session_format, "session format")
    _put(out, 10, 4, params.packet_size, "packet size")
    _put(out, 14, 2, params.audio_pause, "audio pause")
    return bytes(out)


@dataclass(frozen=True, slots=True)
class WriteSpeedDescriptor:
    rotation_control: int
    kbps: int


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Page 2Ah; fields past the page length the drive sent are None / empty."""

    read_flags: int
    write_flags: int
    buffer_underrun_free: bool
    multi_session: bool
    loading_mechanism: int
    can_eject: bool
    locked: bool
    can_lock: bool
    max_read_kbps: int | None
    buffer_kib: int | None
    max_write_kbps: int | None
    current_write_kbps: int | None
    write_speeds: tuple[WriteSpeedDescriptor, ...]

    @property
    def writes_cd_r(self) -> bool:
        return bool(self.write_flags & 0x01)

    @property
    def writes_dvd_r(self) -> bool:
        return bool(self.write_flags & 0x10)


CAPABILITIES_MINIMUM = 8


def parse_capabilities(page: bytes | memoryview) -> Capabilities:
    what = "mode page 2Ah"
    if be(page, 0, 1, what) & 0x3F != PAGE_CAPABILITIES:
        raise ParseError(f"{what}: page code is {page[0] & 0x3F:02X}h")
    be(page, 0, CAPABILITIES_MINIMUM, what)
    body = bytes(page)
    count = opt_be(body, 30, 2) or 0
    speeds = tuple(
        WriteSpeedDescriptor(rotation_control=body[o + 1] & 0x07, kbps=be(body, o + 2, 2, what))
        for o in range(32, min(len(body), 32 + 4 * count) - 3, 4)
    )
    current = opt_be(body, 28, 2)
    if current is None:
        current = opt_be(body, 20, 2)
    return Capabilities(
        read_flags=body[2], write_flags=body[3],
        buffer_underrun_free=bool(body[4] & 0x80), multi_session=bool(body[4] & 0x40),
        loading_mechanism=body[6] >> 5, can_eject=bool(body[6] & 0x08),
        locked=bool(body[6] & 0x02), can_lock=bool(body[6] & 0x01),
        max_read_kbps=opt_be(body, 8, 2), buffer_kib=opt_be(body, 12, 2),
        max_write_kbps=opt_be(body, 18, 2), current_write_kbps=current, write_speeds=speeds,
    )


# ----------------------------------------------------------------------------- performance


@dataclass(frozen=True, slots=True)
class WriteSpeed:
    """GET PERFORMANCE type 03h descriptor."""

    wrc: int
    restore_defaults: bool
    exact: bool
    mrw: bool
    end_lba: int
    read_kbps: int
    write_kbps: int


@dataclass(frozen=True, slots=True)
class PerformancePoint:
    """GET PERFORMANCE type 00h descriptor."""

    start_lba: int
    start_kbps: int
    end_lba: int
    end_kbps: int


def _performance_body(data: bytes | memoryview, what: str) -> bytes:
    available = declared(data, 4, 8, what)
    return bytes(data[:available])


def parse_write_speeds(data: bytes | memoryview) -> tuple[WriteSpeed, ...]:
    what = "GET PERFORMANCE type 03h"
    body = _performance_body(data, what)
    return tuple(
        WriteSpeed(wrc=(body[o] >> 3) & 0x03, restore_defaults=bool(body[o] & 0x04),
                   exact=bool(body[o] & 0x02), mrw=bool(body[o] & 0x01),
                   end_lba=be(body, o + 4, 4, what), read_kbps=be(body, o + 8, 4, what),
                   write_kbps=be(body, o + 12, 4, what))
        for o in range(8, len(body) - 15, 16)
    )


def parse_performance(data: bytes | memoryview) -> tuple[PerformancePoint, ...]:
    what = "GET PERFORMANCE type 00h"
    body = _performance_body(data, what)
    return tuple(
        PerformancePoint(start_lba=be(body, o, 4, what), start_kbps=be(body, o + 4, 4, what),
                         end_lba=be(body, o + 8, 4, what), end_kbps=be(body, o + 12, 4, what))
        for o in range(8, len(body) - 15, 16)
    )


def performance_descriptor_count(data: bytes | memoryview) -> int:
    """Descriptors the drive has, from an 8-byte header-only answer (ask, then re-ask)."""
    length = be(data, 0, 4, "GET PERFORMANCE")
    return max(length - 4, 0) // 16


# ----------------------------------------------------------------------------- buffer / mechanism / structure


@dataclass(frozen=True, slots=True)
class BufferCapacity:
    length: int
    available: int

    @property
    def fill(self) -> float:
        """Fraction of the drive buffer in use; drives that report free > size count as half."""
        if self.length <= 0 or self.available > self.length:
            return 0.5
        return 1.0 - self.available / self.length


def parse_buffer_capacity(data: bytes | memoryview) -> BufferCapacity:
    what = "READ BUFFER CAPACITY"
    body = bytes(data[: declared(data, 2, 12, what)])
    return BufferCapacity(length=be(body, 4, 4, what), available=be(body, 8, 4, what))


@dataclass(frozen=True, slots=True)
class MechanismStatus:
    fault: bool
    changer_state: int
    current_slot: int
    mechanism_state: int
    door_open: bool
    slots: int


def parse_mechanism_status(data: bytes | memoryview) -> MechanismStatus:
    what = "MECHANISM STATUS"
    be(data, 0, 8, what)
    return MechanismStatus(
        fault=bool(data[0] & 0x80), changer_state=(data[0] >> 5) & 0x03, current_slot=data[0] & 0x1F,
        mechanism_state=data[1] >> 5, door_open=bool(data[1] & 0x10), slots=data[5],
    )


@dataclass(frozen=True, slots=True)
class DiscStructure:
    payload: bytes

    @property
    def book_type(self) -> int | None:
        """DVD physical format (format 00h): book type in the high nibble of the first byte."""
        return self.payload[0] >> 4 if self.payload else None


def parse_disc_structure(data: bytes | memoryview) -> DiscStructure:
    """READ DISC STRUCTURE: 4-byte header (length = total - 2), then the format's payload."""
    what = "READ DISC STRUCTURE"
    body = bytes(data[: declared(data, 2, 4, what)])
    return DiscStructure(payload=body[4:])
