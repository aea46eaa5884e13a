"""burnd against tgt's DVD+R burner (another implementation we did not write), over iSCSI
and QEMU's scsi-generic pass-through, through the guest kernel's sr driver.

sg3-utils' raw answers (sg_raw, sg_inq, sg_get_config) are the oracle for what burnd parses.
"""

from __future__ import annotations

import re

import pytest

from burnd.scsi.profiles import profile_name
from tests.vm.scenario import Scenario
from tests.vm.guest_tgt import WRITE_BLOCKS, write_payload
from tests.vm.oracles import be32, free_blocks_of_track_information, sg_raw_bytes

pytestmark = pytest.mark.vm

MMC_PROFILE_DVD_PLUS_R = 0x001B
MMC_PROFILE_DVD_ROM = 0x0010


def tgt_free_blocks(scenario: Scenario) -> int:
    return free_blocks_of_track_information(scenario.ok("tool.read_track_information"))


def test_identity_matches_sg_inq(tgt_scenario: Scenario) -> None:
    identity = tgt_scenario.ok("drive.identify")
    sg_inq = tgt_scenario.ok("tool.sg_inq")["stdout"]
    assert identity["peripheral_type"] == 5
    for label, value in (("Vendor identification", identity["vendor"]),
                         ("Product identification", identity["model"]),
                         ("Product revision level", identity["revision"]),
                         ("Unit serial number", identity["serial"])):
        assert value, f"{label} is empty"
        assert re.search(rf"{label}:\s*{re.escape(value)}\s*$", sg_inq, re.M), f"{label} {value!r} vs\n{sg_inq}"


def test_blank_dvd_plus_r_is_the_current_profile(tgt_scenario: Scenario) -> None:
    assert tgt_scenario.ok("drive.current_profile")["code"] == MMC_PROFILE_DVD_PLUS_R
    profiles = tgt_scenario.ok("drive.profiles")
    assert [p["code"] for p in profiles if p["current"]] == [MMC_PROFILE_DVD_PLUS_R]
    assert {p["code"] for p in profiles} == {MMC_PROFILE_DVD_PLUS_R, MMC_PROFILE_DVD_ROM}
    assert f"Current profile: {profile_name(MMC_PROFILE_DVD_PLUS_R)}" in tgt_scenario.ok("tool.sg_get_config")["stdout"]


def test_blank_disc_report_matches_tgts_raw_answers(tgt_scenario: Scenario) -> None:
    report = tgt_scenario.ok("drive.media_report")
    disc_info = sg_raw_bytes(tgt_scenario.ok("tool.read_disc_information"))
    free = tgt_free_blocks(tgt_scenario)
    assert disc_info[2] & 0x03 == 0, "tgt itself says blank (disc status 00b)"
    assert report["present"] and report["profile"]["code"] == MMC_PROFILE_DVD_PLUS_R
    assert (report["disc_status"], report["last_session_state"]) == ("blank", "empty")
    assert report["free_blocks"] == free and report["used_blocks"] == 0
    assert report["capacity_blocks"] == be32(disc_info, 20) == free
    (track,) = report["tracks"]
    assert (track["number"], track["start"], track["nwa"], track["blank"]) == (1, 0, 0, True)
    assert track["free_blocks"] == free
    assert "blank" in tgt_scenario.ok("drive.describe")


def test_written_blocks_land_in_tgts_backing_file(tgt_scenario: Scenario) -> None:
    steps = tgt_scenario.ok("sgio.write_close_read_back")
    for step in ("write", "sync", "close_track", "close_session", "read"):
        assert steps[step]["ok"], f"{step} failed with sense {steps[step]['sense']}"
    assert steps["read_back_equal"]
    assert tgt_scenario.files["backing"].read_bytes() == write_payload()


def test_closed_disc_reads_as_a_finished_dvd(tgt_scenario: Scenario) -> None:
    """tgt turns a closed DVD+R into DVD-ROM (reference vm-harness.md)."""
    report = tgt_scenario.ok("drive.media_report_closed")
    assert report["profile"]["code"] == MMC_PROFILE_DVD_ROM
    assert report["disc_status"] == "complete" and report["free_blocks"] == 0
    assert report["capacity_blocks"] == WRITE_BLOCKS
    (track,) = report["tracks"]
    assert (track["start"], track["size"], track["last_recorded"]) == (0, WRITE_BLOCKS, WRITE_BLOCKS - 1)
