"""Identification and drive-level commands: INQUIRY, GET CONFIGURATION, GESN, mode pages."""

from __future__ import annotations

import struct

import pytest

from burnd.emu import MEDIA_KINDS
from tests.emu import host as h

PROFILES = {
    "cd-r": 0x09,
    "cd-rw": 0x0A,
    "dvd-r": 0x11,
    "dvd-rw": 0x14,
    "dvd-rw-ro": 0x13,
    "dvd+r": 0x1B,
    "dvd+r-dl": 0x2B,
    "dvd+rw": 0x1A,
    "dvd-ram": 0x12,
    "bd-r": 0x41,
    "bd-re": 0x43,
}


def features(data: bytes) -> dict[int, tuple[bool, bytes]]:
    """Feature code → (current, payload), walking the descriptors after the 8-byte header."""
    total = struct.unpack(">I", data[0:4])[0] + 4
    out, at = {}, 8
    while at + 4 <= min(total, len(data)):
        code, flags, size = struct.unpack(">HBB", data[at : at + 4])
        out[code] = (bool(flags & 1), data[at + 4 : at + 4 + size])
        at += 4 + size
    return out


def test_inquiry_standard_data(make_host):
    host = make_host(vendor="ACME", model="Burner 9000", revision="2.1")
    data = host.get(h.inquiry(36), 36)
    assert data[0] & 0x1F == 5
    assert data[1] & 0x80
    assert data[4] == len(data) - 5
    assert data[8:16] == b"ACME    "
    assert data[16:32] == b"Burner 9000     "
    assert data[32:36] == b"2.1 "


def test_inquiry_vpd_pages(make_host):
    host = make_host(serial="SER123")
    pages = host.get(h.inquiry(255, evpd=1, page=0), 255)
    assert list(pages[4 : 4 + pages[3]]) == [0x00, 0x80]
    serial = host.get(h.inquiry(255, evpd=1, page=0x80), 255)
    assert serial[1] == 0x80 and serial[4 : 4 + serial[3]] == b"SER123"
    assert host.check(h.inquiry(255, evpd=1, page=0x83), h.IN, 255) == (5, 0x24, 0)
    assert host.check(h.inquiry(36, evpd=0, page=0x80), h.IN, 36) == (5, 0x24, 0)


def test_inquiry_truncated_keeps_length_field(make_host):
    data = make_host().get(h.inquiry(5), 5)
    assert len(data) == 5 and data[4] == 31


def test_non_optical_device_answers_only_inquiry(make_host):
    host = make_host(peripheral_type=0)
    assert host.get(h.inquiry(36), 36)[0] == 0
    assert host.check(h.get_configuration(alloc=8), h.IN, 8) == (5, 0x20, 0)
    assert host.check(h.disc_info(), h.IN, 34) == (5, 0x20, 0)
    assert host.check(h.write10(0, 1), h.OUT, bytes(2048)) == (5, 0x20, 0)
    assert host.vb.command_log == [0x12, 0x46, 0x51, 0x2A]


@pytest.mark.parametrize("name,profile", sorted(PROFILES.items()))
def test_current_profile_per_medium(make_host, name, profile):
    host = make_host(name)
    assert host.profile() == profile
    listed = features(host.get(h.get_configuration(rt=2, start=0), 4096))[0][1]
    entries = {
        struct.unpack(">H", listed[i : i + 2])[0]: listed[i + 2] & 1
        for i in range(0, len(listed), 4)
    }
    assert entries[profile] == 1
    assert sum(entries.values()) == 1
    assert set(PROFILES.values()) <= set(entries)


def test_no_medium_has_profile_zero(make_host):
    host = make_host(None)
    assert host.profile() == 0


def test_get_configuration_request_types(make_host):
    host = make_host("dvd+r")
    every = features(host.get(h.get_configuration(rt=0), 4096))
    current = features(host.get(h.get_configuration(rt=1), 4096))
    assert set(current) < set(every)
    assert all(c for c, _ in current.values())
    assert 0x002B in current and 0x002A not in current and 0x002A in every
    assert 0x0021 not in current  # incremental streaming is DVD-R[W]/CD/BD-R, not +R
    only = features(host.get(h.get_configuration(rt=2, start=0x0021), 4096))
    assert list(only) == [0x0021]
    from_0100 = features(host.get(h.get_configuration(rt=0, start=0x0100), 4096))
    assert min(from_0100) >= 0x0100
    assert host.check(h.get_configuration(rt=3), h.IN, 4096) == (5, 0x24, 0)


def test_get_configuration_truncation_reports_full_length(make_host):
    host = make_host("bd-r")
    full = host.get(h.get_configuration(), 4096)
    head = host.get(h.get_configuration(alloc=8), 8)
    assert len(head) == 8
    assert struct.unpack(">I", head[0:4])[0] == len(full) - 4


@pytest.mark.parametrize(
    "name,feature,current",
    [
        ("dvd-r", 0x0021, True),
        ("dvd-rw", 0x0021, True),
        ("bd-re", 0x0020, False),
        ("dvd-ram", 0x0020, True),
        ("cd-r", 0x002D, True),
        ("dvd-rw-ro", 0x0026, True),
        ("bd-r", 0x0041, True),
        ("bd-re", 0x0023, True),
        ("dvd+r", 0x0023, False),
    ],
)
def test_feature_current_bits(make_host, name, feature, current):
    got = features(make_host(name).get(h.get_configuration(rt=2, start=feature), 4096))
    assert got[feature][0] is current


