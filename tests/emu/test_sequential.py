"""Burn sequences on write-once media, as reference §5 describes them, and their violations."""

from __future__ import annotations

import struct

import pytest

from tests.emu import host as h

DVD_PLUS_R_BLOCKS = 2_295_104
BD_R_BLOCKS = 12_219_392


def select(host: h.Host, **fields: int) -> None:
    params = h.page05(**fields)
    host.ok(h.mode_select(len(params)), h.OUT, params)


def toc_entries(data: bytes, size: int = 8) -> list[bytes]:
    total = struct.unpack(">H", data[0:2])[0] + 2
    return [data[i : i + size] for i in range(4, total, size)]


@pytest.mark.parametrize(
    "name,blocks,erasable",
    [
        ("cd-r", 360_000, False),
        ("cd-rw", 360_000, True),
        ("dvd-r", 2_298_496, False),
        ("dvd-rw", 2_298_496, True),
        ("dvd+r", DVD_PLUS_R_BLOCKS, False),
        ("dvd+r-dl", 4_173_824, False),
        ("bd-r", BD_R_BLOCKS, False),
    ],
)
def test_blank_sequential_media(make_host, name, blocks, erasable):
    host = make_host(name)
    info = host.disc()
    assert (info.status, info.last_session_state, info.erasable) == (0, 0, erasable)
    assert (info.sessions, info.first_track_last_session, info.last_track_last_session) == (1, 1, 1)
    assert info.length == 32
    track = host.track(1)
    assert track.blank and track.nwa_valid and track.nwa == 0 and track.free == blocks
    assert host.check(h.read_toc(), h.IN, 2048) == (5, 0x24, 0)
    assert host.check(h.read10(0, 1), h.IN, 2048) == (5, 0x21, 0)


def test_capacity_override(make_host):
    host = make_host("dvd+r", capacity=4096)
    assert host.track(0xFF).free == 4096


def test_full_dvd_plus_r_burn(make_host):
    host = make_host("dvd+r")
    track = host.track(0xFF)
    assert track.nwa == 0
    for lba in range(0, 160, 16):
        host.write(lba, 16, fill=lba & 0xFF)
    host.write(160, 5)
    assert host.track(0xFF).nwa == 165
    host.ok(h.sync_cache())
    host.ok(h.close(1, track=host.disc().last_track_last_session))
    closed = host.track(1)
    assert not closed.nwa_valid and closed.size == 176  # padded to the ECC block
    host.ok(h.close(2))
    info = host.disc()
    assert (info.status, info.sessions, info.last_track_last_session) == (1, 2, 2)
    nxt = host.track(0xFF)
    assert (nxt.number, nxt.session, nxt.nwa) == (2, 2, 176)
    host.write(176, 16)
    host.ok(h.sync_cache())
    host.ok(h.close(1, track=2))
    host.ok(h.close(6))
    info = host.disc()
    assert (info.status, info.last_session_state, info.sessions) == (2, 3, 2)
    assert host.read(16, 1) == bytes((16,)) * 2048
    assert host.read(165, 1) == bytes(2048)  # drive padding
    capacity = host.get(h.read_capacity(), 8)
    assert struct.unpack(">II", capacity) == (191, 2048)
    entries = toc_entries(host.get(h.read_toc(), 2048))
    assert [e[2] for e in entries] == [1, 2, 0xAA]
    assert struct.unpack(">I", entries[1][4:8])[0] == 176
    assert host.check(h.write10(192, 16), h.OUT, bytes(16 * 2048)) == (5, 0x30, 0x05)
    assert host.vb.medium.status == 2


def test_dvd_plus_r_finalize_with_minimal_radius_and_reserve(make_host):
    host = make_host("dvd+r")
    host.ok(h.reserve_track(100))
    reserved = host.track(1)
    assert reserved.reserved and reserved.size == 112 and reserved.nwa == 0
    after = host.track(0xFF)
    assert (after.number, after.start) == (2, 112)
    host.write(0, 32)
    assert host.check(h.write10(0, 16), h.OUT, bytes(16 * 2048)) == (5, 0x21, 0x02)
    host.ok(h.sync_cache())
    host.ok(h.close(1, track=1))
    host.ok(h.close(5))
    assert host.disc().status == 2


