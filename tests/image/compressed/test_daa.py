"""DAA v1: round trip, cross-checked with daa2iso, and the refusals."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib

import pytest

from burnd.errors import BadImage, UnsupportedImage
from burnd.image.formats import daa
from tests.fixtures.compressed import read_all, write_daa


VARIANTS = {
    "v1": {},
    "v1-2k-chunks": {"chunk_size": 2048},
    "gbi-v1": {"gbi": True},
    "v2": {"version": 2},
    "v2-obfuscated": {"version": 2, "obfuscate_table": True, "obfuscate_values": True},
    "v2-bcj-20bit": {"version": 2, "bcj": True, "length_bits": 20},
    "v2-32k": {"version": 2, "chunk_size": 32 * 1024},
    "gbi-v2": {"version": 2, "gbi": True, "obfuscate_values": True},
}


@pytest.mark.parametrize("options", list(VARIANTS.values()), ids=list(VARIANTS))
def test_round_trip(iso, tmp_path, options):
    path = write_daa(iso, tmp_path / "x.daa", **options)
    with open(path, "rb") as f:
        assert daa.probe(f, path.stat().st_size)
    with daa.open_image(str(path)) as image:
        assert image.format == "daa"
        assert read_all(image) == iso


@pytest.mark.skipif(shutil.which("daa2iso") is None, reason="daa2iso not installed (apt: daa2iso)")
@pytest.mark.parametrize("options", list(VARIANTS.values()), ids=list(VARIANTS))
def test_daa2iso_agrees(iso, tmp_path, options):
    path = write_daa(iso, tmp_path / "x.daa", **options)
    out = tmp_path / "out.iso"
    # daa2iso 0.1.7e exits 1 even on success, so judge it by its output file.
    subprocess.run(["daa2iso", str(path), str(out)], stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    with daa.open_image(str(path)) as image:
        assert out.read_bytes() == read_all(image) == iso


SPLITS = {
    "part01-v1": ("x.part01.daa", {"volume_size": 60_000}),
    "d00-v2": ("x.daa", {"volume_size": 150_000, "scheme": 101, "version": 2}),
    "part01-gbi-v2": ("x.part01.daa", {"volume_size": 120_000, "version": 2, "gbi": True}),
}


@pytest.mark.parametrize("name,options", list(SPLITS.values()), ids=list(SPLITS))
def test_split_volumes(iso, tmp_path, name, options):
    path = write_daa(iso, tmp_path / name, **options)
    assert len(list(tmp_path.iterdir())) >= 3
    with daa.open_image(str(path)) as image:
        data = read_all(image)
    assert data == iso
    if shutil.which("daa2iso"):  # the independent reader follows the same volume chain
        out = tmp_path / "out.iso"
        subprocess.run(["daa2iso", str(path), str(out)], stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        assert out.read_bytes() == iso


def test_split_volume_errors(iso, tmp_path):
    path = write_daa(iso, tmp_path / "x.part01.daa", volume_size=60_000)
    with pytest.raises(BadImage, match="later volume"):
        daa.open_image(str(tmp_path / "x.part02.daa"))
    renamed = path.rename(tmp_path / "renamed.daa")
    with pytest.raises(BadImage, match="part01"):
        daa.open_image(str(renamed))
    renamed.rename(path)
    (tmp_path / "x.part03.daa").unlink()
    with pytest.raises(BadImage, match=r"x\.part03\.daa"):
        daa.open_image(str(path))


def with_header(path, **changes):
    data = bytearray(path.read_bytes())
    fields = list(struct.unpack_from("<16sIIIIIIQQ16s", data))
    names = ["signature", "table", "version", "data", "one", "zero", "chunk", "iso", "daa", "v2"]
    for name, value in changes.items():
        fields[names.index(name)] = value
    head = struct.pack("<16sIIIIIIQQ16s", *fields)
    data[:76] = head + struct.pack("<I", zlib.crc32(head))
    path.write_bytes(data)


def test_header_crc_mismatch(iso, tmp_path):
    path = write_daa(iso, tmp_path / "x.daa")
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF
    path.write_bytes(data)
    with pytest.raises(BadImage, match="checksum"):
        daa.open_image(str(path))


def test_v2_variants_we_do_not_read(iso, tmp_path):
    path = write_daa(iso, tmp_path / "x.daa")
    path = write_daa(iso, tmp_path / "y.daa", version=2)
    size_field = struct.unpack_from("<I", path.read_bytes(), 36)[0]
    with_header(path, chunk=size_field | 0x4000)
    with pytest.raises(UnsupportedImage, match="compressed chunk table"):
        daa.open_image(str(path))
    with_header(path, chunk=size_field | 1 << 23)
    with pytest.raises(UnsupportedImage, match="bit-swapped"):
        daa.open_image(str(path))


def test_unknown_version(iso, tmp_path):
    path = write_daa(iso, tmp_path / "x.daa")
    with_header(path, version=0x120)
    with pytest.raises(BadImage, match="unknown DAA format version"):
        daa.open_image(str(path))


def test_encrypted_descriptor(iso, tmp_path):
    encrypted = struct.pack("<IIII", 3, 8 + 8 + 128, 0, 0) + bytes(128)
    path = write_daa(iso, tmp_path / "x.daa", descriptors=encrypted)
    with pytest.raises(UnsupportedImage, match="password"):
        daa.open_image(str(path))


def test_table_too_small_for_the_iso_size(iso, tmp_path):
    path = write_daa(iso, tmp_path / "x.daa")
    with_header(path, iso=len(iso) * 4)
    with pytest.raises(BadImage, match="chunk table lists"):
        daa.open_image(str(path))


def test_truncated_data(iso, tmp_path):
    path = write_daa(iso, tmp_path / "x.daa")
    path.write_bytes(path.read_bytes()[:-3000])
    with daa.open_image(str(path)) as image:
        with pytest.raises(BadImage, match="past the end|truncated"):
            read_all(image)
