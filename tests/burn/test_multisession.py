"""Multi-session: appending sessions to CD-R, DVD-R, DVD+R, BD-R (DVD-RW too) and growing the
ISO on DVD+RW / BD-RE. The last session must hold the new tree and the old files must stay
readable — checked with pycdlib on the virtual disc's backing file, as a kernel would see it."""

from __future__ import annotations

from pathlib import Path

import pytest

from burnd.burn import BurnOptions, MediumNotBlank, burn, multisession_info
from tests.burn.conftest import POLL, image_bytes
from tests.fixtures.burn_sessions import have_genisoimage, master, read_tree

pytestmark = pytest.mark.skipif(not have_genisoimage(), reason="genisoimage is not installed (Debian package genisoimage)")

FIRST = {"a.txt": b"first session\n" * 100, "dir/one.bin": image_bytes(70_000, 1)}
SECOND = {"b.txt": b"second session\n" * 50, "dir/two.bin": image_bytes(40_000, 2)}
THIRD = {"c.txt": b"third\n"}


def _session(rig, tree: dict[str, bytes], out: Path, *, previous: bool, **options: object):  # type: ignore[no-untyped-def]
    msinfo = multisession_info(rig.drive)
    backing = Path(rig.backing)
    image = master(tree, out, previous=backing if previous else None, msinfo=msinfo if previous else None)
    with open(image, "rb") as handle:
        result = burn(rig.drive, handle, BurnOptions(multisession=True, **options), poll=POLL)  # type: ignore[arg-type]
    assert result.verified and result.start_lba == msinfo[1]
    return result


def _last_session_start(rig, result) -> int:  # type: ignore[no-untyped-def]
    return 0 if result.report.overwritable else result.start_lba


@pytest.mark.parametrize("media", ["cd-r", "dvd-r", "dvd-rw", "dvd+r", "bd-r", "dvd+rw", "bd-re", "dvd-ram"])
def test_append_keeps_old_files(make_rig, tmp_path, media: str) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig(media, capacity=30_000, backing=True)
    first = _session(rig, FIRST, tmp_path / "s1.iso", previous=False)
    assert first.start_lba == 0
    assert read_tree(Path(rig.backing)) == FIRST
    second = _session(rig, SECOND, tmp_path / "s2.iso", previous=True)
    assert second.start_lba > 0
    assert read_tree(Path(rig.backing), _last_session_start(rig, second)) == FIRST | SECOND
    third = _session(rig, THIRD, tmp_path / "s3.iso", previous=True, finalize=True)
    assert read_tree(Path(rig.backing), _last_session_start(rig, third)) == FIRST | SECOND | THIRD
    report = rig.drive.media_report()
    if not report.overwritable:
        assert report.disc_status == "complete"
        assert third.plan.previous_session == second.start_lba


def test_growing_refuses_foreign_data_without_consent(make_rig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig("bd-re", capacity=30_000, backing=True)
    with open(master(FIRST, tmp_path / "s1.iso"), "rb") as image:
        burn(rig.drive, image, BurnOptions(), poll=POLL)
    with open(master(SECOND, tmp_path / "s2.iso"), "rb") as image, pytest.raises(MediumNotBlank, match="multisession"):
        burn(rig.drive, image, BurnOptions(), poll=POLL)
