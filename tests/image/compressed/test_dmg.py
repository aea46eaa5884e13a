"""UDIF DMG: run types, the all-raw loop slice, cross-checks with dmg2img and 7-Zip, refusals."""

from __future__ import annotations

import plistlib
import shutil
import struct
import subprocess

import pytest

from burnd.errors import BadImage, UnsupportedImage
from burnd.image.formats import dmg
from tests.fixtures import compressed as cz
from tests.fixtures.compressed import read_all, write_dmg


def only(kind):
    return lambda index, data: kind


@pytest.mark.parametrize(
    "options",
    [{}, {"run_sectors": 2048}, {"choose": only(cz.DMG_BZIP2)}, {"leading": b"prefix" * 100}, {"partitions": 3}],
    ids=["mixed", "1MiB-runs", "bzip2", "fork-offset", "3-partitions"],
)
def test_round_trip(iso, tmp_path, options):
    path = write_dmg(iso, tmp_path / "x.dmg", **options)
    with open(path, "rb") as f:
        assert dmg.probe(f, path.stat().st_size)
    with dmg.open_image(str(path)) as image:
        assert image.format == "dmg"
        assert read_all(image) == iso
        assert image.plain_slice() is None


def test_all_raw_is_a_plain_slice(iso, tmp_path):
    path = write_dmg(iso, tmp_path / "x.dmg", choose=only(cz.DMG_RAW), leading=b"z" * 1000)
    with dmg.open_image(str(path)) as image:
        plain = image.plain_slice()
        assert read_all(image) == iso
    assert (plain.offset, plain.size) == (1000, len(iso))
    assert path.read_bytes()[plain.offset : plain.offset + plain.size] == iso


def test_gaps_between_runs_read_as_zeros(iso, tmp_path):
    # Runs with no data (type ignore) and runs left out altogether both mean zeros.
    choices = {1: cz.DMG_IGNORE, 2: None}
    path = write_dmg(iso, tmp_path / "x.dmg", choose=lambda i, d: choices.get(i, cz.DMG_ZLIB))
    with dmg.open_image(str(path)) as image:
        data = read_all(image)
    expected = iso[: 256 * 512] + bytes(2 * 256 * 512) + iso[3 * 256 * 512 :]
    assert data == expected


@pytest.mark.parametrize("kind,name", [(0x80000004, "ADC"), (0x80000007, "LZFSE"), (0x80000008, "LZMA")])
def test_unsupported_compressions_are_named(iso, tmp_path, kind, name):
    path = write_dmg(iso, tmp_path / "x.dmg", choose=lambda i, d: kind if i == 2 else cz.DMG_RAW)
    with pytest.raises(UnsupportedImage, match=name):
        dmg.open_image(str(path))


def test_encrypted_dmg(tmp_path):
    path = tmp_path / "x.dmg"
    path.write_bytes(b"encrcdsa" + bytes(4096))
    with open(path, "rb") as f:
        assert dmg.probe(f, 4104)
    with pytest.raises(UnsupportedImage, match="encrypted"):
        dmg.open_image(str(path))


def test_malformed_plist(iso, tmp_path):
    path = write_dmg(iso, tmp_path / "x.dmg")
    data = bytearray(path.read_bytes())
    start = data.index(b"<?xml")
    data[start + 10 : start + 30] = b"<<<<<<<<<<<<<<<<<<<<"
    path.write_bytes(data)
    with pytest.raises(BadImage, match="plist"):
        dmg.open_image(str(path))


def test_runs_past_the_disk(iso, tmp_path):
    path = write_dmg(iso, tmp_path / "x.dmg")
    data = bytearray(path.read_bytes())
    data[-512 + 492 : -512 + 500] = struct.pack(">Q", 10)  # the disk claims 10 sectors
    path.write_bytes(data)
    with pytest.raises(BadImage, match="runs reach sector"):
        dmg.open_image(str(path))


def test_plist_without_blkx(iso, tmp_path):
    path = write_dmg(iso, tmp_path / "x.dmg")
    data = path.read_bytes()
    koly = data[-512:]
    plist = plistlib.dumps({"resource-fork": {}})
    xml_offset = struct.unpack_from(">Q", koly, 216)[0]
    koly = koly[:216] + struct.pack(">QQ", xml_offset, len(plist)) + koly[232:]
    path.write_bytes(data[:xml_offset] + plist + koly)
    with pytest.raises(BadImage, match="blkx"):
        dmg.open_image(str(path))


CROSS_CHECKED = pytest.mark.parametrize(
    "options", [{}, {"leading": b"p" * 4096}, {"partitions": 3}], ids=["mixed", "fork-offset", "3-partitions"]
)


@pytest.mark.skipif(shutil.which("dmg2img") is None, reason="dmg2img not installed (apt: dmg2img)")
@CROSS_CHECKED
def test_dmg2img_agrees(iso, tmp_path, options):
    path = write_dmg(iso, tmp_path / "x.dmg", **options)
    out = tmp_path / "out.img"
    subprocess.run(["dmg2img", str(path), str(out)], capture_output=True, check=True, timeout=60)
    with dmg.open_image(str(path)) as image:
        assert out.read_bytes() == read_all(image) == iso


@pytest.mark.skipif(shutil.which("7zz") is None, reason="7-Zip not installed (apt: 7zip)")
@CROSS_CHECKED
def test_7zip_agrees(iso, tmp_path, options):
    path = write_dmg(iso, tmp_path / "x.dmg", **options)
    # -tdmg stops 7-Zip from descending into the ISO inside; it then extracts one file per
    # partition, in order, which together are the disk.
    out = tmp_path / "out"
    subprocess.run(["7zz", "x", "-tdmg", f"-o{out}", str(path)], capture_output=True, check=True, timeout=60)
    extracted = sorted(out.iterdir(), key=lambda p: int(p.name.split(".")[0]))
    with dmg.open_image(str(path)) as image:
        assert b"".join(p.read_bytes() for p in extracted) == read_all(image) == iso
