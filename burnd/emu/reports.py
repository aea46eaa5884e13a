"""Response bytes describing the loaded disc: disc/track information, TOC, capacities.

Pure functions of a :class:`~burnd.emu.media.Disc`; layouts follow reference §3.6–§3.10 and
§3.28. Every builder returns the complete response; the burner truncates to the allocation
length, so the length fields always report the full size (reference §7.3).
"""

from __future__ import annotations

from burnd.emu import responses as r
from burnd.emu.kinds import Family, Recording
from burnd.emu.media import BLANK, COMPLETE, Disc, Track

NO_ADDRESS = 0xFFFFFFFF
ATIP_LEAD_IN = -11635  # typical ATIP start of lead-in (reference §5.2)
DISC_INFO_LENGTH = 34
TRACK_INFO_LENGTH = 48


def _u32(value: int) -> bytes:
    return (value & 0xFFFFFFFF).to_bytes(4, "big")


def _cd_or_lba(disc: Disc, lba: int) -> bytes:
    return r.msf_bytes(lba) if disc.kind.family is Family.CD else _u32(lba)


def disc_information(disc: Disc) -> bytes:
    """Standard Disc Information block, 34 bytes, no OPC tables (reference §3.6)."""
    out = bytearray(DISC_INFO_LENGTH)
    out[2] = disc.status | (disc.last_session_state << 2) | (0x10 if disc.kind.erasable else 0)
    out[3] = 1
    sessions = disc.session_count
    first, last = disc.first_track_last_session(), disc.last_track_last_session()
    out[4], out[9] = sessions & 0xFF, sessions >> 8
    out[5], out[10] = first & 0xFF, first >> 8
    out[6], out[11] = last & 0xFF, last >> 8
    out[7] = 0x20 | (disc.bg_format if disc.kind.name == "dvd+rw" else 0)  # URU set
    lead_in, lead_out = _lead_in_out(disc)
    out[16:20] = lead_in
    out[20:24] = lead_out
    return bytes(r.with_length(out, 2))


def _lead_in_out(disc: Disc) -> tuple[bytes, bytes]:
    if disc.status == COMPLETE or not disc.sequential:
        return _u32(NO_ADDRESS), _u32(NO_ADDRESS)
    if disc.kind.family is Family.CD:
        lead_in = ATIP_LEAD_IN if disc.status == BLANK else disc.next_start() - 150 - 4500
        return r.msf_bytes(lead_in), r.msf_bytes(disc.capacity)
    return _u32(0), _u32(disc.user_capacity)


def find_track(disc: Disc, address_type: int, value: int) -> Track | None:
    """Resolve READ TRACK INFORMATION's address (reference §3.7); None = invalid address."""
    if not disc.sequential:
        # Random and ROM media are one track in one session spanning the whole user area.
        by_number = address_type in (1, 2) and value == 1
        by_lba = address_type == 0 and 0 <= value < max(disc.user_capacity, 1)
        return _random_track(disc) if by_number or by_lba else None
    invisible = disc.invisible_track()
    tracks = disc.tracks
    if invisible is not None and invisible not in tracks:
        tracks = tracks + [invisible]
    if address_type == 1:
        if value == 0xFF and disc.kind.family is Family.DVD and disc.kind.uses_page05:
            return None
        if value == 0xFF and disc.kind.family is Family.BD:
            return None
        if value == 0xFF:
            return invisible
        return next((t for t in tracks if t.number == value), None)
    if address_type == 2:
        if value == 0xFF:
            return invisible
        return next((t for t in tracks if t.session == value), None)
    for t in tracks:
        end = t.end if t is not invisible else disc.user_capacity
        if t.start <= value < end:
            return t
    return None


def _random_track(disc: Disc) -> Track:
    return Track(1, 1, 0, written=disc.user_capacity, closed=True)


