"""Hostile and broken images: always a clear BadImage, bounded time and memory, never another
exception; plus a bounded hypothesis fuzz over the metadata of small valid images."""

from __future__ import annotations

import shutil
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from burnd.errors import BadImage
from burnd.image.iso import IsoSource, create, edit, extract, inspect, list_image
from tests.fixtures.iso_trees import MTIME, find_record, genisoimage, have, read_pvd_root, udf_only


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("bad")
    source = base / "src"
    (source / "dir" / "sub").mkdir(parents=True)
    (source / "dir" / "sub" / "f.txt").write_bytes(b"f" * 3000)
    (source / "a.txt").write_bytes(b"a")
    (source / ("long" * 60)).write_bytes(b"l")
    image = base / "small.iso"
    create(str(source), str(image), epoch=MTIME)
    return image


def copy(image: Path, tmp_path: Path) -> Path:
    target = tmp_path / "broken.iso"
    shutil.copy(image, target)
    return target


def patch(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def both32(value: int) -> bytes:
    return struct.pack("<I", value) + struct.pack(">I", value)


def test_truncated(small, tmp_path):
    broken = copy(small, tmp_path)
    with open(broken, "r+b") as handle:
        handle.truncate(20 * 2048)
    with pytest.raises(BadImage, match="past the end|truncated"):
        list_image(str(broken))


@pytest.mark.parametrize("size", [0, 100, 34000])
def test_tiny_or_empty(tmp_path, size):
    path = tmp_path / "tiny.iso"
    path.write_bytes(b"\x01CD001" * (size // 6))
    with pytest.raises(BadImage):
        inspect(str(path))


def test_wrong_magic(small, tmp_path):
    broken = copy(small, tmp_path)
    patch(broken, 16 * 2048 + 1, b"XX001")
    with pytest.raises(BadImage, match="not an ISO image"):
        list_image(str(broken))


def test_file_extent_past_the_end(small, tmp_path):
    broken = copy(small, tmp_path)
    data = broken.read_bytes()
    extent, size = read_pvd_root(data)
    record = find_record(data, extent, size, b"A.TXT")
    patch(broken, record + 10, both32(0xFFFFFFFF))
    with pytest.raises(BadImage, match="past the end"):
        list_image(str(broken))


def test_directory_size_overflow(small, tmp_path):
    broken = copy(small, tmp_path)
    data = broken.read_bytes()
    extent, size = read_pvd_root(data)
    record = find_record(data, extent, size, b"DIR")
    patch(broken, record + 10, both32(0xFFFFF800))
    with pytest.raises(BadImage, match="past the end|exceeds several times"):
        list_image(str(broken))


def test_cyclic_directory(small, tmp_path):
    broken = copy(small, tmp_path)
    data = broken.read_bytes()
    extent, size = read_pvd_root(data)
    record = find_record(data, extent, size, b"DIR")
    patch(broken, record + 2, both32(extent))  # /dir points back at the root
    with pytest.raises(BadImage, match="cyclic"):
        list_image(str(broken))


def test_cyclic_continuation_area(small, tmp_path):
    broken = copy(small, tmp_path)
    data = broken.read_bytes()
    extent, _ = read_pvd_root(data)
    root_dot = extent * 2048
    ce = data.index(b"CE\x1c\x01", root_dot, root_dot + 255)
    block, = struct.unpack_from("<I", data, ce + 4)
    offset, = struct.unpack_from("<I", data, ce + 12)
    # the continuation area begins with a CE pointing at itself
    patch(broken, block * 2048 + offset, b"CE\x1c\x01" + both32(block) + both32(offset) + both32(28))
    with pytest.raises(BadImage, match="cyclic CE"):
        list_image(str(broken))


def test_path_table_lies_are_ignored(small, tmp_path):
    broken = copy(small, tmp_path)
    patch(broken, 16 * 2048 + 132, both32(0x7FFFFFFF))
    patch(broken, 16 * 2048 + 140, struct.pack("<I", 0xFFFFFF))
    assert {e.path for e in list_image(str(broken))} == {e.path for e in list_image(str(small))}


def test_bad_block_size(small, tmp_path):
    broken = copy(small, tmp_path)
    patch(broken, 16 * 2048 + 128, struct.pack("<H", 3))
    with pytest.raises(BadImage, match="block size"):
        inspect(str(broken))


def _exercise(path: Path) -> None:
    """Every public reader on one image: success or BadImage only."""
    for action in (
        lambda: list_image(str(path)),
        lambda: inspect(str(path)).to_dict(),
        lambda: IsoSource(str(path)).close(),
    ):
        try:
            action()
        except BadImage:
            pass
    with tempfile.TemporaryDirectory() as out:
        try:
            extract(str(path), out)
        except BadImage:
            pass
        try:
            edit(str(path), str(Path(out) / "edited.iso"), [])
        except BadImage:
            pass


@pytest.fixture(scope="module")
def fuzz_seeds(small, tmp_path_factory) -> list[bytes]:
    seeds = [small.read_bytes()]
    if have("genisoimage"):
        base = tmp_path_factory.mktemp("fuzz")
        bridge = genisoimage(small.parent / "src", base / "bridge.iso", "-udf", "-R", "-J")
        seeds += [bridge.read_bytes(), udf_only(bridge, base / "udf.iso").read_bytes()]
    return seeds


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_metadata_gives_bad_image_or_success(fuzz_seeds, tmp_path_factory, data):
    seed = bytearray(data.draw(st.sampled_from(fuzz_seeds)))
    # Mostly the descriptors and directories (sectors 16-63), sometimes anywhere (UDF anchors
    # sit at 256 and at the end).
    metadata = st.integers(16 * 2048, min(len(seed), 64 * 2048) - 1)
    anywhere = st.integers(16 * 2048, len(seed) - 1)
    for _ in range(data.draw(st.integers(1, 24))):
        position = data.draw(st.one_of(metadata, metadata, anywhere))
        seed[position] = data.draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]) | st.integers(0, 255))
    path = tmp_path_factory.mktemp("f") / "fuzz.iso"
    path.write_bytes(bytes(seed))
    _exercise(path)
