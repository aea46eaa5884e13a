"""Our listing and extraction against independent readers, on our images and theirs.

Known, explained differences (reference §22.3):
- 7-Zip reads the Joliet tree when there is one: Joliet names (64 characters, 103 with
  -joliet-long) and no symlinks. We compare it with our own walk of the Joliet tree.
- isoinfo -R shows relocated directories raw under /rr_moved; we show them at their place.
- xorriso (like the Linux kernel) keeps the emptied /rr_moved directory itself visible; we and
  bsdtar hide it once every child was shown at its real place.
- extraction: we refuse to create symlinks that point outside the target (absolute or
  climbing out); bsdtar creates them. Those two links are excluded from the content comparison.
"""

from __future__ import annotations

import os
from pathlib import Path

import pycdlib
import pytest

from burnd.image.iso import Kind, extract, list_image
from burnd.image.iso.imagefile import ImageFile
from burnd.image.iso.tree import TreeWalker
from burnd.image.iso.volumes import read_descriptor_set
from tests.fixtures.iso_tools import SEVEN_ZIP, bsdtar_extract, bsdtar_paths, isoinfo_paths, seven_zip_extract, seven_zip_paths, xorriso_paths
from tests.fixtures.iso_trees import have, tree_files

IMAGES = ["ours", "geniso", "xorr"]
ESCAPING = {"/link-absolute", "/one/link-escaping"}


def our_paths(image: Path) -> set[str]:
    return {e.path for e in list_image(str(image))}


def joliet_paths(image: Path) -> set[str]:
    with ImageFile(str(image)) as handle:
        vd = read_descriptor_set(handle, 0).joliet
        return {e.path for e in TreeWalker(handle, vd, joliet=True).walk().entries}


@pytest.mark.skipif(not have("xorriso"), reason="xorriso is not installed")
@pytest.mark.parametrize("image_fixture", IMAGES)
def test_listing_equals_xorriso(request, image_fixture):
    image = request.getfixturevalue(image_fixture)
    theirs = xorriso_paths(image)
    if image_fixture == "geniso":
        theirs.remove("/rr_moved")
    assert our_paths(image) == theirs


@pytest.mark.skipif(not have("bsdtar"), reason="bsdtar is not installed (apt: libarchive-tools)")
@pytest.mark.parametrize("image_fixture", IMAGES)
def test_listing_equals_bsdtar(request, image_fixture):
    image = request.getfixturevalue(image_fixture)
    assert our_paths(image) == bsdtar_paths(image)


@pytest.mark.skipif(SEVEN_ZIP is None, reason="7-Zip is not installed (apt: 7zip)")
@pytest.mark.parametrize("image_fixture", IMAGES)
def test_joliet_listing_equals_7zip(request, image_fixture):
    image = request.getfixturevalue(image_fixture)
    assert joliet_paths(image) == seven_zip_paths(image)


@pytest.mark.skipif(not have("isoinfo"), reason="isoinfo is not installed (apt: genisoimage)")
@pytest.mark.parametrize("image_fixture", IMAGES)
def test_listing_equals_isoinfo_apart_from_relocation(request, image_fixture):
    image = request.getfixturevalue(image_fixture)
    theirs = isoinfo_paths(image, "-R")
    moved = {p for p in theirs if p.startswith("/rr_moved")}
    ours = our_paths(image)
    if moved:  # genisoimage relocated /a/b/c/d/e/f/g/h/i: isoinfo shows it raw
        assert "/rr_moved/i/j/deep.txt" in moved or any(p.endswith("/deep.txt") for p in moved)
        ours = {p for p in ours if not p.startswith("/a/b/c/d/e/f/g/h/")}
        theirs -= moved
    assert ours == theirs
    assert joliet_paths(image) == isoinfo_paths(image, "-J")


def _contents(root: Path, skip: set[str]) -> dict[str, object]:
    return {p: v for p, v in tree_files(root).items() if p not in skip}


@pytest.mark.skipif(not have("bsdtar"), reason="bsdtar is not installed (apt: libarchive-tools)")
@pytest.mark.parametrize("image_fixture", IMAGES)
def test_extraction_equals_bsdtar_and_the_source(request, image_fixture, tree, tmp_path):
    image = request.getfixturevalue(image_fixture)
    report = extract(str(image), str(tmp_path / "ours"))
    assert {s.path for s in report.skipped} == ESCAPING
    theirs = bsdtar_extract(image, tmp_path / "bsdtar")
    assert _contents(tmp_path / "ours", ESCAPING) == _contents(theirs, ESCAPING) == _contents(tree, ESCAPING)


@pytest.mark.skipif(SEVEN_ZIP is None, reason="7-Zip is not installed (apt: 7zip)")
def test_extraction_equals_7zip_for_regular_files(ours, tmp_path):
    extract(str(ours), str(tmp_path / "ours"))
    theirs = seven_zip_extract(ours, tmp_path / "7z")
    mine = {p: v for p, v in tree_files(tmp_path / "ours").items() if v[0] == "file"}
    seven = {p: v for p, v in tree_files(theirs).items() if v[0] == "file" and p in mine}
    assert mine.keys() - seven.keys() == {p for p in mine if len(os.path.basename(p)) > 64}
    assert all(seven[p] == mine[p] for p in seven)


def test_pycdlib_reads_our_image(ours, tree):
    """pycdlib as an independent reader of what our writer produced (Rock Ridge paths)."""
    iso = pycdlib.PyCdlib()
    iso.open(str(ours))
    try:
        for entry in list_image(str(ours)):
            if entry.kind is not Kind.FILE:
                continue
            record = iso.get_record(rr_path=entry.path)
            assert record.get_data_length() == entry.size
            if entry.size:
                import io

                buffer = io.BytesIO()
                iso.get_file_from_iso_fp(buffer, rr_path=entry.path)
                assert buffer.getvalue() == (tree / entry.path.lstrip("/")).read_bytes()
    finally:
        iso.close()
