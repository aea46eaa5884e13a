"""Detection by content: every container, data files beside descriptors, ISO/UDF/raw, and
files that are no disc image at all."""

from __future__ import annotations

import gzip
import io
import os
import zipfile

import pytest

from burnd.errors import BadImage
from burnd.image.detect import FORMAT_MODULES, detect, load_format
from burnd.image.open import open_image
from tests.fixtures import cdimages as fx

from .conftest import read_track


def _containers(tmp_path):
    (tmp_path / "cue").mkdir()
    (tmp_path / "toc").mkdir()
    (tmp_path / "mds").mkdir()
    (tmp_path / "ccd").mkdir()
    return {
        "bincue": fx.single_bincue(tmp_path / "cue"),
        "cdrdao_toc": fx.toc_image(tmp_path / "toc"),
        "nrg": fx.nrg_iso(tmp_path / "a.nrg"),
        "mds": fx.mds_image(tmp_path / "mds", [fx.MdsTrack(fx.MDS_MODE1_RAW, 2352, fx.mode1_track(), 150)]),
        "ccd": fx.ccd_image(tmp_path / "ccd", [(1, fx.mode1_track())]),
        "cdi": fx.cdi_image(tmp_path / "a.cdi", [[fx.CdiTrack(1, 2352, fx.mode1_track())]]),
    }


def test_every_container_is_detected_and_opens(tmp_path):
    for name, path in _containers(tmp_path).items():
        found = detect(str(path))
        assert found.format == name, path
        assert all(os.path.exists(p) for p in found.data_paths)
        with open_image(str(path)) as source:
            assert source.format == name
            assert read_track(source) == fx.base_iso()


def test_extension_does_not_decide(tmp_path):
    """A cue sheet saved as .txt and an NRG renamed .iso are still what their content says."""
    cue = fx.single_bincue(tmp_path)
    renamed = tmp_path / "sheet.txt"
    renamed.write_bytes(cue.read_bytes())
    assert detect(str(renamed)).format == "bincue"
    nrg = fx.nrg_iso(tmp_path / "x.iso")
    assert detect(str(nrg)).format == "nrg"


@pytest.mark.parametrize("data_name, descriptor_format", [("cue/disc.bin", "bincue"), ("mds/disc.mdf", "mds"), ("ccd/disc.img", "ccd"), ("toc/data.bin", "cdrdao_toc")])
def test_data_file_finds_its_descriptor(tmp_path, data_name, descriptor_format):
    _containers(tmp_path)
    found = detect(str(tmp_path / data_name))
    assert found.format == descriptor_format
    assert os.path.realpath(tmp_path / data_name) in {os.path.realpath(p) for p in found.data_paths}
    with open_image(str(tmp_path / data_name)) as source:
        assert read_track(source) == fx.base_iso()


def test_raw_bin_without_cue(tmp_path):
    for name, data in (("m1.bin", fx.mode1_track()), ("m2.bin", fx.mode2_track())):
        path = tmp_path / name
        path.write_bytes(data)
        assert detect(str(path)).format == "raw"
        with open_image(str(path)) as source:
            assert read_track(source) == fx.base_iso()


def test_raw_bin_found_by_its_volume_descriptor(tmp_path):
    """No sync at byte 0 (zeroed first sector) and a torn last sector: CD001 inside raw
    sector 16 still says raw Mode 1."""
    raw = bytearray(fx.mode1_track())
    raw[:2352] = bytes(2352)
    path = tmp_path / "torn.bin"
    path.write_bytes(bytes(raw[:-100]))
    assert detect(str(path)).format == "raw"
    with open_image(str(path)) as source:
        track = source.default_track()
        assert track.sectors == fx.iso_sectors() - 1
        view = source.data_view()
        buffer = bytearray(2048 * track.sectors)
        view.readinto(0, buffer)
        assert bytes(buffer[2048:]) == fx.base_iso()[2048 : 2048 * track.sectors]
        assert view.errors.first_lbas == [0]  # the zeroed sector fails its EDC


def test_iso_udf_and_cdr(tmp_path):
    iso = tmp_path / "a.iso"
    iso.write_bytes(fx.base_iso())
    assert detect(str(iso)).format == "iso"
    udf = bytearray(300 * 2048)
    udf[16 * 2048 + 1 : 16 * 2048 + 6] = b"BEA01"
    udf[17 * 2048 + 1 : 17 * 2048 + 6] = b"NSR02"
    (tmp_path / "u.img").write_bytes(bytes(udf))
    assert detect(str(tmp_path / "u.img")).format == "udf"
    anchor_only = bytearray(300 * 2048)
    anchor_only[256 * 2048 : 256 * 2048 + 2] = b"\x02\x00"
    (tmp_path / "v.img").write_bytes(bytes(anchor_only))
    assert detect(str(tmp_path / "v.img")).format == "udf"
    hfs = bytearray(64 * 2048)
    hfs[1024:1026] = b"H+"
    (tmp_path / "mac.cdr").write_bytes(bytes(hfs))
    assert detect(str(tmp_path / "mac.cdr")).format == "cdr"
    with open_image(str(tmp_path / "mac.cdr")) as source:
        assert source.plain_slice().size == len(hfs)


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.txt", "x")
    return out.getvalue()


def _at(offset: int, magic: bytes, size: int = 4096) -> bytes:
    data = bytearray(size)
    data[offset : offset + len(magic)] = magic
    return bytes(data)


@pytest.mark.parametrize(
    "content, phrase",
    [
        (_zip(), "ZIP archive"),
        (gzip.compress(b"hello"), "gzip"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG image"),
        (b"\x7fELF" + bytes(100), "ELF executable"),
        (b"%PDF-1.7\n" + bytes(100), "PDF"),
        (b"just some words\nin a text file\n", "text file"),
        (_at(1080, b"\x53\xef", 8192), "ext2/3/4"),
        (_at(82, b"FAT32") [:510] + b"\x55\xaa" + bytes(1000), "FAT32"),
        (_at(510, b"\x55\xaa"), "MBR-partitioned disk image with no ISO"),
        (b"", "empty file"),
        (bytes(2352 * 4), "CD audio"),
        (b"\x01\x02\x03" * 5000, "unknown kind"),
    ],
)
def test_non_images_say_what_they_look_like(tmp_path, content, phrase):
    path = tmp_path / "thing.iso"
    path.write_bytes(content)
    with pytest.raises(BadImage, match=phrase):
        detect(str(path))


def test_format_modules_follow_the_contract():
    for name in FORMAT_MODULES:
        module = load_format(name)
        assert module.NAME == name
        assert all(ext.startswith(".") for ext in module.EXTENSIONS)
        assert callable(module.probe) and callable(module.open_image)


def test_missing_file(tmp_path):
    with pytest.raises(BadImage, match="cannot read"):
        detect(str(tmp_path / "nope.iso"))
