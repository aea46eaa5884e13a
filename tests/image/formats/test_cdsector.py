"""EDC/ECC against the ECM encoder, MSF helpers, and the strided view's error accounting."""

from __future__ import annotations

import os
import random

import pytest

from burnd.errors import BadImage
from burnd.image import cdsector as cd
from burnd.image.source import SectorErrors


def test_msf_round_trip_and_parse():
    assert cd.frames_to_msf(150) == (0, 2, 0)
    assert cd.parse_msf("01:02:03") == (62 * 75) + 3
    assert cd.format_msf(cd.parse_msf("79:59:74")) == "79:59:74"
    for bad in ("1:2", "00:60:00", "00:00:75", "aa:bb:cc"):
        with pytest.raises(ValueError):
            cd.parse_msf(bad)
    assert [cd.from_bcd(cd.to_bcd(n)) for n in (0, 9, 10, 99)] == [0, 9, 10, 99]


def test_accelerated_edc_matches_pure_python():
    rng = random.Random(5)
    for length in (0, 1, 2064, 2332):
        data = rng.randbytes(length)
        assert cd.edc(data) == cd.edc_python(data)


def test_mode1_sector_layout():
    data = bytes(range(256)) * 8
    sector = cd.mode1_sector(0, data)
    assert len(sector) == 2352
    assert sector[:12] == cd.SYNC
    assert sector[12:16] == b"\x00\x02\x00\x01"  # LBA 0 = MSF 00:02:00, BCD, mode 1
    assert sector[16:2064] == data
    assert int.from_bytes(sector[2064:2068], "little") == cd.edc_python(sector[:2064])
    assert sector[2068:2076] == bytes(8)


def test_form1_ecc_ignores_header_and_form2_has_no_ecc():
    data = os.urandom(2048)
    a, b = cd.mode2_form1_sector(0, data), cd.mode2_form1_sector(1000, data)
    assert a[16:] == b[16:]  # header is not protected by Form 1 ECC
    form2 = cd.mode2_form2_sector(3, bytes(2324))
    assert len(form2) == 2352 and form2[18] & cd.SUBMODE_FORM2


def test_ecc_accepted_by_ecm_encoder(tmp_path):
    """ECM strips a sector only when it can regenerate sync, header, EDC and ECC exactly, so
    an ECM file about the size of the payload proves our EDC/ECC are right (reference §1.2)."""
    pyecm = pytest.importorskip("pyecm", reason="PyPI pyecm-tools is not installed")
    rng = random.Random(7)
    payload = [rng.randbytes(2048) for _ in range(40)]
    cases = {
        "m1": (b"".join(cd.mode1_sector(i, p) for i, p in enumerate(payload)), 40 * (2048 + 16)),
        "f1": (b"".join(cd.mode2_form1_sector(i, p) for i, p in enumerate(payload)), 40 * (2052 + 16)),
        "f2": (b"".join(cd.mode2_form2_sector(i, (p * 2)[:2324]) for i, p in enumerate(payload)), 40 * (2328 + 16)),
    }
    for name, (raw, ceiling) in cases.items():
        src, dst, back = tmp_path / f"{name}.bin", tmp_path / f"{name}.ecm", tmp_path / f"{name}.out"
        src.write_bytes(raw)
        pyecm.encode(str(src), str(dst))
        assert dst.stat().st_size < ceiling + 512, name  # ECC/EDC were all regenerable
        pyecm.decode(str(dst), str(back))
        assert back.read_bytes() == raw


def _view(tmp_path, raw: bytes, layout: cd.SectorLayout, first_lba: int = 0) -> cd.RawView:
    path = tmp_path / "raw.bin"
    path.write_bytes(raw)
    fd = os.open(path, os.O_RDONLY)
    return cd.RawView(fd, 0, len(raw) // layout.stride, layout, first_lba=first_lba)


def test_raw_view_counts_edc_failures_by_lba(tmp_path):
    payload = [bytes([i]) * 2048 for i in range(20)]
    raw = bytearray(b"".join(cd.mode1_sector(100 + i, p) for i, p in enumerate(payload)))
    for bad in (3, 17):
        raw[bad * 2352 + 500] ^= 0xFF
    view = _view(tmp_path, bytes(raw), cd.MODE1_RAW, first_lba=100)
    out = bytearray(20 * 2048)
    assert view.readinto(0, out) == len(out)
    assert view.errors.count == 2 and view.errors.first_lbas == [103, 117]
    assert out[4 * 2048 : 5 * 2048] == payload[4]


def test_raw_view_mode2_2336_counts_form2(tmp_path):
    sectors = [cd.mode2_form1_sector(i, bytes([i]) * 2048) for i in range(6)]
    sectors[2] = cd.mode2_form2_sector(2, b"\x07" * 2324)
    raw = b"".join(s[16:] for s in sectors)
    view = _view(tmp_path, raw, cd.MODE2_2336)
    out = bytearray(6 * 2048)
    view.readinto(0, out)
    assert view.form2.count == 1 and view.form2.first_lbas == [2]
    assert view.errors.count == 0
    assert out[5 * 2048 : 6 * 2048] == b"\x05" * 2048


def test_raw_view_rejects_reads_past_the_end_and_truncation(tmp_path):
    raw = b"".join(cd.mode1_sector(i, bytes(2048)) for i in range(3))
    view = _view(tmp_path, raw, cd.MODE1_RAW)
    with pytest.raises(BadImage):
        view.readinto(2, bytearray(4096))
    view.sectors = 5  # a descriptor that lies about the length
    with pytest.raises(BadImage, match="truncated"):
        view.readinto(3, bytearray(2048))


def test_sector_errors_keeps_only_the_first():
    errors = SectorErrors(keep=2)
    for lba in range(5):
        errors.record(lba)
    assert errors.count == 5 and errors.first_lbas == [0, 1]
