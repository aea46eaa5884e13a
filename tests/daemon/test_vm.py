"""burnd on a real kernel sr/sg stack (QEMU guest): a ROM drive we did not write (QEMU's
scsi-cd) and a burner we did not write (tgt's MMC emulation, a blank DVD+R), both found
through sysfs/pyudev, driven over D-Bus, and a media change seen through kernel uevents."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from tests.daemon.images import make_iso
from tests.vm import guest
from tests.vm.scenario import PRODUCT, REVISION, VENDOR, Scenario
from tests.vm.tgt import TgtUnavailable, tgt_burner

pytestmark = pytest.mark.vm

ERR = "org.burnd.Burnd1.Error."


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, Path]:
    try:
        image = guest.prepare_guest()
    except guest.GuestUnavailable as exc:
        pytest.skip(f"cannot run the QEMU guest: {exc}")
    work = tmp_path_factory.mktemp("vm-daemon")
    iso = make_iso(work / "disc.iso", 300 * 1024)
    backing = work / "dvd+r.img"
    backing.write_bytes(b"")
    out = work / "out"
    results = out / "results.json"
    try:
        with tgt_burner(backing, work / "tgtd.log") as url:
            devices = [*guest.scsi_controller(), *guest.scsi_cd(iso, 0, VENDOR, PRODUCT, REVISION),
                       *guest.scsi_passthrough(url, 1)]
            run = guest.boot(image, [sys.executable, "-m", "tests.daemon.guest_daemon", str(results), str(iso)],
                             out, devices)
    except TgtUnavailable as exc:
        pytest.skip(f"tgt cannot serve a burner here: {exc}")
    if not results.exists():
        pytest.fail(f"the guest wrote no results (exit {run.returncode}); console:\n{run.console[-4000:]}")
    return Scenario(json.loads(results.read_text()), run, {"iso": iso, "backing": backing}), iso


def found(vm) -> dict:
    scenario, _ = vm
    scenario.ok("start")
    return scenario.ok("scenario")


def test_both_drives_are_found_with_their_nodes(vm):
    result = found(vm)
    drives = result["drives"]
    assert len(drives) == 2
    for path, props in drives.items():
        assert props["Virtual"] is False
        assert any(n.startswith("/dev/sg") for n in props["DeviceNodes"])
        assert any(n.startswith("/dev/sr") for n in props["DeviceNodes"])
        assert all(result["lookups"][n] == path for n in props["DeviceNodes"])
    rom = next(p for p in drives.values() if p["Model"] == PRODUCT)
    assert rom["MediaState"] == "rom" and rom["MediaType"] in ("optical_cd", "optical_dvd")


def test_rom_drive_rips_the_whole_image(vm):
    result = found(vm)
    iso = vm[1]
    assert result["rip"]["State"] == "succeeded", result["rip"]["ErrorMessage"]
    assert result["rip_size"] >= iso.stat().st_size
    assert result["rip_head_sha256"] == hashlib.sha256(iso.read_bytes()).hexdigest()


def test_rom_drive_verifies_and_refuses_writing(vm):
    result = found(vm)
    assert result["verify_rom"]["State"] == "succeeded", result["verify_rom"]["ErrorMessage"]
    assert result["write_rom"]["State"] == "failed"
    assert result["write_rom"]["ErrorName"] == ERR + "MediumNotWritable"


def test_tgt_burner_burns_the_image(vm):
    result = found(vm)
    scenario, iso = vm
    write = result["write_burner"]
    assert write["State"] == "succeeded", write["ErrorMessage"]
    assert write["Result"]["verified"] is True
    data = scenario.files["backing"].read_bytes()
    assert data[:iso.stat().st_size] == iso.read_bytes()
    # tgt presents a closed DVD+R as a DVD-ROM (reference vm-harness.md), so "rom" is right here.
    assert result["burner_after"]["MediaState"] in ("complete", "rom")


def test_eject_is_seen_as_a_kernel_media_change(vm):
    result = found(vm)
    assert result["eject_reply"] == "ok"
    assert result["poll_msecs"] == "2000"
    assert result["uevent_seen"], vm[0].ok("log")[-3000:]
    assert result["ejected_state"] == "none"