def test_cd_r_tao_multisession(make_host):
    host = make_host("cd-r")
    select(host, write_type=1, multisession=3, track_mode=4, block_type=8)
    assert host.track(0xFF).nwa == 0
    for lba in range(0, 300, 15):
        host.write(lba, 15)
    host.ok(h.sync_cache())
    track1 = host.track(1)
    assert track1.size == 302 and not track1.nwa_valid  # 2 run-out blocks
    host.ok(h.close(2))
    info = host.disc()
    assert (info.status, info.sessions) == (1, 2)
    nwa = host.track(0xFF).nwa
    assert nwa == 302 + 11400
    multi = host.get(h.read_toc(fmt=1), 12)
    assert struct.unpack(">I", multi[8:12])[0] == 0
    host.write(nwa, 300)
    host.ok(h.sync_cache())
    select(host, write_type=1, multisession=0)
    host.ok(h.close(2))
    info = host.disc()
    assert (info.status, info.sessions) == (2, 2)
    multi = host.get(h.read_toc(fmt=1), 12)
    assert multi[3] == 2 and struct.unpack(">I", multi[8:12])[0] == nwa
    raw = toc_entries(host.get(h.read_toc(fmt=2), 2048), 11)
    points = [(e[0], e[3]) for e in raw]
    assert (1, 0xA0) in points and (2, 0xA2) in points and (1, 0xB0) in points
    assert (2, 0xB0) not in points  # finalized: no next program area
    msf = host.get(h.read_toc(fmt=0, msf=True), 2048)
    assert toc_entries(msf)[0][5:8] == bytes((0, 2, 0))


def test_cd_tao_third_session_gap_is_6900(make_host):
    host = make_host("cd-rw")
    select(host, write_type=1, multisession=3)
    for _ in range(2):
        nwa = host.track(0xFF).nwa
        host.write(nwa, 300)
        host.ok(h.sync_cache())
        host.ok(h.close(2))
    second = host.track(2)
    assert host.track(0xFF).nwa == second.start + second.size + 6900


def test_cd_atip_only_on_recordable_cd(make_host):
    atip = make_host("cd-rw").get(h.read_toc(fmt=4, msf=True), 28)
    assert atip[6] & 0x40  # disc type CD-RW
    assert atip[8] >= 90  # lead-in start in the lead-in area (M ≥ 90)
    assert make_host("cd-r").get(h.read_toc(fmt=4, msf=True), 28)[6] & 0x40 == 0
    assert make_host("dvd+r").check(h.read_toc(fmt=4, msf=True), h.IN, 28) == (5, 0x24, 0)


def test_raw_toc_rejected_on_dvd(make_host):
    host = make_host("dvd+r")
    host.write(0, 16)
    host.ok(h.sync_cache())
    assert host.check(h.read_toc(fmt=2), h.IN, 2048) == (5, 0x24, 0)


