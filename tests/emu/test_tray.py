"""Medium changes, unit attention, becoming ready, tray and lock (reference §3.25, §3.26, §4)."""

from __future__ import annotations

import time

import pytest

from burnd.errors import DeviceError
from tests.emu import host as h


def test_no_medium_senses(make_host):
    host = make_host(None)
    assert host.check(h.tur()) == (2, 0x3A, 0x01)
    assert host.check(h.disc_info(), h.IN, 34) == (2, 0x3A, 0x01)
    host.ok(h.start_stop(0x02))
    assert host.check(h.tur()) == (2, 0x3A, 0x02)
    mech = host.get(bytes((0xBD,)) + bytes(7) + h.u16(8) + bytes(2), 8)
    assert mech[1] & 0x10
    assert host.get(h.gesn(), 8)[5] & 0x01  # tray open


def test_unit_attention_once_after_insert(make_host):
    host = make_host(None)
    host.vb.insert("dvd+r")
    assert host.get(h.inquiry(), 36)[0] == 5  # INQUIRY does not consume it
    assert host.profile() == 0x1B  # nor does GET CONFIGURATION (MMC, as VirtualBox does)
    events = host.get(h.gesn(), 8)
    assert events[4] & 0x0F == 2  # new media
    assert host.get(h.gesn(), 8)[4] & 0x0F == 0  # reported once
    assert host.check(h.disc_info(), h.IN, 34) == (6, 0x28, 0)
    assert host.disc().status == 0
    host.ok(h.tur())


def test_request_sense_reports_and_clears_unit_attention(make_host):
    host = make_host("bd-r")
    host.vb.insert("cd-r")
    sense = host.get(h.request_sense(), 18)
    assert (sense[2] & 0xF, sense[12], sense[13]) == (6, 0x28, 0)
    host.ok(h.tur())
    idle = host.get(h.request_sense(), 18)
    assert idle[2] & 0xF == 0


def test_becoming_ready_after_load(make_host):
    host = make_host(None, ready_delay=0.15)
    host.vb.insert("bd-re")
    assert host.check(h.tur()) == (6, 0x28, 0)
    assert host.check(h.tur()) == (2, 0x04, 0x01)
    assert host.profile() == 0x43  # GET CONFIGURATION needs no ready medium
    time.sleep(0.2)
    host.ok(h.tur())


def test_lock_refuses_eject(make_host):
    host = make_host("dvd+r")
    host.ok(h.prevent(True))
    assert host.check(h.start_stop(0x02)) == (5, 0x53, 0x02)
    assert host.vb.open_tray() is False
    assert host.get(h.gesn(), 8)[4] & 0x0F == 1  # eject request
    page = host.get(h.mode_sense(0x2A), 0xFFFF)[8:]
    assert page[6] & 0x02  # lock state
    host.ok(h.prevent(False))
    host.ok(h.start_stop(0x02))
    assert host.check(h.tur()) == (2, 0x3A, 0x02)
    assert host.get(h.gesn(), 8)[4] & 0x0F == 3  # media removal
    host.ok(h.start_stop(0x03))
    assert host.check(h.tur()) == (6, 0x28, 0)
    host.ok(h.tur())


def test_locked_without_medium_reports_not_ready(make_host):
    host = make_host(None)
    host.ok(h.prevent(True))
    assert host.check(h.start_stop(0x02)) == (2, 0x53, 0x02)


def test_remove_medium_and_tray_api(make_host):
    host = make_host("cd-r")
    host.vb.remove_medium()
    assert host.vb.medium is None
    assert host.check(h.tur()) == (2, 0x3A, 0x01)
    host.vb.insert("dvd-ram")
    assert host.vb.open_tray() is True
    assert host.check(h.tur()) == (6, 0x28, 0)  # the change is still reported once
    assert host.check(h.tur()) == (2, 0x3A, 0x02)
    host.vb.close_tray()
    assert host.check(h.tur()) == (6, 0x28, 0)
    assert host.profile() == 0x12


def test_busy_blocks_other_commands_until_done(make_host):
    host = make_host("cd-rw", busy_seconds=0.1)
    host.ok(h.blank(0, immed=True))
    assert host.check(h.write10(0, 1), h.OUT, bytes(2048)) == (2, 0x04, 0x07)
    assert host.get(h.inquiry(), 36)[0] == 5
    host.wait_ready()
    host.write(0, 1)


def test_close_immed_reports_operation_in_progress(make_host):
    host = make_host("dvd+r", busy_seconds=0.05)
    host.write(0, 16)
    host.ok(h.sync_cache(immed=True))
    host.ok(h.close(1, track=1, immed=True))
    assert (2, 4, 7) in host.wait_ready()
    host.ok(h.close(2, immed=True))
    host.wait_ready()
    assert host.disc().sessions == 2


def test_closed_burner_refuses_commands(make_host):
    host = make_host("bd-r")
    host.vb.close()
    with pytest.raises(DeviceError, match="closed"):
        host.run(h.tur())