def test_gesn_follows_qemu_length_convention(make_host):
    host = make_host(None)
    data = host.get(h.gesn(), 8)
    assert struct.unpack(">H", data[0:2])[0] == 4
    assert data[2] == 0x04 and data[3] & 0x10
    assert data[5] & 0x02 == 0  # no medium
    nea = host.get(h.gesn(classes=0x02), 8)
    assert nea[2] & 0x80
    assert host.check(h.gesn(polled=0), h.IN, 8) == (5, 0x24, 0)


def test_mode_sense_pages(make_host):
    host = make_host("cd-r")
    data = host.get(h.mode_sense(0x05), 0xFFFF)
    assert struct.unpack(">H", data[0:2])[0] == len(data) - 2
    assert struct.unpack(">H", data[6:8])[0] == 0
    page = data[8:]
    assert page[0] & 0x3F == 0x05 and page[1] == 0x32
    caps = host.get(h.mode_sense(0x2A), 0xFFFF)[8:]
    assert caps[0] & 0x3F == 0x2A and caps[1] >= 0x12
    assert struct.unpack(">H", caps[12:14])[0] > 0  # buffer size in KiB
    both = host.get(h.mode_sense(0x3F), 0xFFFF)
    assert len(both) == 8 + 52 + len(caps)
    assert host.check(h.mode_sense(0x05, control=3), h.IN, 0xFFFF) == (5, 0x39, 0)
    assert host.check(h.mode_sense(0x01), h.IN, 0xFFFF) == (5, 0x24, 0)
    short = host.get(h.mode_sense(0x05, alloc=8), 8)
    assert struct.unpack(">H", short[0:2])[0] == len(data) - 2


def test_mode_select_round_trip_and_validation(make_host):
    host = make_host("cd-r")
    params = h.page05(write_type=1, multisession=3)
    host.ok(h.mode_select(len(params)), h.OUT, params)
    page = host.get(h.mode_sense(0x05), 0xFFFF)[8:]
    assert page[2] & 0x0F == 1 and page[3] >> 6 == 3
    bad_length = bytearray(params)
    bad_length[9] = 0x30
    assert host.check(h.mode_select(len(params)), h.OUT, bytes(bad_length)) == (5, 0x26, 0)
    assert host.check(h.mode_select(4), h.OUT, params[:4]) == (5, 0x1A, 0)
    sp = bytearray(h.mode_select(len(params)))
    sp[1] = 0x11
    assert host.check(bytes(sp), h.OUT, params) == (5, 0x24, 0)
    dvd = make_host("dvd-r")
    tao = h.page05(write_type=1)
    assert dvd.check(h.mode_select(len(tao)), h.OUT, tao) == (5, 0x26, 0)


def test_unknown_opcode_and_bad_cdb_length(make_host):
    host = make_host()
    assert host.check(bytes((0xD8,)) + bytes(11), h.IN, 10) == (5, 0x20, 0)
    assert host.check(bytes((0x5E,)) + bytes(9)) == (5, 0x20, 0)
    assert host.check(bytes(5)) == (5, 0x24, 0)
    assert host.check(h.disc_info()[:9], h.IN, 34) == (5, 0x24, 0)
    assert host.check(b"") == (5, 0x20, 0)


def test_mechanism_status_and_buffer_capacity(make_host):
    host = make_host()
    mech = host.get(bytes((0xBD,)) + bytes(7) + h.u16(8) + bytes(2), 8)
    assert mech[1] & 0x10 == 0
    buf = host.get(bytes((0x5C,)) + bytes(6) + h.u16(12) + b"\x00", 12)
    assert struct.unpack(">H", buf[0:2])[0] == 10
    size, free = struct.unpack(">II", buf[4:12])
    assert 0 < free <= size


def test_performance_and_speed(make_host):
    host = make_host("dvd+r")
    cdb = bytes((0xAC, 0, 0, 0, 0, 0, 0, 0)) + h.u16(0) + bytes((0x03, 0))
    head = host.get(cdb, 8)
    total = struct.unpack(">I", head[0:4])[0]
    count = (total - 4) // 16
    assert count >= 1
    full = host.get(bytes((0xAC, 0, 0, 0, 0, 0, 0, 0)) + h.u16(count) + bytes((0x03, 0)), 4096)
    speed = struct.unpack(">I", full[8 + 12 : 8 + 16])[0]
    assert speed > 1385
    bad_tolerance = bytes((0xAC, 0, 0, 0, 0, 0, 0, 0)) + h.u16(1) + bytes((0x00, 0))
    assert host.check(bad_tolerance, h.IN, 64) == (5, 0x24, 0)
    descriptor = (
        bytes(8) + h.u32(2295104 - 1) + h.u32(11080) + h.u32(1000) + h.u32(11080) + h.u32(1000)
    )
    host.ok(bytes((0xB6,)) + bytes(7) + bytes((0,)) + h.u16(28) + b"\x00", h.OUT, descriptor)
    host.ok(bytes((0xBB, 0)) + h.u16(0xFFFF) + h.u16(7056) + bytes(6))


def test_media_kinds_are_the_documented_set():
    assert set(MEDIA_KINDS) == set(PROFILES) | {"cd-rom", "dvd-rom", "bd-rom"}
