"""OpticalDrive over the software burner: identity, refusal, profiles, reports, mechanics, I/O."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from burnd.drive import DriveIdentity, OpticalDrive
from burnd.emu import FaultPlan
from burnd.errors import DriveTimeout, NotAnOpticalDrive
from burnd.scsi import mmc
from burnd.scsi import sense as S
from burnd.scsi.transport import Direction

INQUIRY = 0x12
TUR = 0x00


def test_identify(drive_for) -> None:
    drive, vb = drive_for("dvd+r", vendor="ACME", model="Burner 9000", revision="2.1", serial="SN123")
    identity = drive.identify()
    assert identity == DriveIdentity(vendor="ACME", model="Burner 9000", revision="2.1", serial="SN123",
                                     peripheral_type=5)
    assert str(identity) == "ACME Burner 9000 2.1"
    inquiries = vb.command_log.count(INQUIRY)
    assert drive.identify() is identity
    assert vb.command_log.count(INQUIRY) == inquiries


@pytest.mark.parametrize("ptype", [0x00, 0x01, 0x07])
def test_non_mmc_device_gets_nothing_but_inquiry(burner, tmp_path: Path, ptype: int) -> None:
    vb = burner("dvd+r", peripheral_type=ptype)
    drive = OpticalDrive(vb)
    with pytest.raises(NotAnOpticalDrive) as caught:
        drive.identify()
    assert f"{ptype:#04x}" in str(caught.value) and caught.value.dbus_name == "NotAnOpticalDrive"
    attempts = [
        drive.profiles, drive.current_profile, drive.features, drive.media_report, drive.write_speeds,
        drive.eject, drive.load, drive.lock, drive.unlock, lambda: drive.wait_ready(1.0),
        lambda: drive.read_blocks(0, 1), lambda: drive.execute(mmc.test_unit_ready(), Direction.NONE),
        lambda: drive.execute(mmc.write10(0, 1), Direction.TO_DEVICE, bytes(2048)), drive.identify,
    ]
    for attempt in attempts:
        with pytest.raises(NotAnOpticalDrive):
            attempt()
    assert vb.command_log and set(vb.command_log) == {INQUIRY}
    assert vb.command_log.count(INQUIRY) == 1


@pytest.mark.parametrize(
    ("media", "code", "name"),
    [("dvd+r", 0x1B, "DVD+R"), ("cd-r", 0x09, "CD-R"), ("bd-r", 0x41, "BD-R SRM"), ("bd-re", 0x43, "BD-RE"),
     ("dvd-rw", 0x14, "DVD-RW sequential"), ("dvd+rw", 0x1A, "DVD+RW")],
)
def test_profiles(drive_for, media: str, code: int, name: str) -> None:
    drive, _ = drive_for(media)
    profiles = drive.profiles()
    current = [p for p in profiles if p.current]
    assert [(p.code, p.name) for p in current] == [(code, name)]
    assert {0x09, 0x1B, 0x41} <= {p.code for p in profiles}
    profile = drive.current_profile()
    assert profile is not None and profile.code == code and profile.current


def test_features(drive_for) -> None:
    drive, _ = drive_for("dvd+r")
    feats = drive.features()
    assert feats[0x0000].name == "Profile List"
    assert feats[0x002B].current
    streaming = feats[0x0107]
    assert streaming.detail is not None


BLANK_CAPACITY = {  # reference 5.11
    "dvd+r": 2295104,
    "cd-r": 360000,
    "bd-r": 12219392,
}


@pytest.mark.parametrize("media", sorted(BLANK_CAPACITY))
def test_media_report_blank_write_once(drive_for, media: str) -> None:
    drive, _ = drive_for(media)
    report = drive.media_report()
    assert report.present and report.blank and report.disc_status == "blank"
    assert report.last_session_state == "empty" and not report.erasable
    assert report.capacity_blocks == BLANK_CAPACITY[media] == report.free_blocks
    (track,) = report.tracks
    assert track.number == 1 and track.blank and track.nwa == 0 and track.start == 0
    assert track.free_blocks == BLANK_CAPACITY[media]
    data = json.loads(json.dumps(report.to_dict()))
    assert data["free_blocks"] == BLANK_CAPACITY[media]
    assert "READ TRACK INFORMATION" in data["sources"]


def test_media_report_blank_erasable(drive_for) -> None:
    drive, _ = drive_for("dvd-rw")
    report = drive.media_report()
    assert report.blank and report.erasable and report.profile is not None and report.profile.code == 0x14
    assert report.free_blocks > 2_000_000


@pytest.mark.parametrize("media", ["dvd+rw", "bd-re", "dvd-ram"])
def test_media_report_overwritable(drive_for, media: str) -> None:
    drive, _ = drive_for(media)
    report = drive.media_report()
    assert report.overwritable and report.erasable
    assert report.free_blocks == report.capacity_blocks > 2_000_000
    assert "overwritable" in report.describe()


def test_media_report_no_medium(drive_for) -> None:
    drive, _ = drive_for(None)
    report = drive.media_report()
    assert not report.present and report.to_dict()["present"] is False
    assert drive.current_profile() is None
    with pytest.raises(S.NoMedium):
        drive.wait_ready(1.0)


def test_media_report_after_writing_a_track(drive_for) -> None:
    drive, _ = drive_for("dvd+r")
    data = bytes(range(256)) * 8 * 32
    drive.execute(mmc.write10(0, 32), Direction.TO_DEVICE, data)
    drive.execute(mmc.synchronize_cache(immed=False), Direction.NONE)
    drive.execute(mmc.close_track_session(mmc.CloseFunction.TRACK, 1, immed=False), Direction.NONE)
    drive.execute(mmc.close_track_session(mmc.CloseFunction.SESSION, immed=False), Direction.NONE)
    drive.wait_ready(10.0, poll=0.01)
    report = drive.media_report()
    assert report.disc_status == "appendable" and report.sessions == 2
    first = report.tracks[0]
    assert first.number == 1 and first.start == 0 and first.size >= 32 and not first.blank
    assert first.nwa is None
    last = report.tracks[-1]
    assert last.nwa is not None and last.nwa >= 32 and last.blank
    assert report.free_blocks == last.free_blocks < BLANK_CAPACITY["dvd+r"]
    assert report.toc and report.toc[0]["track"] == 1
    assert bytes(drive.read_blocks(0, 32)) == data


def dvd_rom(burner, tmp_path: Path, blocks: int = 64, faults: str | None = None) -> tuple[OpticalDrive, bytes]:
    image = tmp_path / "disc.iso"
    content = b"".join(i.to_bytes(4, "big") * 512 for i in range(blocks))
    image.write_bytes(content)
    vb = burner("dvd-rom", read_only_image=str(image), faults=FaultPlan.parse(faults) if faults else None)
    return OpticalDrive(vb), content


def test_read_blocks_fills_callers_buffer(burner, tmp_path: Path) -> None:
    drive, content = dvd_rom(burner, tmp_path)
    buffer = bytearray(8 * 2048 + 100)
    view = drive.read_blocks(10, 8, buffer)
    assert view.obj is buffer and len(view) == 8 * 2048
    assert bytes(buffer[: 8 * 2048]) == content[10 * 2048 : 18 * 2048]
    assert buffer[8 * 2048 :] == bytes(100)
    window = memoryview(buffer)[2048 : 2048 * 3]
    drive.read_blocks(0, 2, window)
    assert bytes(buffer[2048 : 2048 * 3]) == content[: 2 * 2048]
    assert bytes(drive.read_blocks(63, 1)) == content[63 * 2048 :]


def test_read_blocks_errors(burner, tmp_path: Path) -> None:
    drive, _ = dvd_rom(burner, tmp_path)
    with pytest.raises(ValueError):
        drive.read_blocks(0, 2, bytearray(2048))
    with pytest.raises(ValueError):
        drive.read_blocks(0, 0)
    with pytest.raises(S.IllegalRequest) as caught:
        drive.read_blocks(1000, 1)
    assert caught.value.asc == 0x21 and caught.value.command == "READ(10)"


def test_read_medium_error_names_lba(burner, tmp_path: Path) -> None:
    drive, _ = dvd_rom(burner, tmp_path, faults="read lba>=20: 3/11/05")
    drive.read_blocks(0, 20)
    with pytest.raises(S.MediumError) as caught:
        drive.read_blocks(16, 8)
    assert "READ(10) failed: 3/11/05 L-EC uncorrectable error (medium error) at LBA 16" in str(caught.value)


def test_report_falls_back_to_toc_without_track_information(burner, tmp_path: Path) -> None:
    """QEMU scsi-cd answers 5/20/00 to READ TRACK INFORMATION and READ FORMAT CAPACITIES."""
    drive, _ = dvd_rom(burner, tmp_path, faults="0x52: 5/20/00\n0x23: 5/20/00\n0xAC: 5/20/00")
    report = drive.media_report()
    assert "READ TRACK INFORMATION" not in report.sources and "READ TOC" in report.sources
    assert report.profile is not None and report.profile.code == 0x10
    assert [(t.number, t.start, t.size, t.data, t.nwa) for t in report.tracks] == [(1, 0, 64, True, None)]
    assert report.capacity_blocks == 64 and report.free_blocks == 0
    assert report.disc_status == "complete"


def test_write_speeds(drive_for) -> None:
    drive, _ = drive_for("dvd+r")
    speeds = drive.write_speeds()
    assert speeds and speeds == sorted(speeds, reverse=True) and all(s > 1000 for s in speeds)


def test_write_speeds_fallback_to_mode_page(burner) -> None:
    vb = burner("dvd+r", faults=FaultPlan.parse("0xAC: 5/20/00"))
    drive = OpticalDrive(vb)
    speeds = drive.write_speeds()
    assert 0xAC in vb.command_log and 0x5A in vb.command_log
    assert speeds and speeds == sorted(speeds, reverse=True)


def test_lock_eject_load(drive_for) -> None:
    drive, vb = drive_for("dvd+r")
    drive.lock()
    with pytest.raises(S.IllegalRequest) as caught:
        drive.eject()
    assert (caught.value.key, caught.value.asc, caught.value.ascq) == (5, 0x53, 0x02)
    assert "unlock" in str(caught.value)
    drive.unlock()
    drive.eject()
    assert not drive.media_report().present
    drive.load()
    drive.wait_ready(5.0, poll=0.01)
    assert drive.media_report().present


def test_wait_ready_rides_out_becoming_ready(drive_for) -> None:
    drive, vb = drive_for("dvd+r", ready_delay=0.2)
    vb.insert("cd-r")
    before = vb.command_log.count(TUR)
    drive.wait_ready(timeout=10.0, poll=0.01)
    assert vb.command_log.count(TUR) - before >= 3  # unit attention, becoming ready..., ready
    report = drive.media_report()
    assert report.profile is not None and report.profile.code == 0x09


def test_wait_ready_timeout_names_last_answer(drive_for) -> None:
    drive, vb = drive_for("dvd+r", ready_delay=60.0)
    vb.insert("dvd+r")
    with pytest.raises(DriveTimeout, match="becoming ready") as caught:
        drive.wait_ready(timeout=0.1, poll=0.01)
    assert caught.value.dbus_name == "Timeout"
    with pytest.raises(S.RetryLater):
        drive.media_report()


def test_wait_ready_with_injected_clock(drive_for) -> None:
    """The timeout is measured on the drive's clock, so a stuck drive ends without real waiting."""
    now = [0.0]
    drive_vb = drive_for("dvd+r", ready_delay=3600.0)
    vb = drive_vb[1]
    vb.insert("dvd+r")
    drive = OpticalDrive(vb, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    with pytest.raises(DriveTimeout):
        drive.wait_ready(timeout=30.0, poll=1.0)
    assert 30.0 <= now[0] <= 31.0


def test_wait_ready_reports_progress(drive_for) -> None:
    drive, vb = drive_for("dvd-rw", busy_seconds=0.2)
    drive.execute(mmc.blank(mmc.BlankType.MINIMAL, immed=True), Direction.NONE)
    seen: list[float] = []
    drive.wait_ready(timeout=10.0, poll=0.01, on_progress=seen.append)
    assert seen and all(0.0 <= p < 1.0 for p in seen)
    assert seen == sorted(seen)


def test_execute_raises_classified_errors(drive_for) -> None:
    drive, _ = drive_for("dvd+r")
    with pytest.raises(S.UnsupportedCommand):
        drive.execute(bytes([0xD8]) + bytes(11), Direction.NONE)
    with pytest.raises(S.IllegalRequest) as caught:
        drive.execute(mmc.write10(100, 1), Direction.TO_DEVICE, bytes(2048))
    assert (caught.value.asc, caught.value.ascq) == (0x21, 0x02) and caught.value.lba == 100


def test_unit_attention_after_insert_is_absorbed_by_report(drive_for) -> None:
    drive, vb = drive_for("dvd+r")
    drive.media_report()
    vb.insert("bd-r")
    report = drive.media_report()
    assert report.profile is not None and report.profile.code == 0x41


def test_debug_log_has_cdb_and_sense_hex(drive_for, caplog: pytest.LogCaptureFixture) -> None:
    drive, _ = drive_for("dvd+r")
    with caplog.at_level(logging.DEBUG, logger="burnd.scsi"):
        with pytest.raises(S.IllegalRequest):
            drive.execute(mmc.write10(100, 1), Direction.TO_DEVICE, bytes(2048))
    text = caplog.text
    assert "WRITE(10) CDB 2a 00 00 00 00 64 00 00 01 00" in text
    assert "sense 70" in text or "sense f0" in text
    assert "12 00 00 00 60 00" in text  # the INQUIRY that preceded it


def test_queries_reissue_once_after_unit_attention(drive_for) -> None:
    drive, vb = drive_for("dvd+r")
    drive.identify()
    vb.insert("bd-re")
    # GET CONFIGURATION is answered through a pending unit attention (QEMU and real drives
    # exempt it), so the attention is still there for the next ordinary query.
    assert [p.code for p in drive.profiles() if p.current] == [0x43]
    before = vb.command_log.count(0x51)
    assert drive.disc_information(cd=False).disc_status == 0  # blank
    assert vb.command_log.count(0x51) - before == 3  # refused by the unit attention, then header + whole
    vb.insert("cd-r")
    with pytest.raises(S.UnitAttention):
        drive.execute(mmc.test_unit_ready(), Direction.NONE)
