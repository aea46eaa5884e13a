"""burnd against a real kernel sr/sg stack and QEMU's scsi-cd (a drive we did not write).

One guest boot (the ``cd_scenario`` fixture) runs tests/vm/guest_cd.py; these tests assert on
what it recorded. sg3-utils' view of the same drive is the oracle where burnd parses answers.
"""

from __future__ import annotations

import re

import pytest

from burnd.scsi.profiles import profile_name
from tests.vm.scenario import PRODUCT, REVISION, VENDOR, Scenario, sha256_of
from tests.vm.oracles import fixed_sense

pytestmark = pytest.mark.vm

MMC_PROFILE_CD_ROM = 0x0008
MMC_PROFILE_DVD_ROM = 0x0010
DRIVER_SENSE = 0x08


def iso_blocks(scenario: Scenario) -> int:
    return scenario.files["iso"].stat().st_size // 2048


class TestTransport:
    """SgIoTransport over the block (sr) and char (sg) paths of the real kernel."""

    def test_inquiry_lands_in_the_callers_buffer(self, cd_scenario: Scenario) -> None:
        result = cd_scenario.ok("sgio.inquiry")
        data = bytes.fromhex(result["data_head"])
        assert (result["status"], result["host_status"], result["driver_status"]) == (0, 0, 0)
        assert result["ok"] and result["data_is_callers_buffer"]
        assert data[0] & 0x1F == 5
        assert data[8:16].decode().strip() == VENDOR
        assert data[16:32].decode().strip() == PRODUCT

    def test_int_length_allocates_a_buffer_with_the_same_answer(self, cd_scenario: Scenario) -> None:
        allocated = cd_scenario.ok("sgio.inquiry_int_length")
        assert allocated["ok"] and not allocated["data_is_callers_buffer"]
        assert allocated["data_head"] == cd_scenario.ok("sgio.inquiry")["data_head"]

    def test_sg_node_answers_like_the_block_node(self, cd_scenario: Scenario) -> None:
        via_sg = cd_scenario.ok("sgio.sg_inquiry")
        assert via_sg["ok"] and via_sg["data_is_callers_buffer"]
        assert via_sg["data_head"] == cd_scenario.ok("sgio.inquiry")["data_head"]

    def test_check_condition_is_returned_not_raised(self, cd_scenario: Scenario) -> None:
        """QEMU's scsi-cd lacks READ TRACK INFORMATION (reference vm-harness.md): 5/20/00."""
        result = cd_scenario.ok("sgio.unsupported_command")
        assert result["status"] == 0x02 and result["check_condition"] and not result["ok"]
        assert result["driver_status"] & DRIVER_SENSE
        assert result["host_status"] == 0
        assert fixed_sense(result["sense"]) == (0x5, 0x20, 0x00)

    def test_write_from_read_only_bytes_reaches_the_drive(self, cd_scenario: Scenario) -> None:
        """A ROM drive answers WRITE with DATA PROTECT 7/27/00: the TO_DEVICE path works."""
        result = cd_scenario.ok("sgio.write_from_bytes")
        assert fixed_sense(result["sense"]) == (0x7, 0x27, 0x00)

    def test_read_into_a_slice_fills_only_the_slice(self, cd_scenario: Scenario) -> None:
        result = cd_scenario.ok("sgio.read_into_view")
        assert result["ok"] and result["len"] == 2048 and result["untouched"]
        assert bytes.fromhex(result["pvd_magic"]) == b"CD001"

    @pytest.mark.parametrize("node", ["sr", "sg"])
    def test_the_advertised_limit_passes_and_oversize_is_refused(self, cd_scenario: Scenario, node: str) -> None:
        limit = cd_scenario.ok("sgio.open" if node == "sr" else "sgio.sg_open")["max_transfer"]
        assert limit >= 64 * 1024, "burnd's 32/64 KiB chunks must fit"
        largest = cd_scenario.ok(f"sgio.largest_safe_read:{node}")
        assert largest == {"blocks": limit // 2048, "ok": True}
        error = cd_scenario.failed(f"sgio.oversize:{node}")
        assert error["error"] == "TransferTooLarge"
        assert f"only {limit} per command" in error["message"]

    def test_open_is_read_write_for_root(self, cd_scenario: Scenario) -> None:
        assert cd_scenario.ok("sgio.open")["read_only"] is False


class TestDrive:
    """OpticalDrive (burnd.drive) over SgIoTransport."""

    def test_identity_is_what_qemu_was_told_and_what_sg_inq_sees(self, cd_scenario: Scenario) -> None:
        identity = cd_scenario.ok("drive.identify")
        assert (identity["vendor"], identity["model"], identity["revision"]) == (VENDOR, PRODUCT, REVISION)
        assert identity["peripheral_type"] == 5
        sg_inq = cd_scenario.ok("tool.sg_inq")["stdout"]
        assert re.search(rf"Vendor identification: {identity['vendor']}\s*$", sg_inq, re.M)
        assert re.search(rf"Product identification: {identity['model']}\s*$", sg_inq, re.M)

    def test_profiles_agree_with_sg_get_config(self, cd_scenario: Scenario) -> None:
        """A few-MB image is a CD-ROM to QEMU (DVD-ROM only above CD capacity)."""
        profiles = cd_scenario.ok("drive.profiles")
        assert {p["code"] for p in profiles} == {MMC_PROFILE_CD_ROM, MMC_PROFILE_DVD_ROM}
        assert [p["code"] for p in profiles if p["current"]] == [MMC_PROFILE_CD_ROM]
        assert cd_scenario.ok("drive.current_profile")["code"] == MMC_PROFILE_CD_ROM
        tool = cd_scenario.ok("tool.sg_get_config")["stdout"]
        assert f"Current profile: {profile_name(MMC_PROFILE_CD_ROM)}" in tool

    def test_media_report_describes_the_loaded_iso(self, cd_scenario: Scenario) -> None:
        report = cd_scenario.ok("drive.media_report")
        blocks = iso_blocks(cd_scenario)
        assert report["present"] and report["profile"]["code"] == MMC_PROFILE_CD_ROM
        assert report["disc_status"] == "complete"
        assert report["capacity_blocks"] == blocks
        assert report["free_blocks"] == 0 and report["used_blocks"] == blocks
        assert [(t["number"], t["start"], t["size"], t["data"]) for t in report["tracks"]] == [(1, 0, blocks, True)]
        lead_out = [e for e in report["toc"] if e["lead_out"]]
        assert [e["start"] for e in lead_out] == [blocks]
        assert "CD-ROM" in cd_scenario.ok("drive.describe")

    def test_reading_the_whole_disc_gives_the_image_back(self, cd_scenario: Scenario) -> None:
        read = cd_scenario.ok("drive.read_whole_disc")
        assert read["blocks"] == iso_blocks(cd_scenario)
        assert read["sha256"] == sha256_of(cd_scenario.files["iso"])

    def test_reading_past_the_end_is_an_illegal_request(self, cd_scenario: Scenario) -> None:
        error = cd_scenario.failed("drive.read_past_end")
        assert "IllegalRequest" in error["classes"]
        assert "5/21/00" in error["message"]

    def test_locked_tray_refuses_eject(self, cd_scenario: Scenario) -> None:
        cd_scenario.ok("drive.lock")
        error = cd_scenario.failed("drive.eject_while_locked")
        assert "IllegalRequest" in error["classes"]
        assert "5/53/02" in error["message"]

    def test_eject_and_load_round_trip(self, cd_scenario: Scenario) -> None:
        cd_scenario.ok("drive.unlock")
        cd_scenario.ok("drive.eject")
        assert cd_scenario.ok("drive.media_report_ejected")["present"] is False
        cd_scenario.ok("drive.load")
        cd_scenario.ok("drive.wait_ready")
        assert cd_scenario.ok("drive.media_report_reloaded") == cd_scenario.ok("drive.media_report")


class TestRefusals:
    """Anything but an optical drive is refused; a SCSI disk hears nothing but INQUIRY."""

    def test_scsi_disk_is_refused_after_inquiry_only(self, cd_scenario: Scenario) -> None:
        disk = next(n for n in cd_scenario.ok("nodes") if n["type"] == 0)
        for node in (disk["sg"], disk["block"]):
            outcome = cd_scenario.ok(f"refuse.disk:{node}")
            assert outcome["opcodes"] == [0x12], "only INQUIRY may reach a non-optical device"
            assert len(outcome["outcomes"]) == 3
            assert all("peripheral type 0x00" in o for o in outcome["outcomes"])

    @pytest.mark.parametrize("check", ["refuse.loop", "refuse.9p_file", "refuse.9p_directory"])
    def test_non_scsi_paths_are_not_scsi_devices(self, cd_scenario: Scenario, check: str) -> None:
        error = cd_scenario.failed(check)
        assert error["error"] == "NotAnOpticalDrive"
        assert "is not a SCSI device" in error["message"]

    def test_missing_node(self, cd_scenario: Scenario) -> None:
        error = cd_scenario.failed("refuse.missing")
        assert "DeviceError" in error["classes"] and "no such device /dev/sr7" in error["message"]


class TestExclusivity:
    """O_EXCL as the real sr and sg drivers implement it (reference 1.6)."""

    def test_second_exclusive_open_names_the_holder(self, cd_scenario: Scenario) -> None:
        for check in ("busy.sr_exclusive_twice", "busy.sg_exclusive_twice"):
            error = cd_scenario.failed(check)
            assert error["error"] == "DeviceBusy"
            assert re.search(r"in use by PID \d+ \(python", error["message"]), error["message"]

    def test_exclusive_sr_still_admits_shared_opens(self, cd_scenario: Scenario) -> None:
        assert cd_scenario.ok("busy.sr_shared_while_exclusive") is True

    def test_exclusive_sg_blocks_every_other_open(self, cd_scenario: Scenario) -> None:
        assert cd_scenario.failed("busy.sg_shared_while_exclusive")["error"] == "DeviceBusy"

    def test_mounted_disc_is_busy_for_exclusive_opens_only(self, cd_scenario: Scenario) -> None:
        assert "README.TXT" in cd_scenario.ok("busy.mounted_files")
        error = cd_scenario.failed("busy.mounted_exclusive")
        assert error["error"] == "DeviceBusy" and "mounted at /run/burnd-mnt" in error["message"]
        assert cd_scenario.ok("busy.mounted_shared_inquiry") is True


class TestPermissions:
    """What a user who is not root meets (the kernel's command filter, reference 1.5)."""

    def test_read_only_open_reads_but_cannot_lock(self, cd_scenario: Scenario) -> None:
        outcome = cd_scenario.ok("perm.read_only_user")
        assert outcome["read_only"] is True and outcome["inquiry_ok"] is True
        assert outcome["prevent"].startswith("DevicePermissionDenied")
        assert "needs the device opened for writing" in outcome["prevent"]

    def test_permission_error_names_the_group(self, cd_scenario: Scenario) -> None:
        error = cd_scenario.failed("perm.group_owned_node")
        assert error["error"] == "DevicePermissionDenied"
        assert "add the user to group 'cdrom'" in error["message"]

    def test_writable_node_lets_a_user_lock_the_tray(self, cd_scenario: Scenario) -> None:
        assert cd_scenario.ok("perm.writable_user_may_lock") is True

    def test_exclusive_open_does_not_fall_back_to_read_only(self, cd_scenario: Scenario) -> None:
        assert cd_scenario.failed("perm.exclusive_needs_write")["error"] == "DevicePermissionDenied"