def track_information(disc: Disc, track: Track) -> bytes:
    """48-byte Track Information block (reference §3.7)."""
    out = bytearray(TRACK_INFO_LENGTH)
    out[2], out[32] = track.number & 0xFF, track.number >> 8
    out[3], out[33] = track.session & 0xFF, track.session >> 8
    is_cd = disc.kind.family is Family.CD
    out[5] = 4 if is_cd or disc.kind.recording is not Recording.SEQUENTIAL else 5
    blank = track.written == 0 and not track.closed
    data_mode = 0x0F if blank else 0x01
    flags = 0x40 if blank else 0
    if track.reserved is not None:
        flags |= 0x80
    if disc.sequential and not is_cd:
        flags |= 0x20 | (0x10 if disc.kind.family is Family.DVD else 0)
    out[6] = data_mode | flags
    writable = disc.sequential and not track.closed and not disc.finalized
    lra_valid = track.written > 0
    out[7] = (0x01 if writable else 0) | (0x02 if lra_valid else 0)
    out[8:12] = _u32(track.start)
    out[12:16] = _u32(track.nwa if writable else 0)
    out[16:20] = _u32(disc.free_blocks(track) if writable else 0)
    out[20:24] = _u32(disc.kind.ecc_blocks if disc.kind.family is not Family.CD else 0)
    size = (
        track.size
        if track.closed or track.reserved is not None
        else (track.written + disc.free_blocks(track))
    )
    out[24:28] = _u32(size)
    out[28:32] = _u32(track.recorded_end - 1 if lra_valid else 0)
    return bytes(r.with_length(out, 2))


def read_capacity(disc: Disc) -> bytes:
    """Last LBA + block length (reference §3.9); 0 on blank media as libburn expects."""
    end = disc.recorded_end()
    return _u32(max(end - 1, 0)) + _u32(2048)


def _toc_entry(adr_control: int, number: int, lba: int, msf: bool) -> bytes:
    address = r.msf_bytes(lba) if msf else _u32(lba)
    return bytes((0, adr_control, number, 0)) + address


def _control(disc: Disc) -> int:
    """ADR 1 + CONTROL: data track, recorded incrementally on DVD/BD sequential media."""
    incremental = 0x01 if disc.sequential and disc.kind.family is not Family.CD else 0
    return 0x10 | 0x04 | incremental


def toc(disc: Disc, fmt: int, number: int, msf: bool) -> bytes:
    """READ TOC/PMA/ATIP formats 0, 1, 2 and 4 (reference §3.8)."""
    if fmt == 4:
        return atip(disc)
    tracks = [t for t in disc.tracks if t.written or t.closed]
    if not tracks:
        raise r.invalid_cdb_field(2)
    closed_sessions = [s for s in disc.sessions if s.closed and s.tracks]
    if fmt == 0:
        return _formatted_toc(disc, tracks, number, msf)
    if fmt == 1:
        last = closed_sessions[-1] if closed_sessions else disc.sessions[0]
        body = bytearray(4)
        body[2] = 1
        body[3] = last.number if closed_sessions else 1
        first = last.tracks[0]
        body += _toc_entry(_control(disc), first.number, first.start, msf)
        return bytes(r.with_length(body, 2))
    if fmt == 2:
        if disc.kind.family is not Family.CD:
            raise r.invalid_cdb_field(2)
        return _raw_toc(disc)
    raise r.invalid_cdb_field(2)


def _formatted_toc(disc: Disc, tracks: list[Track], number: int, msf: bool) -> bytes:
    if number > tracks[-1].number and number != 0xAA:
        raise r.invalid_cdb_field(6)
    body = bytearray(4)
    body[2], body[3] = tracks[0].number, tracks[-1].number
    for t in tracks:
        if t.number >= number:
            body += _toc_entry(_control(disc), t.number, t.start, msf)
    lead_out = max(t.recorded_end + t.runout for t in tracks)
    body += _toc_entry(0x14, 0xAA, lead_out, msf)
    return bytes(r.with_length(body, 2))


def _raw_entry(session: int, point: int, addr: bytes, paddr: bytes) -> bytes:
    return bytes((session, 0x14, 0, point)) + addr[1:] + b"\x00" + paddr[1:]


