"""Burn + verify through the virtual burner on every writable medium, and the standalone jobs
(verify, blank, format, rip) — the same code path a real drive takes."""

from __future__ import annotations

import hashlib
import io
import os
import threading

import pytest

from burnd.burn import (
    BurnOptions,
    Cancelled,
    MediumMissing,
    MediumNotBlank,
    MediumNotWritable,
    MediumTooSmall,
    Phase,
    ProgressEvent,
    Strategy,
    VerifyMismatch,
    blank,
    burn,
    format_medium,
    prepare,
    rip,
    verify,
)
from burnd.burn.plan import CloseSession
from burnd.burn.rip import BAD_MAP_SUFFIX
from burnd.errors import BadImage, NotAnOpticalDrive
from burnd.scsi.mmc import CloseFunction
from tests.burn.conftest import POLL, WRITABLE, image_bytes

SIZE = 700 * 2048 + 333
OPCODE_WRITE10, OPCODE_PREVENT, OPCODE_BLANK, OPCODE_FORMAT = 0x2A, 0x1E, 0xA1, 0x04


def disc_bytes(rig, lba: int, size: int) -> bytes:  # type: ignore[no-untyped-def]
    blocks = -(-size // 2048)
    return bytes(rig.drive.read_blocks(lba, blocks))[:size]


@pytest.mark.parametrize("media", WRITABLE)
def test_burn_and_verify_every_writable_medium(make_rig, media: str) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig(media)
    data = image_bytes(SIZE)
    events: list[ProgressEvent] = []
    result = burn(rig.drive, io.BytesIO(data), BurnOptions(md5=True), progress=events.append, poll=POLL)
    assert result.verified
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.md5 == hashlib.md5(data).hexdigest()
    assert result.blocks_written == result.plan.total_blocks
    assert disc_bytes(rig, result.start_lba, SIZE) == data
    assert not rig.burner._state.locked
    phases = [e.phase for e in events]
    assert phases[0] is Phase.PREPARING and Phase.WRITING in phases and Phase.VERIFYING in phases
    writing = [e for e in events if e.phase is Phase.WRITING]
    assert writing[-1].done == SIZE == writing[-1].total
    if result.plan.strategy is not Strategy.OVERWRITE:
        assert result.report is not None and result.report.disc_status == "complete"


def test_progress_is_throttled_and_reports_buffers(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-re", capacity=20_000)
    events: list[ProgressEvent] = []
    burn(rig.drive, io.BytesIO(image_bytes(16 << 20)), BurnOptions(verify=False, fifo_bytes=4 << 20),
         progress=events.append, poll=POLL)
    writing = [e for e in events if e.phase is Phase.WRITING]
    assert writing[0].done <= writing[-1].done == 16 << 20
    assert all(e.fifo_fill is None or 0.0 <= e.fifo_fill <= 1.0 for e in writing)
    assert any(e.drive_buffer_fill is not None for e in writing)
    assert sorted(e.done for e in writing) == [e.done for e in writing]


def _simulate(make_rig, media: str, strategy: str) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig(media)
    result = burn(rig.drive, io.BytesIO(image_bytes(SIZE)), BurnOptions(simulate=True, strategy=strategy), poll=POLL)
    assert result.simulated and not result.verified and result.plan.strategy.value == strategy
    report = rig.drive.media_report()
    assert report.disc_status == "blank"
    assert [t.reserved for t in report.tracks] == [False]


@pytest.mark.parametrize(("media", "strategy"), [("cd-r", "tao"), ("dvd-r", "incremental"),
                                                 ("cd-r", "sao"), ("dvd-r", "dao")])
def test_simulation_writes_nothing(make_rig, media: str, strategy: str) -> None:  # type: ignore[no-untyped-def]
    _simulate(make_rig, media, strategy)


def test_speed_is_sent(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-r")
    burn(rig.drive, io.BytesIO(image_bytes(SIZE)), BurnOptions(speed_kbps=8990), poll=POLL)
    assert rig.burner._state.write_speed == 8990
    cd = make_rig("cd-r")
    burn(cd.drive, io.BytesIO(image_bytes(SIZE)), BurnOptions(speed_kbps=1764), poll=POLL)
    assert cd.burner._state.write_speed == 1764


def test_tao_cd_pads_and_reads_back(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("cd-r")
    data = image_bytes(SIZE)
    result = burn(rig.drive, io.BytesIO(data), BurnOptions(strategy="tao"), poll=POLL)
    assert result.plan.strategy is Strategy.TAO
    assert result.blocks_written == 701 + 150
    assert bytes(rig.drive.read_blocks(701, 150)) == bytes(150 * 2048)


def test_refusal_sends_nothing_that_changes_the_disc(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("dvd+r", capacity=500)
    with pytest.raises(MediumTooSmall):
        burn(rig.drive, io.BytesIO(image_bytes(600 * 2048)), poll=POLL)
    assert OPCODE_WRITE10 not in rig.burner.command_log
    assert OPCODE_PREVENT not in rig.burner.command_log


def test_complete_and_nonblank_refused(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("dvd+r")
    burn(rig.drive, io.BytesIO(image_bytes(SIZE)), poll=POLL)
    with pytest.raises(MediumNotWritable, match="finalized"):
        burn(rig.drive, io.BytesIO(image_bytes(SIZE)), poll=POLL)
    rw = make_rig("cd-rw")
    burn(rw.drive, io.BytesIO(image_bytes(SIZE)), poll=POLL)
    with pytest.raises(MediumNotBlank):
        burn(rw.drive, io.BytesIO(image_bytes(SIZE, 2)), poll=POLL)
    events: list[ProgressEvent] = []
    again = burn(rw.drive, io.BytesIO(image_bytes(SIZE, 2)), BurnOptions(overwrite=True), progress=events.append,
                 poll=POLL)
    assert again.verified and OPCODE_BLANK in rw.burner.command_log
    blanking = [e for e in events if e.phase is Phase.BLANKING]
    assert blanking[0].fraction == 0.0 and blanking[-1].fraction == 1.0


def test_overwriting_a_filesystem_needs_consent(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("dvd-ram")
    burn(rig.drive, io.BytesIO(image_bytes(SIZE)), poll=POLL)
    with pytest.raises(MediumNotBlank):
        burn(rig.drive, io.BytesIO(image_bytes(SIZE, 3)), poll=POLL)
    assert burn(rig.drive, io.BytesIO(image_bytes(SIZE, 3)), BurnOptions(overwrite=True), poll=POLL).verified


def test_no_medium_and_not_a_drive(make_rig) -> None:  # type: ignore[no-untyped-def]
    empty = make_rig(None)
    with pytest.raises(MediumMissing):
        burn(empty.drive, io.BytesIO(image_bytes(SIZE)), poll=POLL)
    disk = make_rig("bd-r", peripheral_type=0)
    with pytest.raises(NotAnOpticalDrive):
        burn(disk.drive, io.BytesIO(image_bytes(SIZE)), poll=POLL)
    assert OPCODE_WRITE10 not in disk.burner.command_log


def test_truncated_image_is_bad_and_unlocks(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-re")
    with pytest.raises(BadImage, match="ended"):
        burn(rig.drive, io.BytesIO(image_bytes(SIZE)), size=SIZE + (4 << 20), poll=POLL)
    assert not rig.burner._state.locked


@pytest.mark.parametrize("media", ["dvd+r", "bd-r", "dvd-r", "cd-r"])
def test_cancel_closes_sequential_disc_readable(make_rig, media: str) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig(media, capacity=20_000)
    cancel = threading.Event()
    data = image_bytes(8 << 20)

    def progress(event: ProgressEvent) -> None:
        if event.phase is Phase.WRITING:
            cancel.set()

    with pytest.raises(Cancelled) as info:
        burn(rig.drive, io.BytesIO(data), BurnOptions(multisession=True, fifo_bytes=1 << 20), progress=progress,
             cancel=cancel, poll=POLL)
    written = info.value.written_blocks
    assert 0 < written < 4096
    assert "stays readable" in str(info.value)
    report = rig.drive.media_report()
    assert report.disc_status == "appendable" and report.last_session_state == "empty"
    assert disc_bytes(rig, 0, written * 2048) == data[:written * 2048]
    assert not rig.burner._state.locked


def test_cancel_of_a_reserved_track_says_the_disc_is_unusable(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("dvd-r", capacity=20_000)
    cancel = threading.Event()
    with pytest.raises(Cancelled, match="unusable"):
        burn(rig.drive, io.BytesIO(image_bytes(8 << 20)), BurnOptions(fifo_bytes=1 << 20),
             progress=lambda event: cancel.set() if event.phase is Phase.WRITING else None, cancel=cancel, poll=POLL)
    assert not rig.burner._state.locked


def test_cancel_before_writing(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-r")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled, match="nothing was written"):
        burn(rig.drive, io.BytesIO(image_bytes(SIZE)), cancel=cancel, poll=POLL)
    assert OPCODE_WRITE10 not in rig.burner.command_log


def test_prepare_is_a_dry_run(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-re")
    plan = prepare(rig.drive, SIZE)
    assert plan.strategy is Strategy.OVERWRITE and plan.steps[0].format_type == 0x00
    assert OPCODE_FORMAT not in rig.burner.command_log


# ----------------------------------------------------------------------------- standalone verify


def test_verify_against_image_hash_and_damage(make_rig, image_file) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-re", backing=True)
    path = image_file(SIZE)
    with open(path, "rb") as image:
        result = burn(rig.drive, image, BurnOptions(verify=False), poll=POLL)
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    assert verify(rig.drive, path).sha256 == digest
    assert verify(rig.drive, sha256=digest, size=SIZE).sha256 == digest
    with pytest.raises(VerifyMismatch):
        verify(rig.drive, sha256="0" * 64, size=SIZE)
    with open(rig.backing, "r+b") as backing:
        backing.seek(300 * 2048 + 10)
        backing.write(b"\xff" * (3 * 2048))
    with pytest.raises(VerifyMismatch) as info:
        verify(rig.drive, path)
    assert (info.value.first_lba, info.value.last_lba) == (300, 303)
    assert result.start_lba == 0


def test_verify_after_burn_locates_unreadable_sector(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("dvd+r", faults=["read lba=500: 3/11/00"])
    with pytest.raises(VerifyMismatch) as info:
        burn(rig.drive, io.BytesIO(image_bytes(SIZE)), poll=POLL)
    assert info.value.first_lba == 500 and "LBA 500" in str(info.value)
    assert not rig.burner._state.locked


# ----------------------------------------------------------------------------- blank / format


def test_blank_cd_rw_and_dvd_rw(make_rig) -> None:  # type: ignore[no-untyped-def]
    for media in ("cd-rw", "dvd-rw"):
        rig = make_rig(media)
        burn(rig.drive, io.BytesIO(image_bytes(SIZE)), poll=POLL)
        events: list[ProgressEvent] = []
        report = blank(rig.drive, fast=False, progress=events.append, poll=POLL)
        assert report.disc_status == "blank"
        assert events[0].phase is Phase.BLANKING and events[-1].fraction == 1.0
        assert not rig.burner._state.locked
    with pytest.raises(MediumNotWritable, match="cannot be blanked"):
        blank(make_rig("dvd+r").drive)


def test_dvd_rw_fast_blank_then_multisession_blanks_fully(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("dvd-rw")
    burn(rig.drive, io.BytesIO(image_bytes(SIZE)), poll=POLL)
    blank(rig.drive, fast=True, poll=POLL)
    result = burn(rig.drive, io.BytesIO(image_bytes(SIZE)), BurnOptions(multisession=True), poll=POLL)
    assert result.plan.strategy is Strategy.INCREMENTAL and result.verified
    assert rig.drive.media_report().disc_status == "appendable"


def test_format_media(make_rig) -> None:  # type: ignore[no-untyped-def]
    for media, kwargs, profile in (("dvd+rw", {}, 0x1A), ("bd-re", {"spare_areas": False}, 0x43),
                                   ("bd-re", {"spare_areas": True}, 0x43), ("bd-r", {"spare_areas": True}, 0x41),
                                   ("dvd-rw", {"restricted_overwrite": True}, 0x13)):
        rig = make_rig(media)
        events: list[ProgressEvent] = []
        report = format_medium(rig.drive, progress=events.append, poll=POLL, **kwargs)
        assert report.profile is not None and report.profile.code == profile
        assert events[-1].phase is Phase.FORMATTING and events[-1].fraction == 1.0
        assert OPCODE_FORMAT in rig.burner.command_log
        assert not rig.burner._state.locked
    formatted = make_rig("dvd-ram")
    with pytest.raises(MediumNotBlank, match="already formatted"):
        format_medium(formatted.drive)
    assert format_medium(formatted.drive, force=True).formatted


def test_bd_re_without_spares_and_dvd_rw_ro_burn(make_rig) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-re")
    result = burn(rig.drive, io.BytesIO(image_bytes(SIZE)), BurnOptions(spare_areas=False), poll=POLL)
    assert result.plan.steps[0].format_type == 0x31 and result.verified
    ro = make_rig("dvd-rw")
    format_medium(ro.drive, restricted_overwrite=True, poll=POLL)
    quick = burn(ro.drive, io.BytesIO(image_bytes(SIZE)), poll=POLL)
    assert quick.verified and quick.plan.total_blocks % 16 == 0
    assert quick.plan.steps[-1] == CloseSession(CloseFunction.SESSION)  # leaves the intermediate state
    again = burn(ro.drive, io.BytesIO(image_bytes(SIZE, 5)), BurnOptions(overwrite=True), poll=POLL)
    assert again.verified and not any(isinstance(s, CloseSession) for s in again.plan.steps)


# ----------------------------------------------------------------------------- rip


def test_rip_clean_disc(make_rig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("dvd+r")
    data = image_bytes(SIZE)
    burn(rig.drive, io.BytesIO(data), poll=POLL)
    out = tmp_path / "rip.img"
    result = rip(rig.drive, str(out), blocks=701)
    assert out.read_bytes()[:SIZE] == data
    assert result.bad_runs == () and not os.path.exists(str(out) + BAD_MAP_SUFFIX)
    assert "every block read" in result.summary()


def test_rip_maps_unreadable_sectors(make_rig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-r", faults=["read lba=101: 3/11/00", "read lba=102: 3/11/00", "read lba=110: 3/11/00 x2"])
    data = image_bytes(SIZE)
    burn(rig.drive, io.BytesIO(data), BurnOptions(verify=False), poll=POLL)
    out = tmp_path / "rip.img"
    result = rip(rig.drive, str(out), retries=2)
    assert result.blocks == 704
    assert result.bad_runs == ((101, 2),)
    content = out.read_bytes()
    assert content[101 * 2048:103 * 2048] == bytes(2 * 2048)
    assert content[:101 * 2048] == data[:101 * 2048]
    assert content[103 * 2048:SIZE] == data[103 * 2048:]
    assert (tmp_path / ("rip.img" + BAD_MAP_SUFFIX)).read_text().splitlines()[1:] == ["101 2"]
    assert "UNREADABLE" in result.summary()


def test_rip_uses_the_iso_size(make_rig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.fixtures.burn_sessions import have_genisoimage, master

    if not have_genisoimage():
        pytest.skip("genisoimage is not installed (Debian package genisoimage)")
    iso = master({"f.bin": image_bytes(100_000)}, tmp_path / "one.iso")
    rig = make_rig("dvd+r")
    with open(iso, "rb") as image:
        burn(rig.drive, image, poll=POLL)
    result = rip(rig.drive, str(tmp_path / "back.iso"))
    assert (tmp_path / "back.iso").read_bytes() == iso.read_bytes()
    assert result.blocks * 2048 == iso.stat().st_size


def test_rip_of_a_pressed_cd_keeps_its_last_blocks(make_rig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A pressed CD has no TAO run-out: the ISO's volume size is the whole image, to the block.

    The drive here answers READ TRACK INFORMATION with 5/20/00, as QEMU's scsi-cd does, so the
    track's length comes from the TOC."""
    from tests.fixtures.burn_sessions import have_genisoimage, master

    if not have_genisoimage():
        pytest.skip("genisoimage is not installed (Debian package genisoimage)")
    iso = master({"f.bin": image_bytes(100_000)}, tmp_path / "pressed.iso")
    rig = make_rig("cd-rom", read_only_image=str(iso), faults=["0x52: 5/20/00"])
    result = rip(rig.drive, str(tmp_path / "back.iso"))
    assert result.blocks * 2048 == iso.stat().st_size
    assert (tmp_path / "back.iso").read_bytes() == iso.read_bytes()
