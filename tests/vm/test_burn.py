"""burnd's burn engine against tgt's blank DVD+R (a burner we did not write), through the guest
kernel's sr driver and real SG_IO; one boot (``burn_scenario``) runs tests/vm/guest_burn.py.

Independent witnesses: tgt's backing file on the host (what reached the "disc"), sg_raw in
the guest (tray lock, free space) and xorriso in the guest (TOC and tree of the burned disc),
compared with pycdlib's reading of the image on the host.
"""

from __future__ import annotations

import re
from typing import Any

import pycdlib
import pytest

from burnd.scsi.mmc import BLOCK_SIZE
from tests.fixtures.small_iso import VOLUME_ID
from tests.vm.oracles import free_blocks_of_track_information
from tests.vm.scenario import Scenario, sha256_of

pytestmark = pytest.mark.vm

MMC_PROFILE_DVD_ROM = 0x0010
DVD_PLUS_R_CHUNK_BLOCKS = 16
DISC_CHANGING_OPCODES = {
    0x04: "FORMAT UNIT", 0x2A: "WRITE(10)", 0xAA: "WRITE(12)", 0x35: "SYNCHRONIZE CACHE",
    0x5B: "CLOSE TRACK/SESSION", 0x53: "RESERVE TRACK", 0xA1: "BLANK", 0x5D: "SEND CUE SHEET",
}


def guest_value(scenario: Scenario, name: str) -> Any:
    """A check's value; on failure, the guest's traceback plus the last CDBs and sense burnd
    logged (logger burnd.scsi), which is what a fix needs."""
    outcome = scenario.results.get(name)
    if outcome is not None and not outcome["ok"]:
        log = scenario.files["scsi_log"]
        tail = "\n".join(log.read_text().splitlines()[-40:]) if log.exists() else "(no scsi.log)"
        pytest.fail(f"{name} failed in the guest:\n{outcome['traceback']}\nlast SCSI commands:\n{tail}")
    return scenario.ok(name)


