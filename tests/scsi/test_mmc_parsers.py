"""Response parsers on hand-written answers laid out per the reference tables."""

from __future__ import annotations

import pytest

from burnd.scsi import mmc
from burnd.scsi.mmc import ParseError


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def pad(data: bytes, size: int) -> bytes:
    return data + bytes(size - len(data))


# ----------------------------------------------------------------------------- INQUIRY


def inquiry_bytes(ptype: int = 5) -> bytes:
    return (bytes([ptype, 0x80, 0x05, 0x02, 31, 0, 0, 0]) + b"BURNDTST" + b"VirtualBurner   " + b"1.00")


def test_inquiry() -> None:
    inq = mmc.parse_inquiry(inquiry_bytes())
    assert (inq.peripheral_type, inq.removable, inq.version, inq.response_format) == (5, True, 5, 2)
    assert (inq.vendor, inq.product, inq.revision) == ("BURNDTST", "VirtualBurner", "1.00")


def test_inquiry_truncated_reports_what_fits() -> None:
    inq = mmc.parse_inquiry(inquiry_bytes(0x00)[:20])
    assert inq.peripheral_type == 0
    assert inq.vendor == "BURNDTST"
    assert inq.product == "Virt"
    assert inq.revision == ""


def test_inquiry_qualifier_and_type() -> None:
    assert mmc.parse_inquiry(h("65 00 00 00 00")).qualifier == 3
    assert mmc.parse_inquiry(h("65 00 00 00 00")).peripheral_type == 5


def test_inquiry_too_short() -> None:
    with pytest.raises(ParseError):
        mmc.parse_inquiry(h("05 80 05"))


def test_unit_serial() -> None:
    assert mmc.parse_unit_serial(h("05 80 00 06") + b"  SN42") == "SN42"
    with pytest.raises(ParseError):
        mmc.parse_unit_serial(h("05 83 00 00"))


# ----------------------------------------------------------------------------- GESN


def test_gesn_new_media_both_length_conventions() -> None:
    for length in (4, 6):
        ev = mmc.parse_event_status(bytes([0, length, 0x04, 0x10, 0x02, 0x02, 0, 0]))
        assert not ev.no_event
        assert ev.notification_class == 4
        assert ev.supported_classes == 0x10
        assert ev.media == mmc.MediaEvent(code=2, tray_open=False, media_present=True, start_slot=0, end_slot=0)


def test_gesn_no_event_and_tray_open() -> None:
    assert mmc.parse_event_status(h("00 02 80 10")).no_event
    assert mmc.parse_event_status(h("00 02 80 10")).media is None
    ev = mmc.parse_event_status(h("00 04 04 10 03 01 00 00"))
    assert ev.media is not None and ev.media.tray_open and not ev.media.media_present
    assert ev.media.code == mmc.MediaEventCode.MEDIA_REMOVAL


# ----------------------------------------------------------------------------- disc information


def test_disc_information_blank_dvd_plus_r() -> None:
    data = pad(h("00 20 00 01 01 01 01 00 00 00 00 00"), 34)
    disc = mmc.parse_disc_information(data)
    assert disc.disc_status == mmc.DiscStatus.BLANK
    assert disc.last_session_state == mmc.SessionState.EMPTY
    assert (disc.first_track, disc.sessions, disc.first_track_last_session, disc.last_track_last_session) == (1, 1, 1, 1)
    assert disc.complete_sessions == 0
    assert disc.opc_tables == 0


