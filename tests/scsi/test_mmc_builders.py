"""CDB builders against the reference tables (mmc.md section 3), byte by byte.

Expected bytes are written out by hand from the tables, never produced by the builders.
"""

from __future__ import annotations

import pytest

from burnd.scsi import mmc


def h(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        # 3.1 TEST UNIT READY: six zero bytes
        (mmc.test_unit_ready(), h("00 00 00 00 00 00")),
        # 3.2 REQUEST SENSE: byte 4 allocation, DESC = 0
        (mmc.request_sense(18), h("03 00 00 00 12 00")),
        # 3.3 INQUIRY standard, allocation 36 in bytes 3-4
        (mmc.inquiry(36), h("12 00 00 00 24 00")),
        # INQUIRY VPD 80h: EVPD bit, page code in byte 2
        (mmc.inquiry(252, 0x80), h("12 01 80 00 FC 00")),
        # 3.4 GET CONFIGURATION RT=10b start 0021h alloc 16 (growisofs' feature 21h probe)
        (mmc.get_configuration(mmc.RT.ONE, 0x0021, 16), h("46 02 00 21 00 00 00 00 10 00")),
        (mmc.get_configuration(mmc.RT.ALL, 0, 8), h("46 00 00 00 00 00 00 00 08 00")),
        (mmc.get_configuration(mmc.RT.CURRENT, 0x0107, 0x1000), h("46 01 01 07 00 00 00 10 00 00")),
        # 3.5 GESN polled, media class 10h, alloc 8
        (mmc.get_event_status_notification(), h("4A 01 00 00 10 00 00 00 08 00")),
        (mmc.get_event_status_notification(0x7E, 0x100), h("4A 01 00 00 7E 00 00 01 00 00")),
        # 3.6 READ DISC INFORMATION, alloc 34
        (mmc.read_disc_information(34), h("51 00 00 00 00 00 00 00 22 00")),
        # 3.7 READ TRACK INFORMATION track FFh, alloc 48; LBA form with a negative LBA
        (mmc.read_track_information(0xFF), h("52 01 00 00 00 FF 00 00 30 00")),
        (mmc.read_track_information(-150, mmc.AddressType.LBA, 32),
         h("52 00 FF FF FF 6A 00 00 20 00")),
        (mmc.read_track_information(2, mmc.AddressType.SESSION, 28, open_track=True),
         h("52 06 00 00 00 02 00 00 1C 00")),
        # 3.8 READ TOC format 0 LBA, format 1, format 2 MSF, format 4 (ATIP, MSF)
        (mmc.read_toc(mmc.TocFormat.FORMATTED, 0x0324), h("43 00 00 00 00 00 00 03 24 00")),
        (mmc.read_toc(mmc.TocFormat.MULTISESSION, 12), h("43 00 01 00 00 00 00 00 0C 00")),
        (mmc.read_toc(mmc.TocFormat.RAW, 4, track=1, msf=True), h("43 02 02 00 00 00 01 00 04 00")),
        (mmc.read_toc(mmc.TocFormat.ATIP, 28, msf=True), h("43 02 04 00 00 00 00 00 1C 00")),
        # 3.9 READ CAPACITY
        (mmc.read_capacity(), h("25 00 00 00 00 00 00 00 00 00")),
        # 3.10 READ FORMAT CAPACITIES, alloc 12
        (mmc.read_format_capacities(12), h("23 00 00 00 00 00 00 00 0C 00")),
        # 3.11 FORMAT UNIT: byte 1 = 11h
        (mmc.format_unit(), h("04 11 00 00 00 00")),
        # 3.12 BLANK minimal with Immed
        (mmc.blank(mmc.BlankType.MINIMAL), h("A1 11 00 00 00 00 00 00 00 00 00 00")),
        (mmc.blank(mmc.BlankType.FULL, immed=False), h("A1 00 00 00 00 00 00 00 00 00 00 00")),
        (mmc.blank(mmc.BlankType.TRACK, address=3), h("A1 12 00 00 00 03 00 00 00 00 00 00")),
        # 3.13 MODE SENSE(10) page 05h DBD current, page 2Ah changeable; MODE SELECT PF=1
        (mmc.mode_sense10(0x05, 60), h("5A 08 05 00 00 00 00 00 3C 00")),
        (mmc.mode_sense10(0x2A, 8, mmc.PageControl.CHANGEABLE, dbd=False), h("5A 00 6A 00 00 00 00 00 08 00")),
        (mmc.mode_select10(60), h("55 10 00 00 00 00 00 00 3C 00")),
        # 3.14 WRITE(10) LBA -150, 16 blocks, FUA; WRITE(12) streaming
        (mmc.write10(-150, 16, fua=True), h("2A 08 FF FF FF 6A 00 00 10 00")),
        (mmc.write12(0x12345678, 0x20, streaming=True), h("AA 00 12 34 56 78 00 00 00 20 80 00")),
        (mmc.write_and_verify10(1, 2), h("2E 00 00 00 00 01 00 00 02 00")),
        # 3.29 SEND OPC INFORMATION DoOpc
        (mmc.send_opc_information(), h("54 01 00 00 00 00 00 00 00 00")),
        # 3.15 READ(10) / READ(12)
        (mmc.read10(16, 1), h("28 00 00 00 00 10 00 00 01 00")),
        (mmc.read12(0x01020304, 0x00010000), h("A8 00 01 02 03 04 00 01 00 00 00 00")),
        # 3.16 READ CD Mode 1, 24-bit length, full sector, formatted Q subchannel
        (mmc.read_cd(100, 0x010203, mmc.SectorType.MODE1, mmc.READ_CD_FULL_SECTOR, 2),
         h("BE 08 00 00 00 64 01 02 03 F8 02 00")),
        (mmc.read_cd(0, 1), h("BE 00 00 00 00 00 00 00 01 10 00 00")),
        # 3.17 SYNCHRONIZE CACHE Immed
        (mmc.synchronize_cache(), h("35 02 00 00 00 00 00 00 00 00")),
        (mmc.synchronize_cache(immed=False), h("35 00 00 00 00 00 00 00 00 00")),
        # 3.18 CLOSE TRACK (track 1) and CLOSE SESSION, Immed
        (mmc.close_track_session(mmc.CloseFunction.TRACK, 1), h("5B 01 01 00 00 01 00 00 00 00")),
        (mmc.close_track_session(mmc.CloseFunction.SESSION), h("5B 01 02 00 00 00 00 00 00 00")),
        (mmc.close_track_session(mmc.CloseFunction.FINALIZE, immed=False), h("5B 00 06 00 00 00 00 00 00 00")),
        # 3.19 RESERVE TRACK 380000 blocks in bytes 5-8
        (mmc.reserve_track(380000), h("53 00 00 00 00 00 05 CC 60 00")),
        # 3.20 SEND CUE SHEET, size in bytes 6-8
        (mmc.send_cue_sheet(24), h("5D 00 00 00 00 00 00 00 18 00")),
        # 3.21 SET CD SPEED: read max, write 4234 kB/s
        (mmc.set_cd_speed(0xFFFF, 4234), h("BB 00 FF FF 10 8A 00 00 00 00 00 00")),
        # 3.22 SET STREAMING type 0, 28 bytes
        (mmc.set_streaming(), h("B6 00 00 00 00 00 00 00 00 00 1C 00")),
        # 3.23 GET PERFORMANCE type 03h (no tolerance), type 00h (tolerance 10b, write)
        (mmc.get_performance(mmc.PerformanceType.WRITE_SPEED, 0), h("AC 00 00 00 00 00 00 00 00 00 03 00")),
        (mmc.get_performance(mmc.PerformanceType.PERFORMANCE, 20, write=True),
         h("AC 14 00 00 00 00 00 00 00 14 00 00")),
        # 3.24 READ BUFFER CAPACITY alloc 12
        (mmc.read_buffer_capacity(), h("5C 00 00 00 00 00 00 00 0C 00")),
        # 3.25 START STOP UNIT: 02h eject, 03h load, 01h spin up with Immed
        (mmc.start_stop_unit(start=False, load_eject=True), h("1B 00 00 00 02 00")),
        (mmc.start_stop_unit(start=True, load_eject=True), h("1B 00 00 00 03 00")),
        (mmc.start_stop_unit(start=True, load_eject=False, immed=True), h("1B 01 00 00 01 00")),
        # 3.26 PREVENT ALLOW: 01h prevent, 00h allow
        (mmc.prevent_allow_medium_removal(True), h("1E 00 00 00 01 00")),
        (mmc.prevent_allow_medium_removal(False), h("1E 00 00 00 00 00")),
        # 3.27 MECHANISM STATUS alloc in 8-9
        (mmc.mechanism_status(8), h("BD 00 00 00 00 00 00 00 00 08 00 00")),
        # 3.28 READ DISC STRUCTURE BD (media type 1), format 00h, layer 1
        (mmc.read_disc_structure(0x00, 2052, media_type=1, layer=1), h("AD 01 00 00 00 00 01 00 08 04 00 00")),
        (mmc.read_disc_structure(0xFF, 4), h("AD 00 00 00 00 00 00 FF 00 04 00 00")),
    ],
)
def test_cdb(built: bytes, expected: bytes) -> None:
    assert built == expected


