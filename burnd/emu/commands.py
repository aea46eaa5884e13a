"""One handler per MMC command: parse the CDB, apply it to the drive state, build the reply.

Each handler takes ``(state, cdb, xfer)`` and returns the response bytes (the burner copies them
into the caller's buffer, truncated) or ``None`` when it transferred data itself (READ) or has
none. Rule violations raise :class:`~burnd.emu.responses.CheckCondition`. The :data:`COMMANDS`
table also says which commands need a ready medium and which may run while the drive is busy
with an Immed operation or has a unit attention pending (reference §3, §4.4, §7).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from burnd.emu import features, modepages, reports
from burnd.emu import responses as r
from burnd.emu.kinds import DVD_RW_SEQUENTIAL, Family, Recording
from burnd.emu.media import Disc
from burnd.emu.state import EVENT_MEDIA_REMOVAL, EVENT_NEW_MEDIA, DriveState

BLOCK = 2048


@dataclass
class Transfer:
    """The data phase: ``data_in`` receives the reply, ``data_out`` holds what the host sent."""

    data_in: memoryview
    data_out: memoryview
    transferred: int = 0


Handler = Callable[[DriveState, bytes, Transfer], "bytes | None"]


Bytes = bytes | memoryview


def _u16(cdb: Bytes, at: int) -> int:
    return (cdb[at] << 8) | cdb[at + 1]


def _u32(cdb: Bytes, at: int) -> int:
    return int.from_bytes(cdb[at : at + 4], "big")


def _truncate(reply: bytes, alloc: int) -> bytes:
    return reply if len(reply) <= alloc else reply[:alloc]


def _disc(state: DriveState) -> Disc:
    disc = state.medium
    assert disc is not None, "COMMANDS marks this handler as needing a medium"
    return disc


# --------------------------------------------------------------------------- identification
def unit_ready(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    return None


def request_sense(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    """Returns the drive's current condition as sense data; consumes a pending unit attention."""
    if cdb[1] & 0x01:
        raise r.invalid_cdb_field(1, bit=0)
    if state.pending_ua is not None:
        sense = r.sense_bytes(state.pending_ua)
        state.pending_ua = None
    else:
        condition = state.not_ready_condition()
        sense = condition.sense() if condition else r.sense_bytes(r.NO_SENSE)
    return _truncate(sense, cdb[4])