def test_disc_information_appendable_cd_rw_with_msf_addresses() -> None:
    # status appendable (1), last session incomplete (1<<2), erasable; 2 sessions, tracks 3..3
    data = bytearray(34)
    data[0:12] = h("00 20 15 01 02 03 03 00 00 00 00 00")
    data[16:20] = h("00 61 1A 42")  # lead-in 97:26:66
    data[20:24] = h("00 4F 3B 47")  # 79:59:71
    disc = mmc.parse_disc_information(bytes(data), cd=True)
    assert disc.disc_status == mmc.DiscStatus.APPENDABLE
    assert disc.last_session_state == mmc.SessionState.INCOMPLETE
    assert disc.erasable
    assert disc.sessions == 2 and disc.complete_sessions == 1
    assert disc.last_session_lead_in == -11634
    assert disc.last_possible_lead_out == 359846


def test_disc_information_msbs_and_lba_addresses() -> None:
    data = bytearray(34)
    data[0:12] = h("00 20 0E 01 02 03 04 81 20 01 01 01")
    data[12:16] = h("DE AD BE EF")
    data[20:24] = h("00 23 05 40")
    data[33] = 2
    disc = mmc.parse_disc_information(bytes(data))
    assert disc.disc_status == mmc.DiscStatus.COMPLETE
    assert disc.last_session_state == mmc.SessionState.COMPLETE
    assert (disc.sessions, disc.first_track_last_session, disc.last_track_last_session) == (0x102, 0x103, 0x104)
    assert disc.bg_format_status == 1
    assert disc.disc_id == 0xDEADBEEF
    assert disc.disc_type == 0x20
    assert disc.last_possible_lead_out == 0x230540
    assert disc.opc_tables == 2


def test_disc_information_truncated_but_consistent() -> None:
    disc = mmc.parse_disc_information(h("00 20 02 01 01 01 01 00 00 00 00 00"))
    assert disc.last_possible_lead_out is None and disc.disc_status == mmc.DiscStatus.COMPLETE


@pytest.mark.parametrize("data", [h("00 02 00 01"), h("00 20 00 01 01"), b"\x00"])
def test_disc_information_inconsistent(data: bytes) -> None:
    with pytest.raises(ParseError):
        mmc.parse_disc_information(data)


# ----------------------------------------------------------------------------- track information


def track_info(**fields: int) -> bytes:
    data = bytearray(48)
    data[0:2] = (46).to_bytes(2, "big")
    data[2], data[3] = 1, 1
    data[5] = fields.get("b5", 0x04)
    data[6] = fields.get("b6", 0x4F)
    data[7] = fields.get("b7", 0x01)
    data[8:12] = fields.get("start", 0).to_bytes(4, "big", signed=True)
    data[12:16] = fields.get("nwa", 0).to_bytes(4, "big", signed=True)
    data[16:20] = fields.get("free", 2295104).to_bytes(4, "big")
    data[20:24] = (16).to_bytes(4, "big")
    data[24:28] = fields.get("size", 2295104).to_bytes(4, "big")
    data[28:32] = fields.get("lra", 0).to_bytes(4, "big", signed=True)
    data[32], data[33] = fields.get("tmsb", 0), fields.get("smsb", 0)
    return bytes(data)


def test_track_information_blank_invisible_track() -> None:
    t = mmc.parse_track_information(track_info())
    assert (t.track, t.session, t.track_mode, t.data_mode) == (1, 1, 4, 15)
    assert t.blank and not t.damaged and not t.packet
    assert (t.start, t.next_writable, t.free_blocks, t.packet_size, t.size) == (0, 0, 2295104, 16, 2295104)
    assert t.last_recorded is None


def test_track_information_flags_msbs_negative_nwa() -> None:
    t = mmc.parse_track_information(track_info(b5=0x35, b6=0xA1, b7=0x03, start=-150, nwa=-150,
                                               lra=999, tmsb=1, smsb=2))
    assert t.copy and t.damaged and t.track_mode == 5
    assert t.reserved and t.packet and t.fixed_packet is False and not t.blank and t.data_mode == 1
    assert t.next_writable == -150 and t.start == -150
    assert t.last_recorded == 999
    assert (t.track, t.session) == (0x101, 0x201)


def test_track_information_no_nwa() -> None:
    assert mmc.parse_track_information(track_info(b7=0)).next_writable is None


