"""CSO v1/v2 and ZSO: round trips through our writer (no independent reader is in Debian)."""

from __future__ import annotations

import struct

import pytest

from burnd.errors import BadImage, UnsupportedImage
from burnd.image.formats import cso
from burnd.image.source import TrackMode
from tests.fixtures.compressed import read_all, write_cso


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"block": 4096, "shift": 2},
        {"version": 2},
        {"version": 2, "shift": 11, "block": 8192},
        {"zso": True},
        {"zso": True, "shift": 3},
    ],
    ids=["v1", "v1-shift2", "v2", "v2-shift11", "zso", "zso-shift3"],
)
def test_round_trip(iso, tmp_path, options):
    if options.get("zso") or options.get("version") == 2:
        pytest.importorskip("lz4.block", reason="PyPI lz4 (the reference LZ4 encoder) not installed in the venv")
    path = write_cso(iso, tmp_path / "x.cso", **options)
    with open(path, "rb") as f:
        assert cso.probe(f, path.stat().st_size)
    with cso.open_image(str(path)) as image:
        assert image.format == "cso"
        (track,) = image.tracks
        assert (track.mode, track.sectors, track.sector_size) == (TrackMode.DATA, len(iso) // 2048, 2048)
        assert read_all(image) == iso
        assert image.plain_slice() is None


def test_random_access_single_sectors(iso, tmp_path):
    path = write_cso(iso, tmp_path / "x.cso", block=8192)
    with cso.open_image(str(path)) as image:
        view = image.data_view()
        buf = bytearray(2048)
        for sector in (17, 3, 200, 16, view.sectors - 1):
            view.readinto(sector, buf)
            assert bytes(buf) == iso[sector * 2048 : (sector + 1) * 2048]


def test_probe_rejects_other_files(tmp_path):
    path = tmp_path / "x.iso"
    path.write_bytes(b"CD001" + bytes(100))
    with open(path, "rb") as f:
        assert not cso.probe(f, 105)


def test_truncated_file(iso, tmp_path):
    path = write_cso(iso, tmp_path / "x.cso")
    path.write_bytes(path.read_bytes()[:-5000])
    with pytest.raises(BadImage, match="truncated"):
        cso.open_image(str(path))


def test_index_pointing_backwards(iso, tmp_path):
    path = write_cso(iso, tmp_path / "x.cso")
    data = bytearray(path.read_bytes())
    data[24 + 5 * 4 : 24 + 6 * 4] = struct.pack("<I", 30)  # block 5 starts inside the header
    path.write_bytes(data)
    with cso.open_image(str(path)) as image:
        with pytest.raises(BadImage, match="block 4|block 5"):
            read_all(image)


def test_absurd_block_count(tmp_path):
    path = tmp_path / "x.cso"
    path.write_bytes(struct.pack("<4sIQIBB2x", b"CISO", 24, 1 << 60, 2048, 1, 0) + bytes(64))
    with pytest.raises(BadImage):
        cso.open_image(str(path))


def test_unknown_version(iso, tmp_path):
    path = write_cso(iso, tmp_path / "x.cso")
    data = bytearray(path.read_bytes())
    data[20] = 3
    path.write_bytes(data)
    with pytest.raises(UnsupportedImage, match="version 3"):
        cso.open_image(str(path))


def test_block_inflating_past_its_size_is_cut_off(tmp_path):
    from tests.fixtures.compressed import raw_deflate

    bomb = raw_deflate(bytes(20_000_000))
    index = struct.pack("<3I", 36, 36 + len(bomb), 36 + len(bomb) + 2048)
    path = tmp_path / "bomb.cso"
    path.write_bytes(struct.pack("<4sIQIBB2x", b"CISO", 24, 4096, 2048, 1, 0) + index + bomb + bytes(2048))
    with cso.open_image(str(path)) as image:
        view = image.data_view()
        with pytest.raises(BadImage, match="more than 2048"):
            view.readinto(0, bytearray(2048))


def stored_cso(iso: bytes, path, *, version: int = 1, pad: int = 0):
    """A CSO with every block stored back to back (compression off), optionally padded."""
    blocks = [iso[i : i + 2048] for i in range(0, len(iso), 2048)]
    start = 24 + (len(blocks) + 1) * 4
    flag = 0 if version == 2 else 0x80000000
    index = [flag | (start + i * (2048 + pad)) for i in range(len(blocks))] + [start + len(blocks) * (2048 + pad)]
    body = b"".join(b + bytes(pad) for b in blocks)
    path.write_bytes(struct.pack("<4sIQIBB2x", b"CISO", 24, len(iso), 2048, version, 0) + struct.pack(f"<{len(index)}I", *index) + body)
    return path, start


@pytest.mark.parametrize("version", [1, 2])
def test_all_stored_is_a_plain_slice(iso, tmp_path, version):
    path, start = stored_cso(iso, tmp_path / "x.cso", version=version)
    with cso.open_image(str(path)) as image:
        assert read_all(image) == iso
        plain = image.plain_slice()
    assert (plain.offset, plain.size) == (start, len(iso))
    assert path.read_bytes()[plain.offset : plain.offset + plain.size] == iso


def test_padded_or_compressed_blocks_are_not_plain(iso, tmp_path):
    path, _ = stored_cso(iso, tmp_path / "x.cso", pad=4)
    with cso.open_image(str(path)) as image:
        assert read_all(image) == iso
        assert image.plain_slice() is None
