"""ISZ: round trips through the spec-derived writer (nothing in Debian reads ISZ), split sets,
the header CRC, and refusals."""

from __future__ import annotations

import struct

import pytest

from burnd.errors import BadImage, UnsupportedImage
from burnd.image.formats import isz
from tests.fixtures.compressed import isz_xor, read_all, write_isz


@pytest.mark.parametrize(
    "options",
    [{}, {"header_size": 48}, {"table": False}, {"chunk_size": 2048}, {"chunk_size": 128 * 1024}],
    ids=["default", "48-byte-header", "no-chunk-table", "2k-chunks", "128k-chunks"],
)
def test_round_trip(iso, tmp_path, options):
    (path,) = write_isz(iso, tmp_path / "x.isz", **options)
    with open(path, "rb") as f:
        assert isz.probe(f, path.stat().st_size)
    with isz.open_image(str(path)) as image:
        assert image.format == "isz"
        assert image.tracks[0].sectors == len(iso) // 2048
        assert read_all(image) == iso
        assert image.verify() is (None if options.get("header_size") == 48 else True)


def test_writer_uses_every_chunk_type(iso, tmp_path):
    (path,) = write_isz(iso, tmp_path / "x.isz")
    head = path.read_bytes()
    count = struct.unpack_from("<I", head, 25)[0]
    table = isz_xor(head[64 : 64 + 3 * count])
    kinds = {int.from_bytes(table[i : i + 3], "little") >> 22 for i in range(0, len(table), 3)}
    assert kinds == {0, 1, 2, 3}


def test_split_set_with_chunks_straddling_parts(iso, tmp_path):
    paths = write_isz(iso, tmp_path / "x.isz", segment_size=40_000)
    assert [p.name for p in paths[:3]] == ["x.isz", "x.i01", "x.i02"]
    with isz.open_image(str(paths[0])) as image:
        assert read_all(image) == iso
        assert image.verify() is True


def test_opening_a_later_part_points_to_the_first(iso, tmp_path):
    paths = write_isz(iso, tmp_path / "x.isz", segment_size=40_000)
    with pytest.raises(BadImage, match="part 1 of a split ISZ"):
        isz.open_image(str(paths[1]))


def test_missing_part_is_reported(iso, tmp_path):
    paths = write_isz(iso, tmp_path / "x.isz", segment_size=40_000)
    paths[2].unlink()
    with pytest.raises(BadImage, match=r"x\.i02"):
        isz.open_image(str(paths[0]))


def test_crc_mismatch_is_detected(iso, tmp_path):
    (path,) = write_isz(iso, tmp_path / "x.isz")
    data = bytearray(path.read_bytes())
    data[48] ^= 1
    path.write_bytes(data)
    with isz.open_image(str(path)) as image:
        assert image.verify() is False


def test_encrypted_is_unsupported_with_advice(iso, tmp_path):
    (path,) = write_isz(iso, tmp_path / "x.isz")
    data = bytearray(path.read_bytes())
    data[16] = 3
    path.write_bytes(data)
    with pytest.raises(UnsupportedImage, match="encrypted.*UltraISO"):
        isz.open_image(str(path))


def test_chunk_count_must_match_the_size(iso, tmp_path):
    (path,) = write_isz(iso, tmp_path / "x.isz")
    data = bytearray(path.read_bytes())
    data[25:29] = struct.pack("<I", 7)
    path.write_bytes(data)
    with pytest.raises(BadImage, match="7 chunks"):
        isz.open_image(str(path))


def test_lying_chunk_length(iso, tmp_path):
    (path,) = write_isz(iso, tmp_path / "x.isz")
    data = bytearray(path.read_bytes())
    entry = int.from_bytes(isz_xor(data[64:67]), "little")
    data[64:67] = isz_xor(((entry & ~0x3FFFFF) | 0x3FFFFF).to_bytes(3, "little"))
    path.write_bytes(data)
    with isz.open_image(str(path)) as image:
        with pytest.raises(BadImage):
            read_all(image)


def test_stored_single_file_is_a_plain_slice(iso, tmp_path):
    (path,) = write_isz(iso, tmp_path / "x.isz", table=False)
    with isz.open_image(str(path)) as image:
        plain = image.plain_slice()
    assert plain is not None and plain.size == len(iso)
    assert path.read_bytes()[plain.offset : plain.offset + plain.size] == iso
    (compressed,) = write_isz(iso, tmp_path / "y.isz")
    with isz.open_image(str(compressed)) as image:
        assert image.plain_slice() is None
