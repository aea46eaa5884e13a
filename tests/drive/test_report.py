"""build_report: combining whatever the drive answered into one MediaReport (pure)."""

from __future__ import annotations

import json

from burnd.drive import MediaReport, TrackReport
from burnd.drive.report import build_report, tracks_from_toc
from burnd.scsi import mmc
from burnd.scsi.profiles import Profile

DVD_PLUS_R = Profile(0x1B, True)


def disc(status: int, state: int, sessions: int = 1, last_track: int = 1,
         lead_out: int | None = None, erasable: bool = False) -> mmc.DiscInformation:
    return mmc.DiscInformation(
        disc_status=mmc.DiscStatus(status), last_session_state=mmc.SessionState(state), erasable=erasable,
        first_track=1, sessions=sessions, first_track_last_session=last_track,
        last_track_last_session=last_track, bg_format_status=0, unrestricted_use=False, disc_type=0,
        disc_id=None, last_session_lead_in=None, last_possible_lead_out=lead_out, opc_tables=0,
    )


def track(number: int, start: int, size: int, nwa: int | None, free: int, blank: bool = False) -> TrackReport:
    return TrackReport(number=number, session=1, start=start, size=size, nwa=nwa, free_blocks=free,
                       track_mode=4, data_mode=1, data=True, blank=blank)


def test_blank_dvd_plus_r() -> None:
    report = build_report(DVD_PLUS_R, disc(0, 0), (track(1, 0, 2295104, 0, 2295104, blank=True),),
                          None, None, None)
    assert report.blank and not report.appendable and not report.overwritable
    assert report.capacity_blocks == 2295104 and report.free_blocks == 2295104 and report.used_blocks == 0


def test_appendable_disc_counts_free_of_invisible_track() -> None:
    tracks = (track(1, 0, 7000, None, 0), track(2, 7000, 2288104, 7000, 2288104, blank=True))
    report = build_report(DVD_PLUS_R, disc(1, 0, sessions=2, last_track=2), tracks, None, None, None)
    assert report.appendable and report.sessions == 2
    assert report.capacity_blocks == 2295104 and report.free_blocks == 2288104
    assert report.used_blocks == 7000


def test_partly_written_track_counts_up_to_its_nwa() -> None:
    tracks = (track(1, 0, 2295104, 4000, 2291104),)
    report = build_report(DVD_PLUS_R, disc(1, 1), tracks, None, None, None)
    assert report.used_blocks == 4000 and report.free_blocks == 2291104


def test_finalized_disc_used_is_recorded_area_not_capacity() -> None:
    formats = mmc.FormatCapacities(blocks=360000, descriptor_type=mmc.CapacityType.UNFORMATTED,
                                   block_length=2048, formattable=())
    report = build_report(Profile(0x09, True), disc(2, 3), (track(1, 0, 302, None, 0),), None, None, formats)
    assert (report.capacity_blocks, report.used_blocks, report.free_blocks) == (360000, 302, 0)


def test_overwritable_free_is_capacity() -> None:
    formats = mmc.FormatCapacities(blocks=2295104, descriptor_type=mmc.CapacityType.FORMATTED,
                                   block_length=2048, formattable=())
    report = build_report(Profile(0x1A, True), disc(2, 3), (track(1, 0, 2295104, None, 0),), None,
                          mmc.Capacity(2295103, 2048), formats)
    assert report.overwritable and report.formatted
    assert report.free_blocks == 2295104 == report.capacity_blocks


def test_cd_capacity_from_last_possible_lead_out() -> None:
    report = build_report(Profile(0x09, True), disc(0, 0, lead_out=359846), (), None, None, None)
    assert report.capacity_blocks == 359846 and report.free_blocks == 0


def test_toc_fallback_for_read_only_drives() -> None:
    toc = mmc.Toc(first=1, last=1, entries=(mmc.TocEntry(1, 4, 1, 0), mmc.TocEntry(1, 4, 0xAA, 1000)))
    report = build_report(Profile(0x08, True), None, (), toc, mmc.Capacity(999, 2048), None)
    assert report.disc_status == "complete"
    assert [(t.number, t.start, t.size, t.data, t.nwa) for t in report.tracks] == [(1, 0, 1000, True, None)]
    assert report.capacity_blocks == 1000 and report.free_blocks == 0 and report.sessions == 1
    assert report.toc[1]["lead_out"] is True


def test_tracks_from_toc_orders_lead_out_last() -> None:
    toc = mmc.Toc(first=1, last=2, entries=(mmc.TocEntry(1, 4, 0xAA, 900), mmc.TocEntry(1, 0, 2, 400),
                                            mmc.TocEntry(1, 4, 1, 0)))
    assert [(t.number, t.size, t.data) for t in tracks_from_toc(toc)] == [(1, 400, True), (2, 500, False)]


def test_to_dict_is_json_and_stable() -> None:
    report = build_report(DVD_PLUS_R, disc(0, 0), (track(1, 0, 100, 0, 100, blank=True),), None, None, None,
                          ("READ DISC INFORMATION",))
    data = json.loads(json.dumps(report.to_dict()))
    assert sorted(data) == sorted([
        "present", "profile", "disc_status", "last_session_state", "erasable", "overwritable", "sessions",
        "capacity_blocks", "free_blocks", "used_blocks", "block_size", "bg_format_status", "formatted",
        "tracks", "toc", "sources",
    ])
    assert data["profile"] == {"code": 0x1B, "name": "DVD+R"}
    assert data["tracks"][0]["nwa"] == 0 and data["tracks"][0]["blank"] is True
    assert data["disc_status"] == "blank" and data["last_session_state"] == "empty"


def test_describe() -> None:
    report = build_report(DVD_PLUS_R, disc(0, 0), (track(1, 0, 2295104, 0, 2295104, blank=True),),
                          None, None, None)
    text = report.describe()
    assert text.startswith("DVD+R (001Bh): blank, 1 session(s)")
    assert "free 2295104 blocks (4.70 GB)" in text
    assert "track 1: session 1, start 0, 2295104 blocks, data blank, next writable 0" in text
    assert MediaReport(present=False).describe() == "no medium"
    assert MediaReport(present=False).to_dict()["present"] is False
