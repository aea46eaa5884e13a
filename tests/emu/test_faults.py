"""The fault plan grammar and each rule's effect on a burn."""

from __future__ import annotations

import pytest

from burnd.emu import FaultPlan, FaultPlanError
from burnd.errors import DeviceError
from tests.emu import host as h


def burner(make_host, *rules: str, media: str = "dvd+r") -> h.Host:
    return make_host(media, faults=FaultPlan.parse(list(rules)))


def test_lba_condition_hits_the_write_crossing_the_block(make_host):
    host = burner(make_host, "write lba>=1000: 3/0C/00")
    for lba in range(0, 992, 32):
        host.write(lba, 32)
    result = host.run(h.write10(992, 32), h.OUT, bytes(32 * 2048))
    assert h.sense_of(result) == (3, 0x0C, 0x00)
    assert result.sense[0] & 0x80  # information field = failing LBA
    assert host.track(0xFF).nwa == 992  # the failed WRITE recorded nothing
    assert host.check(h.write10(992, 32), h.OUT, bytes(32 * 2048)) == (3, 0x0C, 0)


def test_count_limited_sync_fault(make_host):
    host = burner(make_host, "sync: 2/04/08 x3")
    host.write(0, 16)
    for _ in range(3):
        assert host.check(h.sync_cache()) == (2, 0x04, 0x08)
    host.ok(h.sync_cache())
    assert not host.vb.faults


def test_first_write_fault(make_host):
    host = burner(make_host, "first write: 5/73/03")
    assert host.check(h.write10(0, 16), h.OUT, bytes(16 * 2048)) == (5, 0x73, 0x03)
    host.write(0, 16)


def test_after_skips_matching_commands(make_host):
    host = burner(make_host, "write: 3/0C/00 after 2 x1")
    host.write(0, 16)
    host.write(16, 16)
    assert host.check(h.write10(32, 16), h.OUT, bytes(16 * 2048)) == (3, 0x0C, 0)
    host.write(32, 16)


def test_remove_medium_after_writes(make_host):
    host = burner(make_host, "remove medium after 5 writes")
    for i in range(5):
        host.write(i * 16, 16)
    assert host.vb.medium is None
    assert host.check(h.write10(80, 16), h.OUT, bytes(16 * 2048)) == (2, 0x3A, 0x01)


def test_disappear_after_writes(make_host):
    host = burner(make_host, "disappear after 10 writes")
    for i in range(10):
        host.write(i * 16, 16)
    with pytest.raises(DeviceError, match="disappeared"):
        host.run(h.tur())


def test_open_tray_and_reset_events(make_host):
    host = burner(make_host, "open tray after 1 sync", "reset after 2 writes", media="cd-r")
    params = h.page05(write_type=1, multisession=3)
    host.ok(h.mode_select(len(params)), h.OUT, params)
    host.ok(h.prevent(True))
    host.write(0, 16)
    host.write(16, 16)
    assert host.check(h.tur()) == (6, 0x29, 0x00)
    page = host.get(h.mode_sense(0x05), 0xFFFF)[8:]
    assert page[3] >> 6 == 0  # settings lost with the reset
    host.ok(h.sync_cache())
    assert host.check(h.tur()) == (2, 0x3A, 0x02)


def test_opcode_and_read_rules(make_host):
    host = burner(make_host, "0x51: 4/09/00 x1", "read lba<5: 3/11/05")
    assert host.check(h.disc_info(), h.IN, 34) == (4, 0x09, 0)
    host.disc()
    host.write(0, 16)
    assert host.check(h.read10(4, 2), h.IN, 4096) == (3, 0x11, 0x05)
    host.read(5, 2)


def test_plan_parses_comments_and_lines():
    plan = FaultPlan.parse("# a comment\nwrite lba=7: 3/0c/00  # inline\n\ntur: 2/04/01 x2\n")
    assert [r.sense for r in plan.rules] == [(3, 0x0C, 0), (2, 0x04, 0x01)]
    assert plan.rules[0].lba_test == ("=", 7)
    assert plan.rules[1].times == 2


@pytest.mark.parametrize(
    "rule",
    [
        "write lba>=x: 3/0C/00",
        "wrte: 3/0C/00",
        "write: 3/0C",
        "explode after 3 writes",
        "remove medium after writes",
        "sync 2/04/08",
    ],
)
def test_bad_rules_are_refused_with_a_hint(rule):
    with pytest.raises(FaultPlanError, match="fault rule"):
        FaultPlan.parse([rule])
