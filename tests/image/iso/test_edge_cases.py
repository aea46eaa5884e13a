"""Edge cases of reference §3.11 / §22.2 built by byte patches of small images."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from burnd.image.iso import BootImage, IsoSource, create, edit, extract, inspect, list_image
from tests.fixtures.iso_tools import SEVEN_ZIP, seven_zip_paths
from tests.fixtures.iso_trees import MTIME, find_record, genisoimage, have, payload, read_pvd_root, run

needs_geniso = pytest.mark.skipif(not have("genisoimage"), reason="genisoimage is not installed (apt: genisoimage)")


def plain_image(tmp_path: Path, files: dict[str, bytes]) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    for name, data in files.items():
        (source / name).write_bytes(data)
    return genisoimage(source, tmp_path / "plain.iso")


def record_offset(image: Path, name: bytes) -> int:
    data = image.read_bytes()
    extent, size = read_pvd_root(data)
    return find_record(data, extent, size, name)


def patch(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


@needs_geniso
def test_associated_file_records_are_hidden(tmp_path):
    image = plain_image(tmp_path, {"a.txt": b"a", "b.txt": b"b"})
    offset = record_offset(image, b"B.TXT")
    patch(image, offset + 25, b"\x04")
    assert [e.path for e in list_image(str(image))] == ["/A.TXT"]


@needs_geniso
def test_extended_attribute_record_shifts_the_data(tmp_path):
    image = plain_image(tmp_path, {"a.bin": payload(6, 5000)})
    offset = record_offset(image, b"A.BIN")
    extent, = struct.unpack_from("<I", image.read_bytes(), offset + 2)
    patch(image, offset + 1, b"\x01")  # one XAR block ...
    patch(image, offset + 2, struct.pack("<I", extent - 1) + struct.pack(">I", extent - 1))  # ... before the data
    extract(str(image), str(tmp_path / "out"))
    assert (tmp_path / "out" / "A.BIN").read_bytes() == payload(6, 5000)


@needs_geniso
def test_interleaved_file(tmp_path):
    original = payload(7, 6 * 2048)
    image = plain_image(tmp_path, {"i.bin": original})
    offset = record_offset(image, b"I.BIN")
    patch(image, offset + 10, struct.pack("<I", 3 * 2048) + struct.pack(">I", 3 * 2048))
    patch(image, offset + 26, b"\x01\x01")  # unit 1 block, gap 1 block
    (entry,) = list_image(str(image))
    assert len(entry.runs) == 3
    extract(str(image), str(tmp_path / "out"))
    assert (tmp_path / "out" / "I.BIN").read_bytes() == original[0:2048] + original[4096:6144] + original[8192:10240]


@needs_geniso
def test_wrong_big_endian_copy_is_ignored(tmp_path):
    image = plain_image(tmp_path, {"a.txt": b"little endian wins"})
    offset = record_offset(image, b"A.TXT")
    patch(image, offset + 6, b"\xde\xad\xbe\xef")  # BE half of the extent
    patch(image, offset + 14, b"\xde\xad\xbe\xef")  # BE half of the size
    extract(str(image), str(tmp_path / "out"))
    assert (tmp_path / "out" / "A.TXT").read_bytes() == b"little endian wins"


def test_file_longer_than_the_volume(ours, tmp_path):
    padded = tmp_path / "padded.iso"
    padded.write_bytes(ours.read_bytes() + bytes(1 << 20))  # isohybrid-style padding
    info = inspect(str(padded))
    assert info.file_size == info.volume.block_count * 2048 + (1 << 20)
    assert {e.path for e in list_image(str(padded))} == {e.path for e in list_image(str(ours))}
    with IsoSource(str(padded)) as source:
        assert source.plain_slice().size == padded.stat().st_size


def test_efi_entry_with_sector_count_zero(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "efi.img").write_bytes(payload(8, 4096))
    image = tmp_path / "efi.iso"
    create(str(source), str(image), epoch=MTIME, boot=[BootImage("/efi.img", "efi", load_size=0)])
    (entry,) = inspect(str(image)).el_torito
    assert (entry.platform, entry.sector_count) == ("efi", 0)


def test_non_bmp_joliet_name(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    name = "clef-\U0001d11e.txt"
    (source / name).write_bytes(b"music")
    image = tmp_path / "nb.iso"
    create(str(source), str(image), rock_ridge=False, epoch=MTIME)
    assert inspect(str(image)).namespace == "joliet"
    assert [e.path for e in list_image(str(image))] == ["/" + name]
    if SEVEN_ZIP:
        assert seven_zip_paths(image) == {"/" + name}


@pytest.mark.skipif(not have("xorriso"), reason="xorriso is not installed")
def test_zisofs_files_are_inflated(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    data = payload(9, 70_000) + bytes(200_000) + b"end"
    (source / "z.bin").write_bytes(data)
    image = tmp_path / "z.iso"
    run("xorriso", "-outdev", image, "-map", source, "/", "-set_filter_r", "--zisofs", "/", "--")
    (entry,) = list_image(str(image))
    assert entry.zisofs == "pz" and entry.size == len(data) and entry.runs[0].length < len(data)
    extract(str(image), str(tmp_path / "out"))
    assert (tmp_path / "out" / "z.bin").read_bytes() == data
    edit(str(image), str(tmp_path / "plain.iso"), [], epoch=MTIME)
    extract(str(tmp_path / "plain.iso"), str(tmp_path / "out2"))
    assert (tmp_path / "out2" / "z.bin").read_bytes() == data
