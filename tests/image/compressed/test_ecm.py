"""ECM: decoding streams made by Neill Corlett's encoder (PyPI pyecm-tools), bit-exact against
the original .bin and against its own decoder."""

from __future__ import annotations

import pytest

from burnd.errors import BadImage
from burnd.image.cdsector import mode1_sector, mode2_form1_sector, mode2_form2_sector
from burnd.image.formats import ecm
from burnd.image.source import TrackMode
from tests.fixtures.compressed import chunks, read_all

pyecm = pytest.importorskip("pyecm", reason="pyecm-tools not installed in the venv (pip install pyecm-tools)")


def mode1_bin(iso):
    return b"".join(mode1_sector(i, s) for i, s in enumerate(chunks(iso, 2048)))


def mixed_mode2_bin(iso):
    """Form 1 sectors with every seventh one Form 2, as on a VCD or a PSX disc."""
    sectors = [
        mode2_form2_sector(i, (s * 2)[:2324]) if i % 7 == 3 else mode2_form1_sector(i, s)
        for i, s in enumerate(chunks(iso, 2048))
    ]
    return b"".join(sectors)


def encode(tmp_path, data, name="x"):
    source = tmp_path / f"{name}.bin"
    source.write_bytes(data)
    target = tmp_path / f"{name}.ecm"
    pyecm.encode(str(source), str(target))
    return target


def test_mode1_round_trip(iso, tmp_path, capfd):
    raw = mode1_bin(iso)
    path = encode(tmp_path, raw)
    assert path.stat().st_size < len(iso) + 5000  # the encoder really stripped the sectors
    with open(path, "rb") as f:
        assert ecm.probe(f, path.stat().st_size)
    with ecm.open_image(str(path), tmpdir=str(tmp_path)) as image:
        (track,) = image.tracks
        assert (track.mode, track.sector_size, track.sectors) == (TrackMode.MODE1, 2352, len(iso) // 2048)
        assert read_all(image) == iso
        assert image.data_view().errors.count == 0
        assert image.plain_slice() is None


def test_mode2_mixed_decodes_bit_exact(iso, tmp_path, capfd):
    raw = mixed_mode2_bin(iso)
    path = encode(tmp_path, raw)
    out = tmp_path / "ours.bin"
    with open(path, "rb") as f, open(out, "wb") as o:
        ecm.decode(f, o, str(path))
    assert out.read_bytes() == raw
    theirs = tmp_path / "theirs.bin"
    pyecm.decode(str(path), str(theirs))
    assert theirs.read_bytes() == raw
    with ecm.open_image(str(path)) as image:
        assert image.tracks[0].mode is TrackMode.MODE2_MIXED
        read_all(image)
        assert image.data_view().form2.count == len(range(3, len(iso) // 2048, 7))


def test_ecm_of_an_iso_is_cooked(iso, tmp_path, capfd):
    path = encode(tmp_path, iso)
    with ecm.open_image(str(path)) as image:
        assert image.tracks[0].mode is TrackMode.DATA
        assert read_all(image) == iso


def test_checksum_mismatch(iso, tmp_path, capfd):
    path = encode(tmp_path, mode1_bin(iso))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(data)
    with ecm.open_image(str(path)) as image:
        with pytest.raises(BadImage, match="checksum"):
            image.data_view()


def test_corrupted_payload_fails_the_checksum(iso, tmp_path, capfd):
    path = encode(tmp_path, mode1_bin(iso))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(data)
    with pytest.raises(BadImage):
        with ecm.open_image(str(path)) as image:
            image.data_view()


def test_truncated_stream_is_found_at_open(iso, tmp_path, capfd):
    path = encode(tmp_path, mode1_bin(iso))
    path.write_bytes(path.read_bytes()[:-3000])
    with pytest.raises(BadImage, match="truncated"):
        ecm.open_image(str(path))


def test_running_edc_matches_one_shot():
    from burnd.image.cdsector import edc

    data = bytes(range(256)) * 700
    running = ecm.RunningEdc()
    for piece in (data[:1], data[1:3], data[3:70_000], data[70_000:70_002], data[70_002:]):
        running.update(piece)
    assert running.value() == edc(data)


def test_count_overflow(tmp_path):
    path = tmp_path / "x.ecm"
    path.write_bytes(b"ECM\0" + b"\xfc" + b"\xff" * 6 + b"\x01")
    with pytest.raises(BadImage, match="32 bits|corrupt"):
        ecm.open_image(str(path))


def test_open_image_detects_ecm(iso, tmp_path, capfd):
    from burnd.image.open import open_image

    path = encode(tmp_path, mode1_bin(iso))
    with open_image(str(path)) as image:
        assert image.format == "ecm"
        assert read_all(image) == iso
