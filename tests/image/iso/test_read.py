"""Listing: namespaces, Rock Ridge metadata, relocation, multi-extent, versions, UDF."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from burnd.errors import BadImage
from burnd.image.iso import Kind, extract, inspect, list_image
from tests.fixtures.iso_tools import SEVEN_ZIP, seven_zip_paths
from burnd.image.iso.reader import IsoImage
from tests.fixtures.iso_trees import (
    LONG_NAME,
    MTIME,
    NAME_200,
    genisoimage,
    have,
    split_into_extents,
    tree_files,
    udf_only,
)

needs_geniso = pytest.mark.skipif(not have("genisoimage"), reason="genisoimage is not installed (apt: genisoimage)")


def listing(image: Path) -> dict[str, tuple[str, object]]:
    """{path: (kind, size or link target)} of our listing."""
    return {e.path: (e.kind.value, e.target if e.kind is Kind.SYMLINK else (e.size if e.kind is Kind.FILE else None)) for e in list_image(str(image))}


def expected_listing(tree: Path) -> dict[str, tuple[str, object]]:
    return {p: (kind, value if kind == "symlink" else (len(value) if kind == "file" else None)) for p, (kind, value) in tree_files(tree).items()}


@pytest.mark.parametrize("image_fixture", ["ours", "geniso", "xorr"])
def test_rock_ridge_listing_matches_the_source_tree(request, image_fixture, tree):
    image = request.getfixturevalue(image_fixture)
    assert listing(image) == expected_listing(tree)


@pytest.mark.parametrize("image_fixture", ["ours", "geniso", "xorr"])
def test_rock_ridge_modes_and_mtimes(request, image_fixture, tree):
    entries = {e.path: e for e in list_image(str(request.getfixturevalue(image_fixture)))}
    private = entries["/one/mode0600"]
    assert stat.S_IMODE(private.mode) == 0o600 and stat.S_ISREG(private.mode)
    assert entries["/one/two/three/leaf.txt"].mtime == MTIME
    assert entries["/link-inside"].kind is Kind.SYMLINK


@needs_geniso
def test_relocated_deep_directory_is_shown_at_its_real_place(geniso):
    with IsoImage(str(geniso)) as image:
        paths = {e.path for e in image.entries()}
        assert image.walk_result.relocated_dirs >= 1
    assert "/a/b/c/d/e/f/g/h/i/j/deep.txt" in paths
    assert not any("rr_moved" in p for p in paths)


@needs_geniso
def test_iso_level_4_tree_has_no_relocation(tree, iso_dir):
    image = genisoimage(tree, iso_dir / "level4.iso", "-iso-level", "4")
    info = inspect(str(image))
    assert info.iso9660_1999 and info.namespace == "iso9660:1999"
    assert "/a/b/c/d/e/f/g/h/i/j/deep.txt".upper() in {e.path.upper() for e in list_image(str(image))}


@needs_geniso
def test_joliet_only_names(tree, iso_dir):
    image = genisoimage(tree, iso_dir / "joliet.iso", "-J", "-joliet-long")
    entries = {e.path: e for e in list_image(str(image))}
    assert inspect(str(image)).namespace == "joliet"
    assert "/" + LONG_NAME in entries
    assert entries["/random.bin"].size == 100_000
    # Joliet allows 103 characters with -joliet-long: the 204-character name is cut.
    assert not any(p == "/" + NAME_200 for p in entries)


@needs_geniso
def test_plain_iso9660_names_drop_versions(tree, iso_dir):
    image = genisoimage(tree, iso_dir / "plain.iso")
    names = {e.path for e in list_image(str(image))}
    assert "/HELLO.TXT" in names and not any(";" in n for n in names)


@needs_geniso
def test_multi_extent_file_joins_all_extents(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "big.bin").write_bytes(bytes(range(256)) * 400)  # 102 400 bytes
    image = genisoimage(source, tmp_path / "m.iso", "-R")
    split_into_extents(image, b"BIG.BIN", 40_960)
    with IsoImage(str(image)) as iso:
        (entry,) = iso.entries()
        assert iso.walk_result.multi_extent_files == 1
    assert entry.size == 102_400 and len(entry.runs) == 2
    data = b"".join(os.pread(os.open(image, os.O_RDONLY), run.length, run.offset) for run in entry.runs)
    assert data == (source / "big.bin").read_bytes()


@needs_geniso
def test_highest_version_wins(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_bytes(b"one")
    (source / "b.txt").write_bytes(b"two")
    image = tmp_path / "v.iso"
    genisoimage(source, image)
    # B.TXT;1 becomes A.TXT;2, recorded after A.TXT;1: the higher version must win wherever it is.
    image.write_bytes(image.read_bytes().replace(b"B.TXT;1", b"A.TXT;2"))
    (entry,) = list_image(str(image))
    assert entry.path == "/A.TXT"
    with open(image, "rb") as handle:
        handle.seek(entry.runs[0].offset)
        assert handle.read(3) == b"two"


@needs_geniso
def test_udf_bridge_and_udf_only(tree, iso_dir):
    bridge = genisoimage(tree, iso_dir / "bridge.iso", "-udf", "-R", "-J")
    assert inspect(str(bridge)).udf == "bridge"
    only = udf_only(bridge, iso_dir / "udfonly.iso")
    info = inspect(str(only))
    assert (info.file_system, info.udf, info.namespace, info.volume) == ("udf", "udf-only", "udf", None)
    assert info.udf_volume_id == "CDROM"  # genisoimage's default label
    entries = {e.path: e for e in list_image(str(only))}
    assert entries["/random.bin"].size == 100_000
    assert entries["/" + LONG_NAME].kind is Kind.FILE
    assert entries["/one/two/three/leaf.txt"].mtime == MTIME
    # genisoimage's UDF tree has no symlinks (they become empty files) and cuts long names to
    # 64 characters: compare the non-empty regular files, the 200-character name by content.
    extract(str(only), str(iso_dir / "udf-out"))
    extracted = {p: v for p, v in tree_files(iso_dir / "udf-out").items() if v[0] == "file" and v[1]}
    source = {p: v for p, v in tree_files(tree).items() if v[0] == "file" and v[1]}
    assert extracted.pop("/" + NAME_200[:64]) == source.pop("/" + NAME_200)
    assert extracted == source
    if SEVEN_ZIP:
        assert seven_zip_paths(only) == set(entries)


@pytest.mark.skipif(not have("mkudffs"), reason="mkudffs is not installed (apt: udftools)")
@pytest.mark.parametrize("revision", ["0x0102", "0x0150", "0x0201"])
def test_empty_mkudffs_images(tmp_path, revision):
    from tests.fixtures.iso_trees import run

    image = tmp_path / "u.img"
    with open(image, "wb") as handle:
        handle.truncate(4 << 20)
    run("mkudffs", "--media-type=hd", "--blocksize=2048", f"--udfrev={revision}", image)
    info = inspect(str(image))
    assert info.udf == "udf-only" and info.tree.files == 0


@needs_geniso
def test_multi_session_file_reads_the_newest_session(tmp_path):
    first, second = tmp_path / "s1", tmp_path / "s2"
    first.mkdir(), second.mkdir()
    (first / "old.txt").write_bytes(b"old")
    (second / "new.txt").write_bytes(b"new")
    s1 = genisoimage(first, tmp_path / "s1.iso", "-R")
    sectors = s1.stat().st_size // 2048
    s2 = tmp_path / "s2.iso"
    from tests.fixtures.iso_trees import run

    run("genisoimage", "-quiet", "-R", "-C", f"0,{sectors}", "-M", s1, "-o", s2, second)
    with pytest.raises(BadImage, match="multi-session"):
        list_image(str(s2))  # the second session alone points into the first
    disc = tmp_path / "disc.iso"
    disc.write_bytes(s1.read_bytes() + s2.read_bytes())
    info = inspect(str(disc))
    assert [s["start_lba"] for s in info.sessions] == [0, sectors]
    assert {e.path for e in list_image(str(disc))} == {"/old.txt", "/new.txt"}


@needs_geniso
@pytest.mark.parametrize("unit", [16, 32])
def test_session_after_dvd_or_bd_padding_is_found(tmp_path, unit):
    """DVD and BD tracks are padded to 16 / 32 blocks, so a later session starts at the
    previous volume's end rounded up to that unit, not right at its end."""
    first, second = tmp_path / "s1", tmp_path / "s2"
    first.mkdir(), second.mkdir()
    (first / "old.txt").write_bytes(b"old")
    (second / "new.txt").write_bytes(b"new")
    s1 = genisoimage(first, tmp_path / "s1.iso", "-R", "-no-pad")  # file size = volume size
    start = -(-(s1.stat().st_size // 2048) // unit) * unit
    padded = s1.read_bytes().ljust(start * 2048, b"\0")
    assert len(padded) > s1.stat().st_size  # the padding is real, so the plain end is wrong
    disc = tmp_path / "disc.img"
    disc.write_bytes(padded)
    s2 = tmp_path / "s2.iso"
    from tests.fixtures.iso_trees import run

    run("genisoimage", "-quiet", "-R", "-C", f"0,{start}", "-M", disc, "-o", s2, second)
    disc.write_bytes(padded + s2.read_bytes())
    assert [s["start_lba"] for s in inspect(str(disc)).sessions] == [0, start]
    assert {e.path for e in list_image(str(disc))} == {"/old.txt", "/new.txt"}


def test_el_torito_and_hybrid_from_xorriso(tmp_path):
    if not have("xorriso", "mkfs.vfat") or not os.path.exists("/usr/lib/ISOLINUX/isohdpfx.bin"):
        pytest.skip("needs xorriso, dosfstools (mkfs.vfat) and isolinux (isohdpfx.bin)")
    from tests.fixtures.iso_trees import run

    source = tmp_path / "src"
    (source / "isolinux").mkdir(parents=True)
    shutil.copy("/usr/lib/ISOLINUX/isolinux.bin", source / "isolinux" / "isolinux.bin")
    efi = source / "efi.img"
    with open(efi, "wb") as handle:
        handle.truncate(2 << 20)
    run("mkfs.vfat", efi)
    image = tmp_path / "h.iso"
    run("xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot",
        "-boot-load-size", "4", "-boot-info-table", "-isohybrid-mbr", "/usr/lib/ISOLINUX/isohdpfx.bin", "-eltorito-alt-boot",
        "-e", "efi.img", "-no-emul-boot", "-isohybrid-gpt-basdat", "-o", image, source)
    info = inspect(str(image))
    assert [(e.platform, e.emulation) for e in info.el_torito] == [("bios", "none"), ("efi", "none")]
    assert info.system_area["mbr"] and info.system_area["gpt"]
    assert any(p["type"] == 0xEF for p in info.system_area["mbr_partitions"])


@needs_geniso
def test_an_image_behind_a_block_device_reads_like_the_file(tmp_path):
    """Block devices report st_size 0; an attached disc (or /dev/sr0) must still be read whole."""
    import subprocess

    from burnd.image.open import open_image

    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "a.txt").write_bytes(b"on a block device")
    image = genisoimage(tree, tmp_path / "b.iso", "-R")
    device = subprocess.run(["losetup", "--find", "--show", "--read-only", str(image)],
                            capture_output=True, text=True, check=True).stdout.strip()
    try:
        assert {e.path for e in list_image(device)} == {"/a.txt"}
        with open_image(device) as source:
            assert source.format == "iso" and source.default_track().sectors * 2048 == image.stat().st_size
    finally:
        subprocess.run(["losetup", "-d", device], check=True)


def test_checksums_and_sizes_of_a_block_device_cover_the_whole_image(tmp_path):
    """A block device's st_size is 0: hashing or sizing one must still read it whole."""
    import hashlib
    import subprocess

    from burnd.image.checksum import file_digests
    from burnd.image.source import fd_size

    image = tmp_path / "data.img"
    image.write_bytes(bytes(range(256)) * 8 * 64)  # 128 KiB
    device = subprocess.run(["losetup", "--find", "--show", "--read-only", str(image)],
                            capture_output=True, text=True, check=True).stdout.strip()
    try:
        digests = file_digests(device)
        assert digests["sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
        with open(device, "rb") as f:
            f.read(10)
            assert fd_size(f.fileno()) == image.stat().st_size
            assert f.read(5) == image.read_bytes()[10:15]  # the offset was left alone
    finally:
        subprocess.run(["losetup", "-d", device], check=True)