def test_format_unit_parameters_dvd_plus_rw() -> None:
    # FOV + Immed, descriptor length 8, blocks FFFFFFFFh, type 26h, restart bit in byte 11
    built = mmc.format_unit_parameters(0xFFFFFFFF, 0x26, type_parameter=1)
    assert built == h("00 82 00 08 FF FF FF FF 98 00 00 01")


def test_format_unit_parameters_bd_re_quick_certification() -> None:
    # type 30h sub-type 11b; block length parameter 000800h; no Immed, DCRT set
    built = mmc.format_unit_parameters(12219392, 0x30, subtype=3, type_parameter=0x800,
                                       immed=False, fov=True, dcrt=True)
    assert built == h("00 A0 00 08 00 BA 74 00 C3 00 08 00")


def test_performance_descriptor() -> None:
    built = mmc.performance_descriptor(end_lba=2294920, read_kbps=11080, write_kbps=5540, exact=True)
    assert built == h(
        "02 00 00 00" "00 00 00 00" "00 23 04 88" "00 00 2B 48" "00 00 03 E8" "00 00 15 A4" "00 00 03 E8"
    )


def test_performance_descriptor_flags() -> None:
    built = mmc.performance_descriptor(0, 0, 0, wrc=2, restore_defaults=True, random_access=True)
    assert built[0] == 0x10 | 0x04 | 0x01