def test_track_information_truncated_28_bytes() -> None:
    t = mmc.parse_track_information(track_info()[:28])
    assert t.size == 2295104 and t.last_recorded is None


def test_track_information_too_short() -> None:
    with pytest.raises(ParseError):
        mmc.parse_track_information(track_info()[:27])


# ----------------------------------------------------------------------------- TOC


def test_toc_format0_lba() -> None:
    data = h("00 1A 01 02" "00 14 01 00 00 00 00 00" "00 10 02 00 00 00 10 00" "00 14 AA 00 00 01 00 00")
    toc = mmc.parse_toc(data)
    assert (toc.first, toc.last) == (1, 2)
    assert [e.track for e in toc.entries] == [1, 2, 0xAA]
    assert [e.start for e in toc.entries] == [0, 4096, 65536]
    assert toc.entries[0].is_data and not toc.entries[1].is_data and toc.entries[2].is_lead_out
    assert toc.entries[0].adr == 1 and toc.entries[1].control == 0


def test_toc_format0_msf() -> None:
    toc = mmc.parse_toc(h("00 0A 01 01" "00 14 01 00 00 00 02 00"), msf=True)
    assert toc.entries[0].start == 0


def test_toc_truncated_reports_whole_descriptors() -> None:
    data = h("00 1A 01 02" "00 14 01 00 00 00 00 00" "00 10 02 00 00 00")
    assert len(mmc.parse_toc(data).entries) == 1


def test_toc_bad_length() -> None:
    with pytest.raises(ParseError):
        mmc.parse_toc(h("00 0B 01 01" "00 14 01 00 00 00 00 00 00"))


def test_session_info_qemu_shape() -> None:
    info = mmc.parse_session_info(h("00 0A 01 01 00 14 01 00 00 00 00 00"))
    assert (info.first_session, info.last_session, info.first_track_last_session, info.last_session_start) == (1, 1, 1, 0)


def test_raw_toc() -> None:
    data = (h("00 18 01 01")
            + h("01 14 00 A0 00 00 00 00 01 00 00")
            + h("01 14 00 B0 03 00 00 00 FF FF FF"))
    raw = mmc.parse_raw_toc(data)
    assert (raw.first_session, raw.last_session) == (1, 1)
    assert [e.point for e in raw.entries] == [0xA0, 0xB0]
    assert raw.entries[0].pmsf == (1, 0, 0)
    assert raw.entries[1].msf == (3, 0, 0) and raw.entries[1].pmsf == (0xFF, 0xFF, 0xFF)
    assert raw.entries[0].adr == 1 and raw.entries[0].control == 4


def test_atip_cd_rw() -> None:
    data = h("00 1A 00 00" "45 40 40 00" "61 1A 42 00" "4F 3B 47 00") + bytes(12)
    atip = mmc.parse_atip(data)
    assert atip.rewritable and atip.unrestricted_use
    assert (atip.writing_power, atip.reference_speed) == (4, 5)
    assert atip.lead_in_start == -11634
    assert atip.last_lead_out_start == 359846


def test_atip_bad_msf() -> None:
    with pytest.raises(ParseError):
        mmc.parse_atip(h("00 1A 00 00" "45 40 40 00" "61 3C 42 00" "4F 3B 47 00"))


# ----------------------------------------------------------------------------- capacities


def test_read_capacity() -> None:
    cap = mmc.parse_read_capacity(h("00 23 05 3F 00 00 08 00"))
    assert (cap.last_lba, cap.block_length, cap.blocks) == (0x23053F, 2048, 0x230540)
    with pytest.raises(ParseError):
        mmc.parse_read_capacity(h("00 23 05 3F 00 00 08"))


