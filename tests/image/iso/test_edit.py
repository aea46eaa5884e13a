"""Editing: add/replace/remove/rename/relabel into a new image; in-place safety; El Torito."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from burnd.errors import UnsupportedImage
from burnd.image.iso import Add, BootImage, EditError, Remove, Rename, Replace, create, edit, extract, inspect, list_image
from tests.fixtures.iso_trees import MTIME, have, run, tree_files


def contents(image: Path, tmp: Path) -> dict:
    extract(str(image), str(tmp))
    return tree_files(tmp)


def test_operations_produce_the_expected_tree(ours, tree, tmp_path):
    new_file = tmp_path / "new.txt"
    new_file.write_bytes(b"brand new")
    replacement = tmp_path / "rep.bin"
    replacement.write_bytes(b"replaced")
    added_dir = tmp_path / "adir"
    (added_dir / "sub").mkdir(parents=True)
    (added_dir / "sub" / "x").write_bytes(b"x")
    before = ours.read_bytes()
    out = tmp_path / "edited.iso"
    edit(str(ours), str(out), [
        Add("/one/new.txt", str(new_file)),
        Add("/added", str(added_dir)),
        Replace("/random.bin", str(replacement)),
        Remove("/crowd"),
        Rename("/hello.txt", "/one/two/hello-moved.txt"),
    ], volume_id="RELABELED", epoch=MTIME)
    assert ours.read_bytes() == before
    assert inspect(str(out)).volume.volume_id == "RELABELED"
    got = contents(out, tmp_path / "x")
    expected = {p: v for p, v in tree_files(tree).items() if not p.startswith("/crowd") and p not in ("/hello.txt", "/link-absolute", "/one/link-escaping")}
    expected["/one/new.txt"] = ("file", b"brand new")
    expected["/random.bin"] = ("file", b"replaced")
    expected["/one/two/hello-moved.txt"] = ("file", b"hello\n")
    expected.update({"/added": ("dir", b""), "/added/sub": ("dir", b""), "/added/sub/x": ("file", b"x")})
    expected["/link-inside"] = ("symlink", "hello.txt")  # dangling now, kept as written
    assert got == expected


def test_in_place_is_atomic_and_keeps_other_data(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "keep").write_bytes(b"keep me")
    image = tmp_path / "img.iso"
    create(str(source), str(image), epoch=MTIME)
    inode = image.stat().st_ino
    edit(str(image), operations=[Add("/more", str(source / "keep"))], in_place=True, epoch=MTIME)
    assert image.stat().st_ino != inode  # replaced by rename, never rewritten in place
    assert {e.path for e in list_image(str(image))} == {"/keep", "/more"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.iso", "src"]


def test_failed_edit_leaves_no_output_and_original_intact(tmp_path, ours):
    before = ours.read_bytes()
    with pytest.raises(EditError, match="no such file"):
        edit(str(ours), str(tmp_path / "o.iso"), [Remove("/one/missing")])
    with pytest.raises(EditError, match="already exists"):
        edit(str(ours), str(tmp_path / "o.iso"), [Rename("/hello.txt", "/empty")])
    with pytest.raises(EditError, match="into itself"):
        edit(str(ours), str(tmp_path / "o.iso"), [Rename("/one", "/one/two/one")])
    with pytest.raises(EditError, match="not a plain file name"):
        edit(str(ours), str(tmp_path / "o.iso"), [Add("/../escape", str(tmp_path))])
    assert not any(tmp_path.iterdir()) and ours.read_bytes() == before


def test_boot_entries_survive_an_edit(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "loader.bin").write_bytes(os.urandom(2048))
    (source / "efi.img").write_bytes(os.urandom(8192))
    image = tmp_path / "boot.iso"
    create(str(source), str(image), epoch=MTIME, boot=[BootImage("/loader.bin", info_table=True), BootImage("/efi.img", "efi")])
    (tmp_path / "aaa-first").write_bytes(b"e" * 5000)  # sorts first: the boot files move
    out = tmp_path / "out.iso"
    edit(str(image), str(out), [Add("/aaa-first", str(tmp_path / "aaa-first"))], epoch=MTIME)
    info = inspect(str(out))
    entries = {e.path: e for e in list_image(str(out))}
    loader = entries["/loader.bin"].runs[0].offset
    assert [(b.platform, b.lba * 2048) for b in info.el_torito] == [("bios", loader), ("efi", entries["/efi.img"].runs[0].offset)]
    assert loader != {e.path: e for e in list_image(str(image))}["/loader.bin"].runs[0].offset
    with open(out, "rb") as handle:  # the boot info table was patched for the new location
        handle.seek(loader + 12)
        assert int.from_bytes(handle.read(4), "little") * 2048 == loader


@pytest.mark.skipif(not have("xorriso"), reason="xorriso is not installed")
def test_hidden_boot_image_refuses_edit(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "loader.bin").write_bytes(os.urandom(2048))
    (source / "f").write_bytes(b"f")
    image = tmp_path / "hidden.iso"
    run("xorriso", "-as", "mkisofs", "-quiet", "-R", "-b", "loader.bin", "-no-emul-boot", "-hide", "loader.bin", "-hide", "boot.catalog", "-o", image, source)
    with pytest.raises(UnsupportedImage, match="hidden"):
        edit(str(image), str(tmp_path / "o.iso"), [Remove("/f")])


def test_edit_of_foreign_image_keeps_identifiers(geniso, tmp_path):
    out = tmp_path / "g2.iso"
    edit(str(geniso), str(out), [Remove("/crowd")], epoch=MTIME)
    assert inspect(str(out)).volume.volume_id == "GENISO"
    assert "/a/b/c/d/e/f/g/h/i/j/deep.txt" in {e.path for e in list_image(str(out))}
