"""Digests, SUMS files in all three line forms, implanted isomd5sum and libisofs tags."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from burnd.image.checksum import (
    check_image,
    check_implanted_md5,
    check_libisofs_tags,
    file_digests,
    parse_sums,
    verify_sums,
)
from burnd.image.iso import create
from tests.fixtures.iso_trees import MTIME, have, payload, run


def test_digests_match_hashlib(ours):
    data = ours.read_bytes()
    assert file_digests(str(ours), ["sha256", "md5"]) == {"sha256": hashlib.sha256(data).hexdigest(), "md5": hashlib.md5(data).hexdigest()}


def test_parse_all_sums_forms():
    sha = "a" * 64
    text = f"{sha}  plain.iso\n{sha} *binary.iso\nSHA256 (bsd.iso) = {sha}\nMD5 (m.iso) = {'b' * 32}\n# comment\n-----BEGIN PGP SIGNATURE-----\n"
    assert [(line.algorithm, line.name) for line in parse_sums(text)] == [("sha256", "plain.iso"), ("sha256", "binary.iso"), ("sha256", "bsd.iso"), ("md5", "m.iso")]


@pytest.mark.parametrize("form", ["gnu", "binary", "bsd"])
def test_verify_sums_ok_mismatch_absent(ours, tmp_path, form):
    digest = hashlib.sha256(ours.read_bytes()).hexdigest()
    line = {"gnu": f"{digest}  {ours.name}", "binary": f"{digest} *{ours.name}", "bsd": f"SHA256 ({ours.name}) = {digest}"}[form]
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(line + "\n")
    assert verify_sums(str(ours), str(sums)).status == "ok"
    sums.write_text(line.replace(digest, "0" * 64) + "\n")
    result = verify_sums(str(ours), str(sums))
    assert (result.status, result.actual) == ("mismatch", digest)
    assert verify_sums(str(ours), str(sums), name="other.iso").status == "absent"


def test_md5sums_file(ours, tmp_path):
    sums = tmp_path / "MD5SUMS"
    sums.write_text(f"{hashlib.md5(ours.read_bytes()).hexdigest()}  {ours.name}\n")
    assert verify_sums(str(ours), str(sums)).to_dict()["algorithm"] == "md5"
    assert verify_sums(str(ours), str(sums)).status == "ok"


@pytest.fixture
def implanted(tmp_path) -> Path:
    """An isomd5sum-implanted image. checkisomd5 1.2.3 reports FAIL for tiny images (its
    fragment arithmetic), so the payload is a few megabytes."""
    if not have("implantisomd5", "checkisomd5"):
        pytest.skip("isomd5sum is not installed (apt: isomd5sum)")
    source = tmp_path / "src"
    source.mkdir()
    (source / "data.bin").write_bytes(payload(5, 3 << 20))
    image = tmp_path / "implanted.iso"
    create(str(source), str(image), epoch=MTIME)
    run("implantisomd5", image)
    run("checkisomd5", image)  # exit status 0: the independent checker agrees it is intact
    return image


def test_implanted_md5_ok_and_mismatch(implanted, tmp_path):
    result = check_implanted_md5(str(implanted))
    assert result.status == "ok" and result.skip_sectors == 15
    broken = tmp_path / "broken.iso"
    shutil.copy(implanted, broken)
    with open(broken, "r+b") as handle:
        handle.seek(200 * 2048)
        handle.write(b"\xff")
    assert check_implanted_md5(str(broken)).status == "mismatch"


def test_implanted_md5_absent(ours):
    assert check_implanted_md5(str(ours)).status == "absent"


def test_libisofs_tags(xorr, tmp_path):
    result = check_libisofs_tags(str(xorr))
    assert result.status == "ok"
    assert [t.kind for t in result.tags] == ["sb_checksum_tag_v1", "tree_checksum_tag_v1", "checksum_tag_v1"]
    broken = tmp_path / "broken.iso"
    shutil.copy(xorr, broken)
    session = result.tags[-1]
    with open(broken, "r+b") as handle:
        handle.seek((session.range_start + session.range_size - 1) * 2048)
        handle.write(b"\x01")
    assert check_libisofs_tags(str(broken)).status == "mismatch"


def test_libisofs_tags_absent(ours):
    assert check_libisofs_tags(str(ours)).status == "absent"


def test_check_image_bundle(xorr, tmp_path):
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{hashlib.sha256(xorr.read_bytes()).hexdigest()}  {xorr.name}\n")
    report = check_image(str(xorr), str(sums)).to_dict()
    assert report["sums"]["status"] == "ok" and report["libisofs"]["status"] == "ok" and report["implanted_md5"]["status"] == "absent"
