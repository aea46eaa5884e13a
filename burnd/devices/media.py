"""What a drive and its medium look like on D-Bus: pure translation of OpticalDrive answers.

Media type names are udisks2's (``optical_cd_r`` ...), so a desktop already knows them; the
state is what a person decides on (can I write to it?), not the drive's raw disc status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from burnd.drive import DriveIdentity, MediaReport
from burnd.scsi.mmc import BLOCK_SIZE
from burnd.scsi.profiles import ROM_PROFILES

UDISKS_MEDIA: dict[int, str] = {
    0x08: "optical_cd", 0x09: "optical_cd_r", 0x0A: "optical_cd_rw",
    0x10: "optical_dvd", 0x11: "optical_dvd_r", 0x12: "optical_dvd_ram", 0x13: "optical_dvd_rw",
    0x14: "optical_dvd_rw", 0x15: "optical_dvd_r", 0x16: "optical_dvd_r", 0x17: "optical_dvd_rw",
    0x1A: "optical_dvd_plus_rw", 0x1B: "optical_dvd_plus_r", 0x2A: "optical_dvd_plus_rw_dl",
    0x2B: "optical_dvd_plus_r_dl", 0x40: "optical_bd", 0x41: "optical_bd_r", 0x42: "optical_bd_r",
    0x43: "optical_bd_re", 0x50: "optical_hddvd", 0x51: "optical_hddvd_r", 0x52: "optical_hddvd_ram",
    0x53: "optical_hddvd_rw",
}

NONE, BLANK, APPENDABLE, COMPLETE, ROM = "none", "blank", "appendable", "complete", "rom"


def media_type(report: MediaReport) -> str:
    if not report.present or report.profile is None:
        return ""
    return UDISKS_MEDIA.get(report.profile.code, "optical")


def media_state(report: MediaReport) -> str:
    """none / blank / appendable / complete / rom.

    Overwritable media (DVD+RW, BD-RE, DVD-RAM ...) have no sequential state: they count as
    blank when nothing is recorded, else complete (they can always be overwritten).
    """
    if not report.present or report.profile is None:
        return NONE
    if report.profile.code in ROM_PROFILES:
        return ROM
    if report.overwritable:
        return BLANK if report.formatted is False or report.disc_status == BLANK else COMPLETE
    if report.disc_status in (BLANK, APPENDABLE, COMPLETE):
        return report.disc_status
    return COMPLETE


def track_dicts(report: MediaReport) -> list[dict[str, Any]]:
    return [{"number": t.number, "session": t.session or 0, "start": max(t.start, 0), "blocks": max(t.size, 0),
             "free_blocks": max(t.free_blocks, 0), "data": t.data, "blank": t.blank} for t in report.tracks]


@dataclass(frozen=True, slots=True)
class DriveSnapshot:
    """Everything the Drive object shows, read in one go on the drive's own thread."""

    identity: DriveIdentity | None = None
    profiles: tuple[str, ...] = ()
    media_type: str = ""
    media_state: str = NONE
    capacity: int = 0
    free_bytes: int = 0
    sessions: int = 0
    tracks: tuple[dict[str, Any], ...] = field(default=())
    write_speeds: tuple[int, ...] = ()
    writable: bool = False
    """A blank or an overwritable medium: what "waiting for blank medium" waits for."""


def snapshot(identity: DriveIdentity, profiles: list[str], report: MediaReport,
             speeds: list[int]) -> DriveSnapshot:
    state = media_state(report)
    free = report.free_blocks if report.present else 0
    return DriveSnapshot(identity, tuple(profiles), media_type(report), state,
                         report.capacity_blocks * BLOCK_SIZE, max(free, 0) * BLOCK_SIZE, report.sessions,
                         tuple(track_dicts(report)), tuple(int(s) for s in speeds),
                         state == BLANK or (report.present and report.overwritable))