def test_format_capacities_bd_re() -> None:
    data = (h("00 00 00 20")
            + h("00 BA 74 00 02 00 08 00")
            + h("00 B8 E8 00 C0 00 30 00")
            + h("00 B4 00 00 C0 00 30 00")
            + h("00 BC 80 00 C4 00 08 00"))
    fc = mmc.parse_format_capacities(data)
    assert fc.blocks == 12219392 and fc.descriptor_type == mmc.CapacityType.FORMATTED
    assert fc.block_length == 2048
    assert [d.format_type for d in fc.formattable] == [0x30, 0x30, 0x31]
    assert fc.formattable[0].type_parameter == 0x3000


def test_format_capacities_truncated_and_bad() -> None:
    fc = mmc.parse_format_capacities(h("00 00 00 10" "00 23 05 40 01 00 08 00" "00 23"))
    assert fc.descriptor_type == mmc.CapacityType.UNFORMATTED and fc.formattable == ()
    with pytest.raises(ParseError):
        mmc.parse_format_capacities(h("00 00 00 0C" + "00" * 12))
    with pytest.raises(ParseError):
        mmc.parse_format_capacities(h("00 00 00 08 00 23"))


# ----------------------------------------------------------------------------- mode pages


def page05() -> bytes:
    page = bytearray(52)
    page[0], page[1] = 0x85, 0x32  # PS set as a drive reports it
    page[2] = 0x40 | 0x20 | 0x10 | 0x00
    page[3] = 0xC0 | 0x20 | 0x05
    page[4] = 0x08
    page[5] = 16
    page[7] = 0x3F
    page[8] = 0x20
    page[10:14] = (16).to_bytes(4, "big")
    page[14:16] = (150).to_bytes(2, "big")
    page[16] = 0x80
    return bytes(page)


def mode_response(page: bytes, block_descriptor: bytes = b"") -> bytes:
    total = 8 + len(block_descriptor) + len(page)
    header = (total - 2).to_bytes(2, "big") + bytes(4) + len(block_descriptor).to_bytes(2, "big")
    return header + block_descriptor + page


def test_mode_page_05_parse() -> None:
    page = mmc.parse_mode_page(mode_response(page05()), 0x05)
    wp = mmc.parse_write_parameters(page)
    assert wp.bufe and wp.ls_valid and wp.test_write and wp.write_type == mmc.WriteType.PACKET
    assert wp.multi_session == mmc.MultiSession.OPEN and wp.fixed_packet and wp.track_mode == 5
    assert (wp.data_block_type, wp.link_size, wp.host_application_code, wp.session_format) == (8, 16, 0x3F, 0x20)
    assert (wp.packet_size, wp.audio_pause) == (16, 150)


def test_mode_page_skips_block_descriptors() -> None:
    page = mmc.parse_mode_page(mode_response(page05(), bytes(8)), 0x05)
    assert page == page05()


def test_mode_page_wrong_page() -> None:
    with pytest.raises(ParseError):
        mmc.parse_mode_page(mode_response(page05()), 0x2A)


def test_write_parameters_page_edit_and_select_list() -> None:
    original = page05()
    new = mmc.WriteParameters(bufe=True, ls_valid=False, test_write=False, write_type=mmc.WriteType.SAO,
                              multi_session=mmc.MultiSession.FINAL, fixed_packet=False, copy=False,
                              track_mode=5, data_block_type=8, link_size=0, host_application_code=0,
                              session_format=0, packet_size=0, audio_pause=150)
    edited = mmc.write_parameters_page(original, new)
    assert edited[0] == 0x05  # PS cleared
    assert edited[1] == 0x32 and len(edited) == 52
    assert edited[2:6] == h("42 05 08 00")
    assert edited[10:16] == h("00 00 00 00 00 96")
    assert edited[16] == 0x80  # MCN byte kept
    assert mmc.parse_write_parameters(edited) == new
    param_list = mmc.mode_select_parameters(edited)
    assert param_list[:8] == bytes(8) and param_list[8:] == edited


