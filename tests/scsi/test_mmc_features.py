"""GET CONFIGURATION parsing: framing, every decoded feature, and the profile table."""

from __future__ import annotations

import pytest

from burnd.scsi import features as F
from burnd.scsi.mmc import ParseError
from burnd.scsi.profiles import PROFILE_NAMES, Profile, profile_name


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def descriptor(code: int, flags: int, payload: bytes) -> bytes:
    return code.to_bytes(2, "big") + bytes([flags, len(payload)]) + payload


def response(current: int, *descriptors: bytes) -> bytes:
    body = b"".join(descriptors)
    return (len(body) + 4).to_bytes(4, "big") + bytes(2) + current.to_bytes(2, "big") + body


PROFILE_LIST = descriptor(0x0000, 0x03, h("001B0100" "001A0000" "00090000" "00410000"))


def test_header_and_profile_list() -> None:
    config = F.parse_configuration(response(0x1B, PROFILE_LIST))
    assert config.current_profile == 0x1B and not config.truncated
    profiles = config.profiles()
    assert [p.code for p in profiles] == [0x1B, 0x1A, 0x09, 0x41]
    assert [p.current for p in profiles] == [True, False, False, False]
    assert profiles[0].name == "DVD+R"
    feature = config.feature(0x0000)
    assert feature is not None and feature.current and feature.persistent and feature.name == "Profile List"


def test_header_current_profile_marks_missing_currentp() -> None:
    config = F.parse_configuration(response(0x1A, descriptor(0, 0x03, h("001B0000" "001A0000"))))
    assert [p.current for p in config.profiles()] == [False, True]


def test_no_profile_list_uses_header() -> None:
    assert F.parse_configuration(response(0x08)).profiles() == (Profile(0x08, True),)
    assert F.parse_configuration(response(0)).profiles() == ()


@pytest.mark.parametrize(
    ("code", "payload", "expected"),
    [
        (0x0001, h("00000002 01000000"), F.Core(physical_interface=2)),
        (0x0003, h("29 000000"), F.RemovableMedium(loading_mechanism=1, eject=True, prevent_jumper=False, lock=True)),
        (0x0020, h("0023053F 00000800 0010 01 00"), F.RandomWritable(0x23053F, 2048, 16, True)),
        (0x0021, h("0001 01 02 01 10 0000"), F.IncrementalStreaming(data_block_types=1, buf=True, link_sizes=(1, 16))),
        (0x0023, h("0B000000 01000000"), F.Formattable(cert=True, qcert=True, expand=False, renosa=True, rrm=True)),
        (0x0023, h("04000000"), F.Formattable(cert=False, qcert=False, expand=True, renosa=False, rrm=False)),
        (0x0024, h("80000000"), F.DefectManagement(spare_area_info=True)),
        (0x0025, h("00000800 0010 01 00"), F.WriteOnce(block_size=2048, blocking=16, page_present=True)),
        (0x002D, h("46 00 3F FF"), F.CdTrackAtOnce(buf=True, rw_raw=False, rw_pack=False, test_write=True,
                                                   cd_rw=True, rw_subcode=False, data_types=0x3FFF)),
        (0x002E, h("66 00 10 00"), F.CdMastering(buf=True, sao=True, raw_ms=False, raw=False, test_write=True,
                                                 cd_rw=True, rw=False, max_cue_sheet=0x1000)),
        (0x002F, h("4E 000000"), F.DvdMinusRWrite(buf=True, dual_layer=True, test_write=True, dvd_rw=True)),
        (0x002A, h("01 03 0000"), F.DvdPlusRw(write=True, quick_start=True, close_only=True)),
        (0x002B, h("01 000000"), F.DvdPlusR(write=True)),
        (0x0041, h("00000000" "0001000200030004" "0005000600070008"),
         F.BdClasses(bd_re=(1, 2, 3, 4), bd_r=(5, 6, 7, 8))),
        (0x0040, h("00000000" "0001000000000000" "0002000000000000" "0004000000000000"),
         F.BdClasses(bd_re=(1, 0, 0, 0), bd_r=(2, 0, 0, 0), bd_rom=(4, 0, 0, 0))),
        (0x0107, h("1E 000000"), F.RealTimeStreaming(read_buffer_capacity_block=True, set_cd_speed=True,
                                                     mode_page_2a_speeds=True, write_speed_performance=True,
                                                     streaming_writes=False)),
        (0x0108, b"SN0001  ", F.SerialNumber("SN0001")),
    ],
)
def test_decoded_features(code: int, payload: bytes, expected: object) -> None:
    config = F.parse_configuration(response(0x1B, PROFILE_LIST, descriptor(code, 0x09, payload)))
    feature = config.feature(code)
    assert feature is not None
    assert feature.detail == expected
    assert feature.version == 2 and feature.current and not feature.persistent
    assert feature.data == payload


def test_short_known_feature_keeps_raw_bytes() -> None:
    config = F.parse_configuration(response(0, descriptor(0x0020, 1, h("0000"))))
    feature = config.feature(0x0020)
    assert feature is not None and feature.detail is None and feature.data == h("0000")


def test_unknown_feature_is_kept_generically() -> None:
    config = F.parse_configuration(response(0, descriptor(0xFF00, 0x01, h("AABB"))))
    (feature,) = config.features
    assert feature.name == "feature FF00h" and feature.detail is None and feature.data == h("AABB")


def test_truncated_response_reports_what_fits() -> None:
    full = response(0x1B, PROFILE_LIST, descriptor(0x0107, 1, h("02000000")))
    config = F.parse_configuration(full[: len(full) - 2])
    assert config.truncated
    assert [f.code for f in config.features] == [0x0000]
    header_only = F.parse_configuration(full[:8])
    assert header_only.truncated and header_only.current_profile == 0x1B and header_only.features == ()
    assert F.configuration_length(full[:8]) == len(full)


@pytest.mark.parametrize(
    "data",
    [
        h("00 00 00 02 00 00 00 1B"),  # data length smaller than the header
        h("00 00 00 04 00 00"),  # header cut short
        response(0, descriptor(0, 0x03, h("001B01"))),  # profile list not a multiple of 4
        h("00 00 00 07 00 00 00 1B 00 01 00"),  # 3 declared bytes after the header: no descriptor
    ],
)
def test_inconsistent(data: bytes) -> None:
    with pytest.raises(ParseError):
        F.parse_configuration(data)


def test_descriptor_past_declared_length() -> None:
    body = descriptor(0x0107, 1, h("02000000"))
    data = (4 + len(body) - 2).to_bytes(4, "big") + h("0000 001B") + body
    with pytest.raises(ParseError):
        F.parse_configuration(data)


def test_profile_table_is_complete() -> None:
    reference = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0A, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
                 0x16, 0x17, 0x18, 0x1A, 0x1B, 0x20, 0x21, 0x22, 0x2A, 0x2B, 0x40, 0x41, 0x42, 0x43, 0x50,
                 0x51, 0x52, 0x53, 0x58, 0x5A, 0xFFFF]
    assert sorted(PROFILE_NAMES) == reference
    assert profile_name(0x43) == "BD-RE" and profile_name(0x14) == "DVD-RW sequential"
    assert profile_name(0x99) == "unknown profile 0099h"


def test_profile_families() -> None:
    assert Profile(0x09).is_cd and Profile(0x1B).is_dvd and Profile(0x43).is_bd
    assert Profile(0x1A).overwritable and Profile(0x43).overwritable and not Profile(0x1B).overwritable
    assert Profile(0x08).read_only and not Profile(0x09).read_only
    assert str(Profile(0x1B, True)) == "DVD+R (001Bh)"