def inquiry(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    alloc = _u16(cdb, 3)
    pt = state.peripheral_type & 0x1F
    if cdb[1] & 0x01:
        if cdb[2] == 0x00:
            return _truncate(bytes((pt, 0x00, 0x00, 2, 0x00, 0x80)), alloc)
        if cdb[2] == 0x80:
            serial = r.ascii_field(state.serial, len(state.serial))
            return _truncate(bytes((pt, 0x80, 0x00, len(serial))) + serial, alloc)
        raise r.invalid_cdb_field(2)
    if cdb[2]:
        raise r.invalid_cdb_field(2)
    reply = bytearray(36)
    reply[0] = pt
    reply[1] = 0x80 if pt == 5 else 0x00
    reply[2] = 0x05
    reply[3] = 0x02
    reply[4] = len(reply) - 5
    reply[8:16] = r.ascii_field(state.vendor, 8)
    reply[16:32] = r.ascii_field(state.model, 16)
    reply[32:36] = r.ascii_field(state.revision, 4)
    return _truncate(bytes(reply), alloc)


def get_configuration(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    rt = cdb[1] & 0x03
    if rt == 3:
        raise r.invalid_cdb_field(1, bit=0)
    reply = features.configuration(state.medium, state.serial, rt, _u16(cdb, 2))
    return _truncate(reply, _u16(cdb, 7))


def event_status(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    """GESN, polled, media class only; length = bytes after the 4-byte header (QEMU, §3.5)."""
    if not cdb[1] & 0x01:
        raise r.invalid_cdb_field(1, bit=0)
    alloc = _u16(cdb, 7)
    if not cdb[4] & 0x10:
        return _truncate(bytes((0, 0, 0x80, 0x10)), alloc)
    code = state.events.popleft() if state.events else 0
    status = (0x01 if state.tray_open else 0) | (0x02 if state.disc is not None else 0)
    return _truncate(bytes((0, 4, 0x04, 0x10, code, status, 0, 0)), alloc)


def mechanism_status(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    reply = bytes((0, 0x10 if state.tray_open else 0, 0, 0, 0, 1, 0, 0))
    return _truncate(reply, _u16(cdb, 8))


# --------------------------------------------------------------------------- tray
def start_stop_unit(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    load_eject, start = bool(cdb[4] & 0x02), bool(cdb[4] & 0x01)
    if not load_eject:
        if start and state.medium is None:
            raise state.not_ready_condition() or r.CheckCondition(r.NO_MEDIUM_TRAY_CLOSED)
        return None
    if start:
        load(state)
        return None
    if state.locked:
        code = r.REMOVAL_PREVENTED if state.medium is not None else r.NOT_READY_REMOVAL_PREVENTED
        raise r.CheckCondition(code)
    eject(state)
    return None


def prevent_allow(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    state.locked = bool(cdb[4] & 0x01)
    return None


def eject(state: DriveState) -> None:
    """Open the tray; a loaded medium stays in it, unloaded (and its state saved)."""
    if state.loaded:
        state.end_simulation()
        state.save()
        state.events.append(EVENT_MEDIA_REMOVAL)
    state.tray_open = True
    state.loaded = False
    state.busy = None


def load(state: DriveState, ready_delay: float = 0.0) -> None:
    """Close the tray; a medium in it becomes current after a medium-change unit attention."""
    was_loaded = state.loaded
    state.tray_open = False
    if state.disc is not None and not was_loaded:
        state.loaded = True
        state.pending_ua = r.MEDIUM_MAY_HAVE_CHANGED
        state.ready_at = time.monotonic() + ready_delay
        state.events.append(EVENT_NEW_MEDIA)


# --------------------------------------------------------------------------- disc information
def read_disc_information(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    if cdb[1] & 0x07:
        raise r.invalid_cdb_field(1, bit=0)
    return _truncate(reports.disc_information(_disc(state)), _u16(cdb, 7))


def read_track_information(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    address_type = cdb[1] & 0x03
    if address_type == 3:
        raise r.invalid_cdb_field(1, bit=0)
    value = _u32(cdb, 2)
    track = reports.find_track(_disc(state), address_type, value)
    if track is None:
        raise r.invalid_cdb_field(2)
    return _truncate(reports.track_information(_disc(state), track), _u16(cdb, 7))


def read_toc(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    fmt = cdb[2] & 0x0F
    if fmt not in (0, 1, 2, 4):
        raise r.invalid_cdb_field(2)
    msf = bool(cdb[1] & 0x02)
    if fmt == 4 and not msf:
        raise r.invalid_cdb_field(1, bit=1)
    return _truncate(reports.toc(_disc(state), fmt, cdb[6], msf), _u16(cdb, 7))


def read_capacity(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    return reports.read_capacity(_disc(state))


def read_format_capacities(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    return _truncate(reports.format_capacities(_disc(state)), _u16(cdb, 7))


def read_disc_structure(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    reply = reports.disc_structure(_disc(state), cdb[1] & 0x0F, cdb[7])
    return _truncate(reply, _u16(cdb, 8))


def read_buffer_capacity(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    size = modepages.BUFFER_KIB * 1024
    if cdb[1] & 0x01:
        reply = bytes((0, 10, 0, 0, 0, 0, 0, 0)) + (size // BLOCK).to_bytes(4, "big")
    else:
        reply = bytes((0, 10, 0, 0)) + size.to_bytes(4, "big") + size.to_bytes(4, "big")
    return _truncate(reply, _u16(cdb, 7))


# --------------------------------------------------------------------------- speed
_SPEEDS = {Family.CD: (7056, 4234), Family.DVD: (22160, 11080), Family.BD: (35960, 17980)}


def get_performance(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    disc = _disc(state)
    perf_type = cdb[10]
    speeds = _SPEEDS[disc.kind.family]
    end = max(disc.capacity - 1, 0)
    if perf_type == 0x00:
        if (cdb[1] >> 3) & 0x03 != 0b10:
            raise r.invalid_cdb_field(1, bit=3)
        speed = speeds[0]
        descriptors = [_u32b(0) + _u32b(speed) + _u32b(end) + _u32b(speed)]
        header_flags = ((cdb[1] & 0x04) >> 1) | (1 if cdb[1] & 0x03 else 0)
    elif perf_type == 0x03:
        descriptors = [bytes(4) + _u32b(end) + _u32b(s) + _u32b(s) for s in speeds]
        header_flags = 0
    else:
        raise r.invalid_cdb_field(10)
    limit = _u16(cdb, 8)
    body = bytearray(8)
    body[0:4] = (4 + 16 * len(descriptors)).to_bytes(4, "big")
    body[4] = header_flags
    body += b"".join(descriptors[:limit])
    return _truncate(bytes(body), 8 + 16 * limit)


def _u32b(value: int) -> bytes:
    return value.to_bytes(4, "big")


def set_cd_speed(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    state.read_speed, state.write_speed = _u16(cdb, 2), _u16(cdb, 4)
    return None


def set_streaming(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    if cdb[8] != 0x00:
        raise r.invalid_cdb_field(8)
    length = _u16(cdb, 9)
    if length < 28 or len(xfer.data_out) < 28:
        raise r.CheckCondition(r.PARAMETER_LIST_LENGTH)
    descriptor = xfer.data_out[:28]
    write_size, write_time = _u32(descriptor, 20), _u32(descriptor, 24)
    if write_time == 0 and not descriptor[0] & 0x04:
        raise r.invalid_param_field(24)
    if write_time:
        state.write_speed = min(0xFFFF, write_size * 1000 // write_time)
    return None


# --------------------------------------------------------------------------- mode pages
def mode_sense(state: DriveState, cdb: bytes, xfer: Transfer) -> bytes:
    control, page = cdb[2] >> 6, cdb[2] & 0x3F
    if control == 3:
        raise r.CheckCondition(r.SAVING_NOT_SUPPORTED)
    if cdb[3]:
        raise r.invalid_cdb_field(3)
    codes = modepages.PAGES if page == 0x3F else (page,)
    if any(code not in modepages.PAGES for code in codes):
        raise r.invalid_cdb_field(2)
    body = b"".join(modepages.page(code, control, state.page05, state.locked) for code in codes)
    reply = bytearray(modepages.MODE_HEADER) + body
    return _truncate(bytes(r.with_length(reply, 2)), _u16(cdb, 7))


def mode_select(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    if cdb[1] & 0x01:
        raise r.invalid_cdb_field(1, bit=0)
    if not cdb[1] & 0x10:
        raise r.invalid_cdb_field(1, bit=4)
    length = _u16(cdb, 7)
    if length == 0:
        return None
    data = xfer.data_out
    if length < modepages.MODE_HEADER + 2 or len(data) < length:
        raise r.CheckCondition(r.PARAMETER_LIST_LENGTH)
    if data[0] or data[1]:
        raise r.invalid_param_field(0)
    if data[6] or data[7]:
        raise r.invalid_param_field(6)
    page = bytes(data[modepages.MODE_HEADER : length])
    if page[0] & 0x3F != 0x05:
        raise r.invalid_param_field(modepages.MODE_HEADER)
    if len(page) < modepages.PAGE05_LENGTH + 2:
        raise r.CheckCondition(r.PARAMETER_LIST_LENGTH)
    disc = state.medium
    modepages.validate_page05(page, disc.kind if disc else None)
    state.page05[2:] = page[2 : modepages.PAGE05_LENGTH + 2]
    state.mode = modepages.write_mode(state.page05)
    if not state.mode.test_write:
        state.end_simulation()
    return None


# --------------------------------------------------------------------------- data
def _rw_address(cdb: bytes) -> tuple[int, int]:
    if len(cdb) == 12:
        return int.from_bytes(cdb[2:6], "big", signed=True), _u32(cdb, 6)
    return int.from_bytes(cdb[2:6], "big", signed=True), _u16(cdb, 7)


def block_range(cdb: bytes) -> tuple[int, int] | None:
    """First and last block a READ/WRITE addresses (for fault rules); None otherwise."""
    if cdb[0] in (0x28, 0x2A, 0x2E, 0xA8, 0xAA) and len(cdb) >= 10:
        lba, count = _rw_address(cdb)
    elif cdb[0] == 0xBE and len(cdb) == 12:
        lba, count = int.from_bytes(cdb[2:6], "big", signed=True), int.from_bytes(cdb[6:9], "big")
    else:
        return None
    return lba, lba + max(count, 1) - 1


def write(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    disc = _disc(state)
    lba, count = _rw_address(cdb)
    if disc.kind.family is Family.CD and modepages.block_size(state.page05) != BLOCK:
        raise r.CheckCondition(r.ILLEGAL_MODE_FOR_TRACK)
    need = count * BLOCK
    data = xfer.data_out
    if len(data) < need:
        raise r.invalid_cdb_field(7 if len(cdb) == 10 else 6)
    if disc.cue_sheet and lba < 0 and count:
        skipped = disc.write_pregap(lba, count)
        lba, count, need = lba + skipped, count - skipped, need - skipped * BLOCK
        data = data[skipped * BLOCK :]
        if count == 0:
            return None
    track = disc.prepare_write(lba, count, state.mode)
    if count == 0:
        return None
    if not state.begin_recording():
        assert state.backing is not None
        state.backing.write(lba, data if len(data) == need else data[:need])
    disc.commit_write(track, lba, count)
    return None


def read(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    disc = _disc(state)
    lba, count = _rw_address(cdb)
    _read_blocks(state, disc, lba, count, xfer)
    return None


def _read_blocks(state: DriveState, disc: Disc, lba: int, count: int, xfer: Transfer) -> None:
    if count == 0:
        return
    disc.check_read(lba, count)
    size = min(count * BLOCK, len(xfer.data_in))
    assert state.backing is not None
    state.backing.read_into(lba, xfer.data_in[:size])
    xfer.transferred = size


def read_cd(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    """READ CD of Mode 1 user data only (byte 9 = 10h); other sector parts are not emulated."""
    disc = _disc(state)
    if disc.kind.family is not Family.CD:
        raise r.CheckCondition(r.CANNOT_READ_INCOMPATIBLE)
    if (cdb[1] >> 2) & 0x07 not in (0, 2):
        raise r.CheckCondition(r.ILLEGAL_MODE_FOR_TRACK)
    if cdb[9] not in (0x00, 0x10):
        raise r.invalid_cdb_field(9)
    if cdb[10] & 0x07:
        raise r.invalid_cdb_field(10)
    if cdb[9] == 0:
        return None
    lba = int.from_bytes(cdb[2:6], "big", signed=True)
    _read_blocks(state, disc, lba, int.from_bytes(cdb[6:9], "big"), xfer)
    return None


def synchronize_cache(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    disc = _disc(state)
    disc.sync(state.mode)
    if disc.open_session() is None:
        state.end_simulation()
    state.save()
    return None


# --------------------------------------------------------------------------- recording
def _recordable(disc: Disc) -> None:
    if disc.kind.recording is Recording.ROM:
        raise r.CheckCondition(r.CANNOT_WRITE_INCOMPATIBLE)


def close_track_session(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    disc = _disc(state)
    _recordable(disc)
    function = cdb[2] & 0x07
    if function not in disc.kind.close_functions:
        raise r.invalid_cdb_field(2, bit=0)
    if not disc.sequential:
        disc.close_restricted()
    elif function == 1:
        disc.close_track(_u16(cdb, 4))
    else:
        disc.close_session(function, state.mode)
        state.end_simulation()
    state.save()
    if cdb[1] & 0x01:
        state.start_busy(r.OPERATION_IN_PROGRESS)
    return None


def reserve_track(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    disc = _disc(state)
    _recordable(disc)
    if not disc.sequential:
        raise r.CheckCondition(r.INVALID_FIELD_IN_CDB)
    if cdb[1] & 0x03:
        raise r.invalid_cdb_field(1, bit=0)
    state.begin_recording()
    disc.reserve(_u32(cdb, 5), state.mode)
    state.save()
    return None


def blank(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    disc = _disc(state)
    if disc.kind.name not in ("cd-rw", "dvd-rw", "dvd-rw-ro"):
        raise r.CheckCondition(r.INVALID_FIELD_IN_CDB)
    disc.blank(cdb[1] & 0x07)
    assert state.backing is not None
    state.backing.erase()
    state.save()
    if cdb[1] & 0x10:
        state.start_busy(r.OPERATION_IN_PROGRESS)
    return None


def format_unit(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    disc = _disc(state)
    if cdb[1] & 0x17 != 0x11:
        raise r.invalid_cdb_field(1, bit=4)
    params = xfer.data_out
    if len(params) < 12:
        raise r.CheckCondition(r.PARAMETER_LIST_LENGTH)
    if _u16(params, 2) != 8:
        raise r.invalid_param_field(2)
    was_sequential_rw = disc.kind is DVD_RW_SEQUENTIAL
    disc.format(
        params[8] >> 2, params[8] & 0x03, _u32(params, 4), int.from_bytes(params[9:12], "big")
    )
    if was_sequential_rw:
        assert state.backing is not None
        state.backing.erase()
    state.save()
    if params[1] & 0x02:
        state.start_busy(r.FORMAT_IN_PROGRESS)
    return None


def send_opc(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    disc = _disc(state)
    _recordable(disc)
    if disc.finalized:
        raise r.CheckCondition(r.CANNOT_WRITE_INCOMPATIBLE)
    return None


def send_cue_sheet(state: DriveState, cdb: bytes, xfer: Transfer) -> None:
    """Accepted only where SAO is possible: blank CD-R/RW with page 05h Write Type SAO."""
    disc = _disc(state)
    size = int.from_bytes(cdb[6:9], "big")
    if disc.kind.family is not Family.CD or disc.kind.recording is Recording.ROM:
        raise r.CheckCondition(r.INVALID_FIELD_IN_CDB)
    if state.mode.write_type != 2 or disc.sessions:
        raise r.CheckCondition(r.SEQUENCE_ERROR)
    if size == 0 or size % 8 or len(xfer.data_out) < size:
        raise r.CheckCondition(r.PARAMETER_LIST_LENGTH)
    state.begin_recording()
    disc.load_cue_sheet(bytes(xfer.data_out[:size]))
    return None


@dataclass(frozen=True, slots=True)
class Command:
    length: int
    handler: Handler
    needs_medium: bool = True
    while_busy: bool = False
    ua_exempt: bool = False


COMMANDS: dict[int, Command] = {
    0x00: Command(6, unit_ready),
    0x03: Command(6, request_sense, needs_medium=False, while_busy=True, ua_exempt=True),
    0x04: Command(6, format_unit),
    0x12: Command(6, inquiry, needs_medium=False, while_busy=True, ua_exempt=True),
    0x1B: Command(6, start_stop_unit, needs_medium=False),
    0x1E: Command(6, prevent_allow, needs_medium=False, while_busy=True),
    0x23: Command(10, read_format_capacities),
    0x25: Command(10, read_capacity),
    0x28: Command(10, read),
    0x2A: Command(10, write),
    0x2E: Command(10, write),
    0x35: Command(10, synchronize_cache),
    0x43: Command(10, read_toc),
    0x46: Command(10, get_configuration, needs_medium=False, while_busy=True, ua_exempt=True),
    0x4A: Command(10, event_status, needs_medium=False, while_busy=True, ua_exempt=True),
    0x51: Command(10, read_disc_information),
    0x52: Command(10, read_track_information),
    0x53: Command(10, reserve_track),
    0x54: Command(10, send_opc),
    0x55: Command(10, mode_select, needs_medium=False),
    0x5A: Command(10, mode_sense, needs_medium=False),
    0x5B: Command(10, close_track_session),
    0x5C: Command(10, read_buffer_capacity, needs_medium=False, while_busy=True),
    0x5D: Command(10, send_cue_sheet),
    0xA1: Command(12, blank),
    0xA8: Command(12, read),
    0xAA: Command(12, write),
    0xAC: Command(12, get_performance),
    0xAD: Command(12, read_disc_structure),
    0xB6: Command(12, set_streaming, needs_medium=False),
    0xBB: Command(12, set_cd_speed, needs_medium=False),
    0xBD: Command(12, mechanism_status, needs_medium=False, while_busy=True),
    0xBE: Command(12, read_cd),
}
