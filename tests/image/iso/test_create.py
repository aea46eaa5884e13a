"""Creating images: reproducibility, El Torito, multi-extent, Rock Ridge content, pycdlib."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from burnd.image.iso import BootImage, CreateError, create, extract, inspect, list_image
from burnd.image.iso import writer
from tests.fixtures.iso_tools import bsdtar_extract, xorriso_paths
from tests.fixtures.iso_trees import MTIME, have, make_tree, payload, run


def test_same_tree_and_epoch_give_identical_bytes(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    create(str(tree), str(tmp_path / "a.iso"))
    copy = make_tree(tmp_path / "copy")  # same content, different inodes and creation order
    create(str(copy), str(tmp_path / "b.iso"))
    assert (tmp_path / "a.iso").read_bytes() == (tmp_path / "b.iso").read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000001")
    create(str(tree), str(tmp_path / "c.iso"))
    assert (tmp_path / "a.iso").read_bytes() != (tmp_path / "c.iso").read_bytes()


def test_epoch_clamps_file_times(tree, tmp_path):
    create(str(tree), str(tmp_path / "a.iso"), epoch=MTIME - 100)
    info = inspect(str(tmp_path / "a.iso"))
    assert info.volume.created == MTIME - 100
    assert {e.mtime for e in list_image(str(tmp_path / "a.iso"))} == {MTIME - 100}


def test_label_and_namespaces(ours):
    info = inspect(str(ours))
    assert info.volume.volume_id == "BURND_TEST" and info.namespace == "rockridge"
    assert info.joliet_level == 3 and info.rock_ridge == "1.09"
    assert info.tree.symlinks == 3 and info.tree.files == 68


def test_boot_entries_bios_and_efi(tmp_path):
    source = tmp_path / "src"
    (source / "boot").mkdir(parents=True)
    (source / "boot" / "loader.bin").write_bytes(payload(2, 4096))
    (source / "efi.img").write_bytes(payload(3, 1 << 20))
    image = tmp_path / "boot.iso"
    create(str(source), str(image), epoch=MTIME, boot=[BootImage("/boot/loader.bin", info_table=True), BootImage("/efi.img", "efi")])
    info = inspect(str(image))
    entries = {e.path: e for e in list_image(str(image))}
    assert [(b.platform, b.emulation, b.sector_count) for b in info.el_torito] == [("bios", "none", 4), ("efi", "none", 2048)]
    assert [b.lba * 2048 for b in info.el_torito] == [entries["/boot/loader.bin"].runs[0].offset, entries["/efi.img"].runs[0].offset]
    with open(image, "rb") as handle:
        handle.seek(entries["/boot/loader.bin"].runs[0].offset)
        loaded = handle.read(4096)
    assert loaded[:8] == payload(2, 4096)[:8] and loaded[64:] == payload(2, 4096)[64:]
    assert int.from_bytes(loaded[8:12], "little") == 16 and int.from_bytes(loaded[16:20], "little") == 4096
    if have("xorriso"):
        report = run("xorriso", "-indev", image, "-report_el_torito", "plain")
        assert "BIOS  y   none" in report and "UEFI  y   none" in report


def test_missing_boot_image_is_refused(tree, tmp_path):
    with pytest.raises(CreateError, match="not a non-empty file"):
        create(str(tree), str(tmp_path / "x.iso"), boot=[BootImage("/nope.bin")])
    assert not any(tmp_path.iterdir())


def test_multi_extent_files_read_by_others(tmp_path, monkeypatch):
    """Files of 4 GiB and more become several extents. Writing a real 4 GiB file takes
    4-30 s here (disk-bound), so the extent limit is lowered to 8 KiB: the record layout is the
    same, and independent readers must join the pieces."""
    monkeypatch.setattr(writer, "MAX_EXTENT", 8192)
    source = tmp_path / "src"
    source.mkdir()
    data = payload(4, 50_000)
    (source / "big.bin").write_bytes(data)
    os.utime(source / "big.bin", (MTIME, MTIME))
    image = tmp_path / "multi.iso"
    create(str(source), str(image), epoch=MTIME)
    (entry,) = list_image(str(image))
    assert entry.size == 50_000 and len(entry.runs) == 7
    extract(str(image), str(tmp_path / "ours"))
    assert (tmp_path / "ours" / "big.bin").read_bytes() == data
    if have("bsdtar"):
        assert (bsdtar_extract(image, tmp_path / "bsdtar") / "big.bin").read_bytes() == data
    if have("xorriso"):
        run("xorriso", "-osirrox", "on", "-indev", image, "-extract", "/big.bin", tmp_path / "xorriso.bin")
        assert (tmp_path / "xorriso.bin").read_bytes() == data


@pytest.mark.skipif(not have("xorriso", "bsdtar"), reason="needs xorriso and bsdtar")
def test_real_4gib_multi_extent_file_from_xorriso(tmp_path):
    """A real > 4 GiB file (sparse source) through xorriso -iso-level 3: 3-4 s with the image
    in /dev/shm, which is used when it has room (else the disk: up to ~30 s)."""
    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() and shutil.disk_usage(shm).free > (12 << 30) else tmp_path
    try:
        source = base / "src"
        source.mkdir()
        size = (4 << 30) + (4 << 20)
        with open(source / "huge.bin", "wb") as handle:
            handle.write(b"HEAD")
            handle.seek(size - 4)
            handle.write(b"TAIL")
        image = base / "huge.iso"
        run("xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-iso-level", "3", "-o", image, source)
        (entry,) = list_image(str(image))
        assert entry.size == size and len(entry.runs) == 2
        assert sum(r.length for r in entry.runs) == size
        with open(image, "rb") as handle:
            handle.seek(entry.runs[0].offset)
            assert handle.read(4) == b"HEAD"
            handle.seek(entry.runs[-1].offset + entry.runs[-1].length - 4)
            assert handle.read(4) == b"TAIL"
        assert f" {size} " in run("bsdtar", "tvf", image)
    finally:
        if base != tmp_path:
            shutil.rmtree(base)


def test_symlinks_and_hard_links(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "a").write_bytes(b"shared")
    os.link(source / "a", source / "b")
    os.symlink("a", source / "s")
    image = tmp_path / "l.iso"
    create(str(source), str(image), epoch=MTIME)
    entries = {e.path: e for e in list_image(str(image))}
    assert entries["/a"].runs == entries["/b"].runs
    assert entries["/s"].target == "a"


@pytest.mark.skipif(not have("xorriso", "bsdtar"), reason="needs xorriso and bsdtar")
def test_long_names_and_long_symlink_targets(tmp_path):
    source = tmp_path / "src"
    (source / ("d" * 200)).mkdir(parents=True)
    (source / ("d" * 200) / ("f" * 250)).write_bytes(b"x")
    target = "/".join(["seg" * 10] * 25)  # 774 bytes: several SL entries in a continuation area
    # (libisofs refuses Rock Ridge link targets above 1024 bytes: "Rock Ridge path too long")
    os.symlink(target, source / "longlink")
    image = tmp_path / "long.iso"
    create(str(source), str(image), epoch=MTIME)
    entries = {e.path: e for e in list_image(str(image))}
    assert entries["/longlink"].target == target
    assert f"/{'d' * 200}/{'f' * 250}" in entries
    assert set(entries) == xorriso_paths(image)
    theirs = bsdtar_extract(image, tmp_path / "bsdtar")
    assert os.readlink(theirs / "longlink") == target


def test_device_nodes_are_skipped_when_creating(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    os.mkfifo(source / "pipe")
    report = create(str(source), str(tmp_path / "f.iso"), epoch=MTIME)
    assert report.skipped == [("/pipe", "device nodes, FIFOs and sockets are not put on discs")]


def test_not_a_directory(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(CreateError, match="not a directory"):
        create(str(tmp_path / "file"), str(tmp_path / "x.iso"))
