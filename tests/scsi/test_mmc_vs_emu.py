"""burnd.scsi.mmc against the software burner: two independent readings of the reference.

The emulator (burnd.emu) builds its answers from the reference tables without using
burnd.scsi.mmc; these tests check the builders are accepted and the parsers read the answers
strictly (no truncation, no leftover bytes, every decoded feature decodable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from burnd.drive import OpticalDrive
from burnd.emu import VirtualBurner
from burnd.scsi import features, mmc
from burnd.scsi.transport import Direction

DECODED = (0x0000, 0x0001, 0x0003, 0x0020, 0x0021, 0x0023, 0x0024, 0x0025, 0x002A, 0x002B, 0x002D,
           0x002E, 0x002F, 0x0040, 0x0041, 0x0107, 0x0108)


@pytest.fixture
def drive() -> Iterator[Callable[[str], OpticalDrive]]:
    made: list[VirtualBurner] = []

    def make(media: str) -> OpticalDrive:
        vb = VirtualBurner(media, busy_seconds=0.01)
        made.append(vb)
        return OpticalDrive(vb)

    yield make
    for vb in made:
        vb.close()


def read(d: OpticalDrive, cdb: bytes, size: int) -> bytes:
    return bytes(d.execute(cdb, Direction.FROM_DEVICE, size).data)


@pytest.mark.parametrize(("media", "profile"), [("cd-r", 0x09), ("cd-rw", 0x0A), ("dvd-r", 0x11),
                                                ("dvd+r", 0x1B), ("dvd+rw", 0x1A), ("bd-r", 0x41),
                                                ("bd-re", 0x43), ("dvd-ram", 0x12)])
def test_configuration_parses_strictly(drive, media: str, profile: int) -> None:
    d = drive(media)
    config = features.parse_configuration(read(d, mmc.get_configuration(mmc.RT.ALL, 0, 4096), 4096))
    assert not config.truncated and config.current_profile == profile
    assert [p.code for p in config.profiles() if p.current] == [profile]
    for feature in config.features:
        if feature.code in DECODED:
            assert feature.detail is not None, feature
    one = features.parse_configuration(read(d, mmc.get_configuration(mmc.RT.ONE, 0x0107, 64), 64))
    assert [f.code for f in one.features] == [0x0107]


def test_serial_from_vpd_and_feature_agree(drive) -> None:
    d = drive("dvd+r")
    serial = mmc.parse_unit_serial(read(d, mmc.inquiry(252, mmc.VPD_UNIT_SERIAL), 252))
    feature = d.features()[0x0108].detail
    assert isinstance(feature, features.SerialNumber) and feature.serial == serial == d.identify().serial


def test_write_parameters_round_trip_through_mode_select(drive) -> None:
    d = drive("cd-r")
    page = d.mode_page(mmc.PAGE_WRITE_PARAMETERS)
    wanted = mmc.WriteParameters(bufe=True, ls_valid=False, test_write=True, write_type=mmc.WriteType.TAO,
                                 multi_session=mmc.MultiSession.OPEN, fixed_packet=False, copy=False,
                                 track_mode=4, data_block_type=8, link_size=0, host_application_code=0,
                                 session_format=0, packet_size=0, audio_pause=150)
    params = mmc.mode_select_parameters(mmc.write_parameters_page(page, wanted))
    d.execute(mmc.mode_select10(len(params)), Direction.TO_DEVICE, params)
    assert mmc.parse_write_parameters(d.mode_page(mmc.PAGE_WRITE_PARAMETERS)) == wanted


def test_capabilities_and_performance(drive) -> None:
    d = drive("dvd+r")
    caps = d.capabilities()
    assert caps.can_eject
    speeds = d.write_speeds()
    assert caps.write_speeds and all(s.kbps > 0 for s in caps.write_speeds)
    assert speeds and speeds == sorted(speeds, reverse=True)
    head = read(d, mmc.get_performance(mmc.PerformanceType.PERFORMANCE, 0), 8)
    count = max(mmc.performance_descriptor_count(head), 1)
    points = mmc.parse_performance(read(d, mmc.get_performance(mmc.PerformanceType.PERFORMANCE, count),
                                        8 + 16 * count))
    assert points and points[0].end_lba >= points[0].start_lba


def test_atip_of_blank_cd_r(drive) -> None:
    d = drive("cd-r")
    atip = mmc.parse_atip(read(d, mmc.read_toc(mmc.TocFormat.ATIP, 28, msf=True), 28))
    assert not atip.rewritable and atip.lead_in_start < 0
    assert atip.last_lead_out_start == d.media_report().capacity_blocks
    assert mmc.parse_atip(read(drive("cd-rw"), mmc.read_toc(mmc.TocFormat.ATIP, 28, msf=True), 28)).rewritable


def test_tocs_of_a_closed_cd_session(drive) -> None:
    d = drive("cd-r")
    d.execute(mmc.write10(0, 300), Direction.TO_DEVICE, bytes(300 * 2048))
    d.execute(mmc.synchronize_cache(immed=False), Direction.NONE)
    d.execute(mmc.close_track_session(mmc.CloseFunction.SESSION, immed=False), Direction.NONE)
    d.wait_ready(5.0, poll=0.01)
    toc = d.toc()
    assert [e.track for e in toc.entries] == [1, mmc.LEAD_OUT_TRACK] and toc.entries[0].is_data
    lead_out = toc.entries[1].start
    assert lead_out >= 300
    msf_toc = mmc.parse_toc(read(d, mmc.read_toc(mmc.TocFormat.FORMATTED, 100, msf=True), 100), msf=True)
    assert [e.start for e in msf_toc.entries] == [0, lead_out]
    session = mmc.parse_session_info(read(d, mmc.read_toc(mmc.TocFormat.MULTISESSION, 12), 12))
    assert session.last_session_start == 0 and session.first_track_last_session == 1
    raw = mmc.parse_raw_toc(read(d, mmc.read_toc(mmc.TocFormat.RAW, 512, msf=True), 512))
    points = {e.point: e for e in raw.entries}
    assert points[0xA0].pmsf[0] == 1 and points[0xA1].pmsf[0] == 1
    assert mmc.msf_to_lba(*points[0xA2].pmsf) == lead_out
    assert mmc.msf_to_lba(*points[0x01].pmsf) == 0


def test_format_dvd_plus_rw(drive) -> None:
    d = drive("dvd+rw")
    before = d.format_capacities()
    assert before.descriptor_type == mmc.CapacityType.UNFORMATTED
    offer = next(f for f in before.formattable if f.format_type == 0x26)
    params = mmc.format_unit_parameters(offer.blocks, 0x26)
    d.execute(mmc.format_unit(), Direction.TO_DEVICE, params)
    d.wait_ready(10.0, poll=0.01)
    report = d.media_report()
    assert report.formatted and report.capacity_blocks == offer.blocks


def test_bd_re_format_offers(drive) -> None:
    offers = drive("bd-re").format_capacities()
    assert {0x00, 0x30, 0x31} <= {f.format_type for f in offers.formattable}
    assert all(f.blocks > 0 for f in offers.formattable)


def test_blank_cd_rw_after_writing(drive) -> None:
    d = drive("cd-rw")
    d.execute(mmc.write10(0, 32), Direction.TO_DEVICE, bytes(32 * 2048))
    d.execute(mmc.synchronize_cache(immed=False), Direction.NONE)
    assert not d.media_report().blank
    d.execute(mmc.blank(mmc.BlankType.FULL), Direction.NONE)
    d.wait_ready(10.0, poll=0.01)
    assert d.media_report().blank


def test_reserve_track_on_dvd_r(drive) -> None:
    d = drive("dvd-r")
    d.execute(mmc.reserve_track(1024), Direction.NONE)
    info = d.track_information(1)
    assert info.reserved and info.size >= 1024


def test_small_commands_parse(drive) -> None:
    d = drive("dvd+rw")
    buffer = mmc.parse_buffer_capacity(read(d, mmc.read_buffer_capacity(), 12))
    assert buffer.length > 0 and 0.0 <= buffer.fill <= 1.0
    mech = mmc.parse_mechanism_status(read(d, mmc.mechanism_status(8), 8))
    assert not mech.door_open and not mech.fault
    structure = mmc.parse_disc_structure(read(d, mmc.read_disc_structure(0x00, 2052), 2052))
    assert structure.book_type == 0x9  # DVD+RW
    events = mmc.parse_event_status(read(d, mmc.get_event_status_notification(), 8))
    assert events.media is not None and events.media.media_present
    d.execute(mmc.set_streaming(), Direction.TO_DEVICE,
              mmc.performance_descriptor(end_lba=2295103, read_kbps=11080, write_kbps=5540))


def test_cd_speed_and_gesn_after_insert(drive) -> None:
    d = drive("cd-r")
    d.execute(mmc.set_cd_speed(0xFFFF, 7056), Direction.NONE)
    d.transport.insert("cd-rw")  # type: ignore[attr-defined]
    d.wait_ready(5.0, poll=0.01)
    seen = [mmc.parse_event_status(read(d, mmc.get_event_status_notification(), 8)) for _ in range(3)]
    codes = [e.media.code for e in seen if e.media is not None]
    assert mmc.MediaEventCode.NEW_MEDIA in codes
    assert codes[-1] == mmc.MediaEventCode.NO_CHANGE
