"""Formatting, blanking and random writes: DVD+RW, BD-RE, DVD-RAM, DVD-RW, CD-RW."""

from __future__ import annotations

import struct

from tests.emu import host as h


def capacities(host: h.Host) -> tuple[tuple[int, int], list[tuple[int, int, int]]]:
    """(current blocks, descriptor type), [(blocks, format type, parameter), ...]."""
    data = host.get(h.read_format_capacities(), 252)
    count = data[3] // 8
    current = (struct.unpack(">I", data[4:8])[0], data[8] & 3)
    offers = []
    for i in range(1, count):
        d = data[4 + 8 * i : 12 + 8 * i]
        offers.append((struct.unpack(">I", d[0:4])[0], d[4] >> 2, int.from_bytes(d[5:8], "big")))
    return current, offers


def format_and_poll(host: h.Host, blocks: int, ftype: int, param: int = 0, sub: int = 0):
    host.ok(h.format_unit(), h.OUT, h.format_params(blocks, ftype, param, sub))
    return host.wait_ready()


def test_dvd_plus_rw_format_with_progress(make_host):
    host = make_host("dvd+rw", busy_seconds=0.2)
    info = host.disc()
    assert (info.status, info.bg_format, info.erasable) == (0, 0, True)
    (blocks, dtype), offers = capacities(host)
    assert dtype == 0b01 and offers == [(2_295_104, 0x26, 0)]
    assert host.check(h.write10(0, 16), h.OUT, bytes(16 * 2048)) == (5, 0x30, 0x10)
    host.ok(h.format_unit(), h.OUT, h.format_params(0xFFFFFFFF, 0x26))
    first = host.run(h.tur())
    assert h.sense_of(first) == (2, 0x04, 0x04) and first.sense[15] & 0x80
    sense = host.get(h.request_sense(), 18)
    assert (sense[2] & 0xF, sense[12], sense[13]) == (2, 4, 4) and sense[15] & 0x80
    assert host.check(h.disc_info(), h.IN, 34) == (2, 0x04, 0x04)
    assert host.profile() == 0x1A  # GET CONFIGURATION is answered while formatting
    seen = host.wait_ready()
    progress = [s for s in seen if s == (2, 4, 4)]
    assert progress
    info = host.disc()
    assert (info.status, info.bg_format) == (2, 3)
    assert capacities(host)[0] == (2_295_104, 0b10)
    host.write(100, 1, fill=0x11)
    host.write(50, 3, fill=0x22)  # random order, 2 KiB granularity
    host.ok(h.sync_cache())
    host.ok(h.close(2))
    assert host.read(100, 1) == bytes((0x11,)) * 2048
    assert host.read(0, 1) == bytes(2048)
    assert host.check(h.write10(2_295_104, 1), h.OUT, bytes(2048)) == (5, 0x21, 0)


def test_progress_indicator_grows(make_host):
    host = make_host("bd-re", busy_seconds=0.3)
    host.ok(h.format_unit(), h.OUT, h.format_params(12_219_392, 0x31, 0x800))
    values = []
    for _ in range(400):
        result = host.run(h.tur())
        if result.ok:
            break
        values.append(struct.unpack(">H", result.sense[16:18])[0])
        __import__("time").sleep(0.01)
    assert len(values) >= 2 and values == sorted(values) and values[-1] > values[0]


def test_bd_re_format_types(make_host):
    host = make_host("bd-re")
    assert host.disc().status == 0
    (blocks, dtype), offers = capacities(host)
    assert dtype == 0b01
    types = [o[1] for o in offers]
    assert types.count(0x30) == 3 and 0x00 in types and 0x31 in types
    assert host.check(h.read10(0, 1), h.IN, 2048) == (5, 0x30, 0x10)
    default = next(o for o in offers if o[1] == 0x00)
    format_and_poll(host, default[0], 0x00, 0x800)
    assert capacities(host)[0] == (default[0], 0b10)
    assert host.disc().status == 2
    last = struct.unpack(">I", host.get(h.read_capacity(), 8)[0:4])[0]
    assert last == default[0] - 1
    host.write(12345, 32, fill=0x99)
    assert host.read(12345, 32) == bytes((0x99,)) * (32 * 2048)
    assert host.check(h.write10(default[0], 32), h.OUT, bytes(32 * 2048)) == (5, 0x21, 0)
    format_and_poll(host, 12_219_392, 0x31, 0x800)
    assert capacities(host)[0] == (12_219_392, 0b10)
    assert host.check(h.format_unit(), h.OUT, h.format_params(5, 0x30)) == (5, 0x26, 0)
    assert host.check(h.blank(1)) == (5, 0x24, 0)


def test_dvd_ram_is_formatted_random_media(make_host):
    host = make_host("dvd-ram")
    info = host.disc()
    assert info.status == 3
    host.write(7, 1, fill=1)
    assert host.read(7, 1) == bytes((1,)) * 2048
    assert host.track(1).start == 0


