"""PDI, cooked and raw: cross-checked with iat, and the cooked one's loop-able slice."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from burnd.errors import BadImage
from burnd.image.formats import pdi
from burnd.image.source import TrackMode
from tests.fixtures.compressed import read_all, write_pdi


@pytest.mark.parametrize("raw", [False, True], ids=["2048", "2352"])
def test_round_trip(iso, tmp_path, raw):
    path = write_pdi(iso, tmp_path / "x.pdi", raw=raw)
    with open(path, "rb") as f:
        assert pdi.probe(f, path.stat().st_size)
    with pdi.open_image(str(path)) as image:
        (track,) = image.tracks
        assert track.mode is (TrackMode.MODE1 if raw else TrackMode.DATA)
        assert track.sector_size == (2352 if raw else 2048)
        assert read_all(image) == iso
        assert image.data_view().errors.count == 0


def test_cooked_plain_slice_is_the_iso(iso, tmp_path):
    path = write_pdi(iso, tmp_path / "x.pdi")
    with pdi.open_image(str(path)) as image:
        plain = image.plain_slice()
    assert plain is not None and (plain.offset, plain.size) == (304, len(iso))
    assert path.read_bytes()[plain.offset : plain.offset + plain.size] == iso
    raw = write_pdi(iso, tmp_path / "y.pdi", raw=True)
    with pdi.open_image(str(raw)) as image:
        assert image.plain_slice() is None


def test_raw_edc_errors_are_counted(iso, tmp_path):
    path = write_pdi(iso, tmp_path / "x.pdi", raw=True)
    data = bytearray(path.read_bytes())
    data[304 + 5 * 2352 + 100] ^= 0xFF
    path.write_bytes(data)
    with pdi.open_image(str(path)) as image:
        read_all(image)
        assert image.data_view().errors.first_lbas == [5]


@pytest.mark.skipif(shutil.which("iat") is None, reason="iat not installed (apt: iat)")
@pytest.mark.parametrize("raw", [False, True], ids=["2048", "2352"])
def test_iat_agrees(iso, tmp_path, raw):
    path = write_pdi(iso, tmp_path / "x.pdi", raw=raw)
    out = tmp_path / "out.iso"
    subprocess.run(["iat", str(path), str(out)], capture_output=True, check=True, timeout=60)
    with pdi.open_image(str(path)) as image:
        assert out.read_bytes() == read_all(image)


def test_header_only_file(tmp_path):
    path = write_pdi(b"", tmp_path / "x.pdi")
    with pytest.raises(BadImage, match="no whole sector"):
        pdi.open_image(str(path))