def image_blocks(scenario: Scenario) -> int:
    return -(-scenario.files["iso"].stat().st_size // BLOCK_SIZE)


def padded_blocks(scenario: Scenario) -> int:
    return -(-image_blocks(scenario) // DVD_PLUS_R_CHUNK_BLOCKS) * DVD_PLUS_R_CHUNK_BLOCKS


def sg_raw_says(tool: dict[str, Any]) -> str:
    """sg_raw's verdict: 'Good', or 'Sense key / Additional sense' of a check condition."""
    text = tool["stderr"]
    if re.search(r"SCSI Status: Good", text):
        assert tool["returncode"] == 0, text
        return "Good"
    key = re.search(r"Sense key: (.+)", text)
    additional = re.search(r"Additional sense: (.+)", text)
    assert key and additional, f"no sense in sg_raw's output:\n{text}"
    return f"{key.group(1).strip()} / {additional.group(1).strip()}"


@pytest.fixture
def xorriso(burn_scenario: Scenario) -> str:
    """xorriso's -toc and -find listing of the burned disc."""
    tool = guest_value(burn_scenario, "xorriso")
    assert tool["returncode"] == 0, tool["stderr"]
    return tool["stdout"]


@pytest.fixture
def refusal(burn_scenario: Scenario) -> dict[str, Any]:
    return guest_value(burn_scenario, "refuse.oversized")


class TestBurn:
    def test_engine_burns_with_the_dvd_plus_r_plan(self, burn_scenario: Scenario) -> None:
        result = guest_value(burn_scenario, "burn")
        plan = result["plan"]
        assert (plan["medium"], plan["strategy"], plan["start_lba"]) == ("DVD+R", "PLUS_R", 0)
        assert (plan["data_blocks"], plan["total_blocks"]) == (image_blocks(burn_scenario), padded_blocks(burn_scenario))
        write, sync, close_track, close_disc = plan["steps"]
        assert (write["start"], write["data_blocks"], write["total_blocks"]) == (0, plan["data_blocks"], plan["total_blocks"])
        assert sync == {} and close_track == {"track": 1} and close_disc == {"function": "FINALIZE"}
        assert result["blocks_written"] == plan["total_blocks"]
        assert result["verified"] and not result["simulated"]

    def test_burns_sha256_is_the_images(self, burn_scenario: Scenario) -> None:
        result = guest_value(burn_scenario, "burn")
        assert result["image_bytes"] == burn_scenario.files["iso"].stat().st_size
        assert result["sha256"] == sha256_of(burn_scenario.files["iso"])

    def test_standalone_verify_reads_the_image_back(self, burn_scenario: Scenario) -> None:
        verified = guest_value(burn_scenario, "verify")
        assert verified == {"start_lba": 0, "size": burn_scenario.files["iso"].stat().st_size,
                            "sha256": sha256_of(burn_scenario.files["iso"])}

    def test_backing_file_starts_with_the_image_then_zero_padding(self, burn_scenario: Scenario) -> None:
        image = burn_scenario.files["iso"].read_bytes()
        disc = burn_scenario.files["backing"].read_bytes()
        assert len(disc) == padded_blocks(burn_scenario) * BLOCK_SIZE
        assert disc[:len(image)] == image
        assert not any(disc[len(image):])

    def test_disc_is_closed_after_the_burn(self, burn_scenario: Scenario) -> None:
        """tgt turns a closed DVD+R into a DVD-ROM (reference vm-harness.md)."""
        report = guest_value(burn_scenario, "burn")["report"]
        assert report["profile"]["code"] == MMC_PROFILE_DVD_ROM
        assert (report["disc_status"], report["free_blocks"]) == ("complete", 0)
        (track,) = report["tracks"]
        assert (track["start"], track["size"]) == (0, padded_blocks(burn_scenario))

    def test_progress_goes_through_the_phases_in_order(self, burn_scenario: Scenario) -> None:
        phases = guest_value(burn_scenario, "burn.phases")
        distinct = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
        assert distinct == ["PREPARING", "WRITING", "CLOSING", "VERIFYING"]


class TestTrayLock:
    """Asked of tgt with sg_raw while burnd still holds the drive open (the kernel unlocks the
    tray itself on the sr driver's last close, which would hide a lock burnd left behind)."""

    def test_eject_is_accepted_after_the_burn(self, burn_scenario: Scenario) -> None:
        assert sg_raw_says(guest_value(burn_scenario, "lock.eject_after_burn")) == "Good"
        assert sg_raw_says(guest_value(burn_scenario, "lock.tur_ejected")) == "Not Ready / Medium not present"
        assert sg_raw_says(guest_value(burn_scenario, "lock.load")) == "Good"

    def test_the_probe_does_see_a_locked_tray(self, burn_scenario: Scenario) -> None:
        """Control: tgt really refuses an eject while PREVENT is in force."""
        assert sg_raw_says(guest_value(burn_scenario, "lock.control_prevent")) == "Good"
        assert sg_raw_says(guest_value(burn_scenario, "lock.control_eject_prevented")) == \
            "Illegal Request / Medium removal prevented"
        assert sg_raw_says(guest_value(burn_scenario, "lock.control_allow")) == "Good"


class TestXorrisoReadsTheDisc:
    """xorriso (libburn + libisofs) in the same guest, after burnd released the drive."""

    def test_toc_shows_one_closed_session_with_the_image(self, burn_scenario: Scenario, xorriso: str) -> None:
        assert re.search(r"^Media current: DVD-ROM$", xorriso, re.M)
        assert re.search(r"^Media status : is written , is closed$", xorriso, re.M)
        readable = re.search(r"^Media blocks : (\d+) readable", xorriso, re.M)
        assert readable and int(readable.group(1)) == padded_blocks(burn_scenario)
        sessions = re.findall(r"^ISO session\s*:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)s\s*,\s*(\S+)$", xorriso, re.M)
        assert [(index, start, volume) for index, start, _, volume in sessions] == [("1", "0", VOLUME_ID)]

    def test_toc_session_size_is_tgts_lead_out(self, burn_scenario: Scenario, xorriso: str) -> None:
        """tgt 1.0.85 transfers READ TOC format 0 two bytes short (it counts the data length
        field, not the whole answer), cutting the lead-out's low 16 bits: xorriso and burnd
        then read the same wrong lead-out, which this checks instead of the image size."""
        (size,) = re.findall(r"^ISO session\s*:.*,\s*(\d+)s\s*,", xorriso, re.M)
        toc = guest_value(burn_scenario, "burn")["report"]["toc"]
        (lead_out,) = [entry["start"] for entry in toc if entry["lead_out"]]
        assert int(size) == lead_out != padded_blocks(burn_scenario)

    def test_tree_is_the_images(self, burn_scenario: Scenario, xorriso: str) -> None:
        listed = {path: int(size) for size, path in
                  re.findall(r"^-\S+\s+\d+\s+\d+\s+\d+\s+(\d+) .* '(/[^']*)'$", xorriso, re.M)}
        image = pycdlib.PyCdlib()
        image.open(str(burn_scenario.files["iso"]))
        try:
            expected = {}
            for directory, _, files in image.walk(rr_path="/"):
                for name in files:
                    path = f"{directory.rstrip('/')}/{name}"
                    expected[path] = image.get_record(rr_path=path).get_data_length()
        finally:
            image.close()
        assert listed == expected and len(expected) > 1


class TestOversizedImageIsRefused:
    """One block more than tgt's free space, on the blank disc, before the real burn."""

    def test_refused_as_too_small(self, burn_scenario: Scenario, refusal: dict[str, Any]) -> None:
        free = free_blocks_of_track_information(guest_value(burn_scenario, "tool.read_track_information"))
        assert refusal["image_bytes"] > free * BLOCK_SIZE
        assert refusal["error"] == "MediumTooSmall" and "BurnRefused" in refusal["classes"]
        assert f"only {free} blocks" in refusal["message"]

    def test_nothing_that_changes_the_disc_was_sent(self, refusal: dict[str, Any]) -> None:
        sent = {DISC_CHANGING_OPCODES[op] for op in refusal["opcodes"] if op in DISC_CHANGING_OPCODES}
        assert refusal["opcodes"] and sent == set()

    def test_backing_file_stayed_empty(self, refusal: dict[str, Any]) -> None:
        assert refusal["backing_bytes"] == 0