def test_dvd_rw_sequential_to_restricted_overwrite_and_back(make_host):
    host = make_host("dvd-rw", capacity=65536)
    (_, dtype), offers = capacities(host)
    assert dtype == 0b01 and {o[1] for o in offers} == {0x00, 0x10, 0x15}
    format_and_poll(host, 0, 0x15, 16)
    assert host.profile() == 0x13
    (size, dtype), offers = capacities(host)
    assert (size, dtype) == (0, 0b11)  # intermediate state after quick format
    host.write(0, 32)  # grows sequentially
    assert host.check(h.write10(64, 16), h.OUT, bytes(16 * 2048)) == (5, 0x21, 0)
    assert host.check(h.write10(8, 16), h.OUT, bytes(16 * 2048)) == (5, 0x21, 0x02)
    assert host.check(h.write10(32, 8), h.OUT, bytes(8 * 2048)) == (5, 0x64, 0x01)
    host.ok(h.sync_cache())
    host.ok(h.close(2))
    (size, dtype), offers = capacities(host)
    assert (size, dtype) == (32, 0b10)
    grow = [o for o in offers if o[1] == 0x13]
    assert grow
    format_and_poll(host, 0, 0x13, 16)
    host.write(32, 16)
    host.ok(h.sync_cache())
    host.ok(h.close(2))
    assert host.disc().status == 2
    host.ok(h.blank(0, immed=True))
    assert (2, 4, 7) in host.wait_ready()
    assert host.profile() == 0x14
    assert host.disc().status == 0


def test_dvd_rw_full_format(make_host):
    host = make_host("dvd-rw", capacity=65536)
    assert host.check(h.format_unit(), h.OUT, h.format_params(1000, 0x10, 16)) == (5, 0x26, 0)
    assert host.check(h.format_unit(), h.OUT, h.format_params(65536, 0x10, 0)) == (5, 0x26, 0)
    format_and_poll(host, 65536, 0x10, 16)
    assert capacities(host)[0] == (65536, 0b10)
    assert host.disc().status == 2


def test_dvd_rw_minimal_blank_disables_incremental(make_host):
    host = make_host("dvd-rw", capacity=65536)
    host.ok(h.blank(1))
    params = h.page05(
        write_type=0, multisession=3, track_mode=5, fixed_packet=True, packet=16, link=16
    )
    host.ok(h.mode_select(len(params)), h.OUT, params)
    feature = host.get(h.get_configuration(rt=2, start=0x21), 64)
    assert feature[10] & 1 == 0
    assert host.check(h.write10(0, 16), h.OUT, bytes(16 * 2048)) == (5, 0x64, 0)
    dao = h.page05(write_type=2, track_mode=5)
    host.ok(h.mode_select(len(dao)), h.OUT, dao)
    host.ok(h.reserve_track(64))
    host.write(0, 64)
    host.ok(h.sync_cache())
    assert host.disc().status == 2
    host.ok(h.blank(0))
    assert host.get(h.get_configuration(rt=2, start=0x21), 64)[10] & 1 == 1


def test_cd_rw_blank_erases_sessions(make_host):
    host = make_host("cd-rw")
    host.write(0, 300, fill=0x55)
    host.ok(h.sync_cache())
    host.ok(h.close(2))
    assert host.disc().status == 2
    host.ok(h.blank(1, immed=True))
    assert (2, 4, 7) in host.wait_ready()
    assert host.disc().status == 0
    assert host.check(h.read10(0, 1), h.IN, 2048) == (5, 0x21, 0)
    assert host.check(h.blank(3)) == (5, 0x24, 0)


def test_bd_r_preformat_reports_appendable_empty(make_host):
    host = make_host("bd-r")
    (_, dtype), offers = capacities(host)
    assert dtype == 0b01 and {o[1] for o in offers} == {0x00, 0x32}
    spare = next(o for o in offers if o[1] == 0x00)[0]
    format_and_poll(host, spare, 0x00, 0, sub=1)
    info = host.disc()
    assert (info.status, info.sessions, info.last_session_state) == (1, 1, 0)
    assert host.track(1).free == spare
    assert struct.unpack(">I", host.get(h.read_capacity(), 8)[0:4])[0] == 0
    pow_feature = host.get(h.get_configuration(rt=2, start=0x38), 64)
    assert pow_feature[10] & 1 == 0
    assert host.check(h.format_unit(), h.OUT, h.format_params(spare, 0x00)) == (5, 0x26, 0)


def test_format_unit_cdb_and_parameter_errors(make_host):
    host = make_host("bd-re")
    bad_cdb = bytes((0x04, 0x01, 0, 0, 0, 0))
    assert host.check(bad_cdb, h.OUT, h.format_params(0, 0x31, 0x800)) == (5, 0x24, 0)
    assert host.check(h.format_unit(), h.OUT, b"\x00" * 4) == (5, 0x1A, 0)
    bad_len = bytearray(h.format_params(0, 0x31, 0x800))
    bad_len[3] = 4
    assert host.check(h.format_unit(), h.OUT, bytes(bad_len)) == (5, 0x26, 0)
