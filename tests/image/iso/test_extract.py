"""Extraction never writes outside the target, skips what it must, and reports why."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from burnd.image.iso import Entry, Kind, Run, create, extract
from burnd.image.iso.extract import _Extractor, symlink_escapes, unsafe_component
from tests.fixtures.iso_trees import MTIME, genisoimage, have, patch_rr_name, set_mtimes

needs_geniso = pytest.mark.skipif(not have("genisoimage"), reason="genisoimage is not installed (apt: genisoimage)")


def outside_untouched(base: Path, target: Path) -> None:
    """Only the target directory (and the image) exist in ``base``."""
    assert {p.name for p in base.iterdir()} <= {target.name, "image.iso", "src", "outside"}


@needs_geniso
@pytest.mark.parametrize(("old", "new", "reason"), [(b"ab", b"..", "not a plain file name"), (b"abc", b"a/b", "contains '/'"), (b"abc", b"a\0b", "contains '/' or NUL")])
def test_hostile_names_are_skipped(tmp_path, old, new, reason):
    source = tmp_path / "src"
    source.mkdir()
    (source / old.decode()).write_bytes(b"payload")
    image = genisoimage(source, tmp_path / "image.iso", "-R")
    patch_rr_name(image, old, new)
    report = extract(str(image), str(tmp_path / "out"))
    assert report.files == 0
    assert len(report.skipped) == 1 and reason.split()[-1].strip("'") in report.skipped[0].reason
    assert list((tmp_path / "out").iterdir()) == []
    outside_untouched(tmp_path, tmp_path / "out")


def test_symlink_chain_escaping_together_is_removed(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    os.symlink(".", source / "b")
    os.symlink("b/..", source / "a")
    os.symlink("b/inside", source / "c")
    image = tmp_path / "image.iso"
    create(str(source), str(image), epoch=MTIME)
    out = tmp_path / "out"
    report = extract(str(image), str(out))
    assert [s.path for s in report.skipped] == ["/a"]
    assert "through other links" in report.skipped[0].reason
    assert sorted(p.name for p in out.iterdir()) == ["b", "c"]


def test_existing_symlink_in_target_is_never_followed(tmp_path):
    source = tmp_path / "src"
    (source / "dir").mkdir(parents=True)
    (source / "dir" / "file.txt").write_bytes(b"data")
    image = tmp_path / "image.iso"
    create(str(source), str(image), epoch=MTIME)
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(outside, out / "dir")
    report = extract(str(image), str(out), force=True)
    assert list(outside.iterdir()) == []
    assert {s.path for s in report.skipped} == {"/dir", "/dir/file.txt"}


def test_symlink_created_by_this_extraction_is_never_followed(tmp_path):
    """Walkers dedupe names, but the extractor must hold even if a listing had a link and a
    later entry below a same-named path (defence in depth, entries built by hand)."""
    data = tmp_path / "data.bin"
    data.write_bytes(b"evil")
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    entries = [
        Entry(("lnk",), Kind.SYMLINK, 0, 0o120777, None, target="../outside"),
        Entry(("sub",), Kind.DIR, 0, 0o40755, None),
        Entry(("sub", "link2"), Kind.SYMLINK, 0, 0o120777, None, target="."),
        Entry(("sub", "link2", "evil"), Kind.FILE, 4, 0o100644, None, runs=(Run(0, 4),)),
        Entry(("lnk", "evil"), Kind.FILE, 4, 0o100644, None, runs=(Run(0, 4),)),
    ]
    fd = os.open(data, os.O_RDONLY)
    root = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        report = _Extractor(fd, root, force=False).run(entries)
    finally:
        os.close(fd)
        os.close(root)
    assert list(outside.iterdir()) == []
    assert not (out / "sub" / "evil").exists()
    skipped = {s.path: s.reason for s in report.skipped}
    assert "outside" in skipped["/lnk"]
    assert "parent directory was not extracted" in skipped["/sub/link2/evil"]
    assert "parent directory was not extracted" in skipped["/lnk/evil"]


@needs_geniso
def test_fifo_is_skipped_with_a_reason(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    os.mkfifo(source / "pipe")
    (source / "plain").write_bytes(b"x")
    image = genisoimage(source, tmp_path / "image.iso", "-R")
    report = extract(str(image), str(tmp_path / "out"))
    assert [(s.path, s.reason) for s in report.skipped] == [("/pipe", "fifo nodes are never created by extraction")]
    assert report.files == 1


def test_existing_files_are_kept_unless_forced(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "f.txt").write_bytes(b"from image")
    image = tmp_path / "image.iso"
    create(str(source), str(image), epoch=MTIME)
    out = tmp_path / "out"
    out.mkdir()
    (out / "f.txt").write_bytes(b"mine")
    report = extract(str(image), str(out))
    assert (out / "f.txt").read_bytes() == b"mine" and report.skipped[0].reason.startswith("exists")
    report = extract(str(image), str(out), force=True)
    assert (out / "f.txt").read_bytes() == b"from image" and not report.skipped


def test_modes_and_mtimes_restored_without_setid_bits(tmp_path):
    source = tmp_path / "src"
    (source / "ro").mkdir(parents=True)
    (source / "ro" / "tool").write_bytes(b"#!/bin/sh\n")
    os.chmod(source / "ro" / "tool", 0o4755)
    os.chmod(source / "ro", 0o555)
    set_mtimes(source)
    image = tmp_path / "image.iso"
    create(str(source), str(image), epoch=MTIME + 10)
    out = tmp_path / "out"
    extract(str(image), str(out))
    tool = (out / "ro" / "tool").stat()
    assert stat.S_IMODE(tool.st_mode) == 0o755 and tool.st_mtime == MTIME
    assert stat.S_IMODE((out / "ro").stat().st_mode) == 0o555 and (out / "ro").stat().st_mtime == MTIME
    os.chmod(out / "ro", 0o755)


def test_selected_paths_only(ours, tmp_path):
    report = extract(str(ours), str(tmp_path / "out"), paths=["/one/two"])
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")) == ["one", "one/two", "one/two/three", "one/two/three/leaf.txt"]
    assert report.files == 1 and not report.skipped


def test_component_and_symlink_rules():
    assert unsafe_component("..") and unsafe_component("") and unsafe_component("a/b") and unsafe_component("a\0")
    assert unsafe_component("...") is None
    assert symlink_escapes(("a", "b"), "../../x") and symlink_escapes(("a",), "/etc")
    assert not symlink_escapes(("a", "b"), "../x") and not symlink_escapes(("a",), "./b/../c")