def cue_entry(ctl_adr: int, tno: int, index: int, form: int, lba: int) -> bytes:
    frames = lba + 150
    return bytes((ctl_adr, tno, index, form, 0, frames // 4500, (frames // 75) % 60, frames % 75))


def test_cd_sao_from_pregap(make_host):
    host = make_host("cd-r")
    sheet = (
        cue_entry(0x41, 0, 0, 0x14, -150)
        + cue_entry(0x41, 1, 0, 0x10, -150)
        + cue_entry(0x41, 1, 1, 0x10, 0)
        + cue_entry(0x41, 0xAA, 1, 0x14, 600)
    )
    cue_cdb = bytes((0x5D, 0, 0, 0, 0, 0)) + len(sheet).to_bytes(3, "big") + b"\x00"
    assert host.check(cue_cdb, h.OUT, sheet) == (5, 0x2C, 0)  # page 05h still says TAO
    select(host, write_type=2, multisession=0)
    host.ok(cue_cdb, h.OUT, sheet)
    assert host.check(h.write10(0, 16), h.OUT, bytes(16 * 2048)) == (5, 0x21, 0x02)
    lba = -150
    while lba < 600:
        count = min(32, 600 - lba)
        host.ok(h.write10(lba, count), h.OUT, bytes((0x33,)) * (count * 2048))
        lba += count
    host.ok(h.sync_cache())
    info = host.disc()
    assert (info.status, info.sessions) == (2, 1)
    assert host.read(0, 1) == bytes((0x33,)) * 2048


def test_cd_test_write_leaves_disc_blank(make_host):
    host = make_host("cd-r")
    select(host, write_type=1, test=True)
    host.write(0, 300, fill=0x77)
    assert host.track(0xFF).nwa == 300
    host.ok(h.sync_cache())
    host.ok(h.close(2))
    assert host.disc().status == 0
    assert host.vb.medium.tracks == []


def test_dvd_minus_r_incremental(make_host):
    host = make_host("dvd-r")
    select(host, write_type=0, multisession=3, track_mode=5, fixed_packet=True, packet=16, link=16)
    assert host.check(h.track_info(0xFF), h.IN, 48) == (5, 0x24, 0)
    last = host.disc().last_track_last_session
    assert host.track(last).nwa == 0
    assert host.check(h.write10(0, 10), h.OUT, bytes(10 * 2048)) == (5, 0x64, 0x01)
    host.write(0, 32)
    host.ok(h.sync_cache())
    host.ok(h.close(1, track=1))
    host.ok(h.close(2))
    info = host.disc()
    assert (info.status, info.sessions, info.last_track_last_session) == (1, 2, 2)
    assert host.track(2).nwa == 32


def test_dvd_minus_r_dao_needs_exact_reservation(make_host):
    host = make_host("dvd-r")
    select(host, write_type=2, multisession=0, track_mode=5)
    assert host.check(h.write10(0, 16), h.OUT, bytes(16 * 2048)) == (5, 0x2C, 0)
    host.ok(h.reserve_track(1000))
    assert host.track(1).size == 1000
    host.write(0, 992)
    assert host.check(h.write10(992, 16), h.OUT, bytes(16 * 2048)) == (5, 0x63, 0)
    host.write(992, 8)
    host.ok(h.sync_cache())
    assert host.disc().status == 2
    assert host.check(h.reserve_track(16)) == (5, 0x30, 0x05)


def test_bd_r_sessions_and_finalize(make_host):
    host = make_host("bd-r")
    assert host.check(h.track_info(0xFF), h.IN, 48) == (5, 0x24, 0)
    for session in range(3):
        last = host.disc().last_track_last_session
        nwa = host.track(last).nwa
        assert nwa == session * 64
        host.write(nwa, 40)
        host.ok(h.sync_cache())
        host.ok(h.close(1, track=last))
        host.ok(h.close(2))
    info = host.disc()
    assert (info.status, info.sessions) == (1, 4)
    assert host.check(h.close(5)) == (5, 0x24, 0)
    host.ok(h.close(6))
    assert host.disc().status == 2


def test_write_once_violations(make_host):
    host = make_host("dvd+r", capacity=1024)
    result = host.run(h.write10(16, 16), h.OUT, bytes(16 * 2048))
    assert h.sense_of(result) == (5, 0x21, 0x02)
    assert result.sense[0] & 0x80 and struct.unpack(">I", result.sense[3:7])[0] == 16
    assert host.check(h.write10(1020, 16), h.OUT, bytes(16 * 2048)) == (5, 0x21, 0)
    assert host.check(h.write10(0, 16), h.OUT, bytes(2048)) == (5, 0x24, 0)
    host.write(0, 16)
    assert host.check(h.close(1, track=1)) == (5, 0x2C, 0)  # no SYNCHRONIZE CACHE yet
    host.ok(h.sync_cache())
    assert host.check(h.reserve_track(32)) == (5, 0x2C, 0)
    assert host.check(h.close(2)) == (5, 0x72, 0x03)  # track still open
    assert host.check(h.close(3)) == (5, 0x24, 0)
    assert host.check(h.close(1, track=7)) == (5, 0x24, 0)
    assert host.check(h.blank(0)) == (5, 0x24, 0)
    params = h.format_params(1024, 0x26)
    assert host.check(h.format_unit(), h.OUT, params) == (5, 0x26, 0)
    assert host.check(h.read10(16, 1), h.IN, 2048) == (5, 0x21, 0)
    assert host.check(h.write10(0, 16), h.OUT, bytes(16 * 2048)) == (5, 0x21, 0x02)


def test_random_write_on_sequential_media_rejected(make_host):
    host = make_host("bd-r")
    host.write(0, 32)
    assert host.check(h.write10(0, 32), h.OUT, bytes(32 * 2048)) == (5, 0x21, 0x02)
    assert host.check(h.write10(64, 32), h.OUT, bytes(32 * 2048)) == (5, 0x21, 0x02)
    host.ok(h.write12(32, 32), h.OUT, bytes(32 * 2048))
    assert host.get(h.read12(32, 1), 2048) == bytes(2048)


def test_cd_raw_block_types_not_emulated(make_host):
    host = make_host("cd-r")
    select(host, write_type=1, block_type=0, track_mode=0)
    assert host.check(h.write10(0, 1), h.OUT, bytes(2352)) == (5, 0x64, 0)


def test_read_cd_user_data(make_host):
    host = make_host("cd-r")
    host.write(0, 300, fill=0x42)
    host.ok(h.sync_cache())
    assert host.get(h.read_cd(10, 2), 4096) == bytes((0x42,)) * 4096
    assert host.check(h.read_cd(10, 1, flags=0xF8), h.IN, 2352) == (5, 0x24, 0)
    assert host.check(h.read_cd(300, 1), h.IN, 2048) == (5, 0x21, 0)  # run-out
    dvd = make_host("dvd+r")
    assert dvd.check(h.read_cd(0, 1), h.IN, 2048) == (5, 0x30, 0x02)


def test_cd_sao_two_tracks_in_one_stream(make_host):
    host = make_host("cd-rw")
    sheet = (
        cue_entry(0x41, 0, 0, 0x14, -150)
        + cue_entry(0x41, 1, 0, 0x10, -150)
        + cue_entry(0x41, 1, 1, 0x10, 0)
        + cue_entry(0x41, 2, 1, 0x10, 400)
        + cue_entry(0x41, 0xAA, 1, 0x14, 700)
    )
    select(host, write_type=2, multisession=3)
    host.ok(bytes((0x5D, 0, 0, 0, 0, 0)) + len(sheet).to_bytes(3, "big") + b"\x00", h.OUT, sheet)
    lba = -150
    while lba < 700:
        count = min(64, 700 - lba)
        blocks = [bytes((b // 400 + 1 if b >= 0 else 0,)) * 2048 for b in range(lba, lba + count)]
        host.ok(h.write10(lba, count), h.OUT, b"".join(blocks))
        lba += count
    host.ok(h.sync_cache())
    info = host.disc()
    assert (info.status, info.sessions) == (1, 2)  # multi-session 11b keeps it appendable
    second = host.track(2)
    assert (second.start, second.size) == (400, 300 + 2)
    assert host.read(399, 2) == bytes((1,)) * 2048 + bytes((2,)) * 2048


def test_track_information_by_lba_and_session(make_host):
    host = make_host("dvd+r")
    for _ in range(2):
        nwa = host.track(0xFF).nwa
        host.write(nwa, 48)
        host.ok(h.sync_cache())
        host.ok(h.close(1, track=host.disc().last_track_last_session))
        host.ok(h.close(2))
    by_lba = host.track(60, address_type=0)
    assert (by_lba.number, by_lba.start, by_lba.last_recorded) == (2, 48, 95)
    by_session = host.track(2, address_type=2)
    assert by_session.number == 2
    invisible = host.track(200, address_type=0)
    assert invisible.number == 3 and invisible.blank
    assert host.check(h.track_info(5), h.IN, 48) == (5, 0x24, 0)
    assert host.vb.medium.nwa == 96