def _raw_toc(disc: Disc) -> bytes:
    sessions = [s for s in disc.sessions if s.tracks and (s.closed or s.tracks[0].written)]
    body = bytearray(4)
    body[2], body[3] = 1, max(1, sum(1 for s in sessions if s.closed))
    zero = bytes(4)
    for index, s in enumerate(sessions):
        first, last = s.tracks[0], s.tracks[-1]
        body += _raw_entry(s.number, 0xA0, zero, bytes((0, first.number, 0x00, 0)))
        body += _raw_entry(s.number, 0xA1, zero, bytes((0, last.number, 0, 0)))
        body += _raw_entry(s.number, 0xA2, zero, r.msf_bytes(last.end))
        for t in s.tracks:
            body += _raw_entry(s.number, t.number, zero, r.msf_bytes(t.start))
        following = sessions[index + 1].tracks[0].start if index + 1 < len(sessions) else None
        if following is None and not disc.finalized:
            following = disc.next_start()
        if following is not None:
            body += _raw_entry(s.number, 0xB0, r.msf_bytes(following), r.msf_bytes(disc.capacity))
    return bytes(r.with_length(body, 2))


def atip(disc: Disc) -> bytes:
    """ATIP (format 4), CD-R/RW only (reference §3.8)."""
    if disc.kind.name not in ("cd-r", "cd-rw"):
        raise r.invalid_cdb_field(2)
    body = bytearray(28)
    body[4] = 0x50 | 0x01
    body[6] = 0x80 | (0x40 if disc.kind.erasable else 0)
    body[8:11] = r.msf_bytes(ATIP_LEAD_IN)[1:]
    body[12:15] = r.msf_bytes(disc.capacity)[1:]
    return bytes(r.with_length(body, 2))


def format_capacities(disc: Disc) -> bytes:
    """READ FORMAT CAPACITIES: current/maximum descriptor + formattable ones (§3.10)."""
    if disc.kind.recording is Recording.RANDOM:
        if disc.is_formatted:
            current = (disc.formatted, 0b11 if disc.intermediate else 0b10)
        else:
            current = (disc.capacity, 0b01)
    elif disc.kind.recording is Recording.ROM:
        current = (disc.capacity, 0b10)
    else:
        current = (disc.user_capacity, 0b01 if disc.status == BLANK else 0b10)
    body = bytearray(4)
    body += _u32(current[0]) + bytes((current[1],)) + (2048).to_bytes(3, "big")
    for blocks, ftype, param in disc.format_offers():
        body += _u32(blocks) + bytes((ftype << 2,)) + param.to_bytes(3, "big")
    body[3] = len(body) - 4
    return bytes(body)


def disc_structure(disc: Disc, media_type: int, fmt: int) -> bytes:
    """READ DISC STRUCTURE formats 00h (physical) and FFh (list) — reference §3.28."""
    is_bd = media_type == 1
    if (disc.kind.family is Family.BD) != is_bd or disc.kind.family is Family.CD:
        raise r.CheckCondition(r.CANNOT_READ_INCOMPATIBLE)
    if fmt == 0xFF:
        body = bytearray(4) + bytes((0x00, 0x40, 0x08, 0x04)) + bytes((0xFF, 0x40, 0x01, 0x00))
        return bytes(r.with_length(body, 2))
    if fmt != 0x00:
        raise r.invalid_cdb_field(7)
    body = bytearray(4 + 2048)
    if is_bd:
        body[4:6] = b"DI"
        body[12:16] = disc.kind.name.upper().encode("ascii")[:4].ljust(4, b" ")
    else:
        body[4] = (disc.kind.book_type << 4) | 0x05
        body[5] = 0x0F
        body[6] = 0x01 if disc.kind.name == "dvd+r-dl" else 0x00
        body[8:12] = _u32(0x030000)
        body[12:16] = _u32(0x030000 + disc.capacity - 1)
    return bytes(r.with_length(body, 2))