def test_cue_sheet_entries() -> None:
    entries = [
        mmc.CueEntry(ctl_adr=0x41, track=0, index=0, data_form=0x14, lba=-150),
        mmc.CueEntry(ctl_adr=0x41, track=1, index=1, data_form=0x10, lba=0),
        mmc.CueEntry(ctl_adr=0x41, track=0xAA, index=1, data_form=0x14, lba=1000),
    ]
    assert mmc.cue_sheet(entries) == h(
        "41 00 00 14 00 00 00 00" "41 01 01 10 00 00 02 00" "41 AA 01 14 00 00 0F 19"
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: mmc.read10(0, 0x10000),
        lambda: mmc.write10(1 << 31, 1),
        lambda: mmc.read_cd(0, 1 << 24),
        lambda: mmc.blank(8),  # type: ignore[arg-type]
        lambda: mmc.format_unit_parameters(0, 64),
        lambda: mmc.mode_sense10(0x40, 8),
        lambda: mmc.set_cd_speed(0x10000),
        lambda: mmc.inquiry(0x10000),
    ],
)
def test_builders_refuse_values_that_do_not_fit(call) -> None:
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize(
    ("msf", "lba"),
    [((0, 2, 0), 0), ((0, 0, 0), -150), ((1, 0, 0), 4350), ((79, 59, 74), 359849),
     ((89, 59, 74), 404849), ((90, 0, 0), -45150), ((99, 59, 74), -151), ((97, 26, 66), -11634)],
)
def test_msf_lba(msf: tuple[int, int, int], lba: int) -> None:
    assert mmc.msf_to_lba(*msf) == lba
    assert mmc.lba_to_msf(lba) == msf


@pytest.mark.parametrize("lba", [-45151, 404850])
def test_lba_without_msf(lba: int) -> None:
    with pytest.raises(ValueError):
        mmc.lba_to_msf(lba)


def test_msf_round_trip_whole_range() -> None:
    for lba in range(-45150, 404850, 997):
        assert mmc.msf_to_lba(*mmc.lba_to_msf(lba)) == lba


def test_command_names() -> None:
    assert mmc.command_name(h("2A 00 00 00 04 D2 00 00 10 00")) == "WRITE(10)"
    assert mmc.command_name(h("00 00 00 00 00 00")) == "TEST UNIT READY"
    assert mmc.command_name(h("C0")) == "opcode 0xC0"
    assert mmc.command_name(b"") == "empty CDB"
    assert mmc.command_lba(h("2A 00 00 00 04 D2 00 00 10 00")) == 1234
    assert mmc.command_lba(mmc.test_unit_ready()) is None