def test_mode_select_parameters_refuses_incomplete_page() -> None:
    with pytest.raises(ValueError):
        mmc.mode_select_parameters(page05()[:40])


def capabilities_page(speeds: list[int]) -> bytes:
    page = bytearray(32 + 4 * len(speeds))
    page[0], page[1] = 0x2A, len(page) - 2
    page[2], page[3] = 0x3F, 0x37
    page[4] = 0xC0
    page[6] = 0x29
    page[8:10] = (7040).to_bytes(2, "big")
    page[12:14] = (2048).to_bytes(2, "big")
    page[18:20] = (7056).to_bytes(2, "big")
    page[28:30] = (5645).to_bytes(2, "big")
    page[30:32] = len(speeds).to_bytes(2, "big")
    for i, s in enumerate(speeds):
        page[32 + 4 * i + 1] = 1
        page[32 + 4 * i + 2 : 32 + 4 * i + 4] = s.to_bytes(2, "big")
    return bytes(page)


def test_capabilities_with_speed_descriptors() -> None:
    caps = mmc.parse_capabilities(mmc.parse_mode_page(mode_response(capabilities_page([7056, 5645])), 0x2A))
    assert caps.writes_cd_r and caps.writes_dvd_r
    assert caps.buffer_underrun_free and caps.multi_session
    assert caps.loading_mechanism == 1 and caps.can_eject and caps.can_lock and not caps.locked
    assert (caps.max_read_kbps, caps.buffer_kib, caps.max_write_kbps, caps.current_write_kbps) == (7040, 2048, 7056, 5645)
    assert [d.kbps for d in caps.write_speeds] == [7056, 5645]
    assert caps.write_speeds[0].rotation_control == 1


def test_capabilities_short_qemu_page() -> None:
    page = capabilities_page([])[:22]
    page = bytes([0x2A, 20]) + page[2:]
    caps = mmc.parse_capabilities(page)
    assert caps.write_speeds == () and caps.current_write_kbps == 0
    assert caps.max_write_kbps == 7056


# ----------------------------------------------------------------------------- performance etc.


def test_write_speeds_type3() -> None:
    data = (h("00 00 00 24 00 00 00 00")
            + h("10 00 00 00 00 23 05 3F 00 00 2B 48 00 00 2B 48")
            + h("02 00 00 00 00 23 05 3F 00 00 2B 48 00 00 15 A4"))
    speeds = mmc.parse_write_speeds(data)
    assert [s.write_kbps for s in speeds] == [11080, 5540]
    assert speeds[0].wrc == 2 and speeds[1].exact and speeds[0].end_lba == 0x23053F
    assert mmc.performance_descriptor_count(data[:8]) == 2


def test_performance_type0() -> None:
    data = h("00 00 00 14 00 00 00 00" "00 00 00 00 00 00 15 A4 00 23 05 3F 00 00 3A 98")
    (p,) = mmc.parse_performance(data)
    assert (p.start_lba, p.start_kbps, p.end_lba, p.end_kbps) == (0, 5540, 0x23053F, 15000)


def test_buffer_capacity() -> None:
    buf = mmc.parse_buffer_capacity(h("00 0A 00 00 00 20 00 00 00 08 00 00"))
    assert (buf.length, buf.available) == (0x200000, 0x080000)
    assert buf.fill == 0.75
    assert mmc.parse_buffer_capacity(h("00 0A 00 00 00 00 00 10 00 00 00 20")).fill == 0.5


def test_mechanism_status() -> None:
    m = mmc.parse_mechanism_status(h("80 30 00 00 00 01 00 00"))
    assert m.fault and m.door_open and m.mechanism_state == 1 and m.slots == 1


def test_disc_structure_book_type() -> None:
    ds = mmc.parse_disc_structure(h("08 02 00 00 A1 0F"))
    assert ds.book_type == 0xA and ds.payload[:2] == h("A1 0F")
