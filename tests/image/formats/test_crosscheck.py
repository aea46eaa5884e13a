"""Our readers and writer against the independent Debian tools (reference §21, §22.3).

Each tool must agree byte for byte with our ISO output where it is right; where it is known
to be wrong, the test says how and checks only the part it gets right.
"""

from __future__ import annotations

import re
import subprocess

from burnd.image.convert import convert_to_iso, write_bin_cue
from burnd.image.formats import bincue, cdrdao_toc
from burnd.image.open import open_image
from tests.fixtures import cdimages as fx

from .conftest import need_tool


def run(*args: str, cwd=None) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, errors="replace", timeout=120, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout + done.stderr


def test_bchunk_agrees_on_our_raw_bin(tmp_path):
    need_tool("bchunk", "bchunk")
    cue = fx.single_bincue(tmp_path)
    run("bchunk", "disc.bin", "disc.cue", "out", cwd=tmp_path)
    convert_to_iso(str(cue), str(tmp_path / "ours.iso"))
    assert (tmp_path / "out01.iso").read_bytes() == (tmp_path / "ours.iso").read_bytes() == fx.base_iso()


def test_bchunk_reads_what_write_bin_cue_writes(tmp_path):
    """bchunk only copies bytes 16..2063 of each sector, so this checks our framing; the ECM
    test in test_cdsector checks the EDC/ECC that bchunk ignores."""
    need_tool("bchunk", "bchunk")
    iso = tmp_path / "a.iso"
    iso.write_bytes(fx.base_iso())
    with open_image(str(iso)) as source:
        write_bin_cue(source, str(tmp_path / "w.cue"))
    run("bchunk", "w.bin", "w.cue", "b", cwd=tmp_path)
    assert (tmp_path / "b01.iso").read_bytes() == fx.base_iso()


def test_writer_output_is_ecm_regenerable(tmp_path):
    import pytest

    pyecm = pytest.importorskip("pyecm", reason="PyPI pyecm-tools is not installed")
    iso = tmp_path / "a.iso"
    iso.write_bytes(fx.base_iso())
    with open_image(str(iso)) as source:
        _, bin_path = write_bin_cue(source, str(tmp_path / "w.cue"))
    pyecm.encode(bin_path, str(tmp_path / "w.ecm"))
    sectors = fx.iso_sectors()
    assert (tmp_path / "w.ecm").stat().st_size < sectors * 2048 + sectors * 8  # every sector regenerable


def test_nrg2iso_and_iat(tmp_path):
    """nrg2iso copies from byte 307200 to the end of the file, so its ISO carries the NRG chunk
    chain and footer as trailing garbage (the reference says "bit-identical"; it is only up to
    the ISO's size). iat finds the ISO by its volume descriptor and is exact."""
    need_tool("nrg2iso", "nrg2iso")
    need_tool("iat", "iat")
    nrg = fx.nrg_iso(tmp_path / "a.nrg")
    convert_to_iso(str(nrg), str(tmp_path / "ours.iso"))
    ours = (tmp_path / "ours.iso").read_bytes()
    run("nrg2iso", str(nrg), str(tmp_path / "n.iso"))
    theirs = (tmp_path / "n.iso").read_bytes()
    assert theirs[: len(ours)] == ours == fx.base_iso()
    assert theirs[len(ours) :] == nrg.read_bytes()[307200 + len(ours) :]
    run("iat", str(nrg), str(tmp_path / "i.iso"))
    assert (tmp_path / "i.iso").read_bytes() == ours


def test_mdf2iso(tmp_path):
    need_tool("mdf2iso", "mdf2iso")
    mds = fx.mds_image(tmp_path, [fx.MdsTrack(fx.MDS_MODE1_RAW, 2352, fx.mode1_track(), 150)])
    convert_to_iso(str(mds), str(tmp_path / "ours.iso"))
    run("mdf2iso", str(tmp_path / "disc.mdf"), str(tmp_path / "m.iso"))
    assert (tmp_path / "m.iso").read_bytes() == (tmp_path / "ours.iso").read_bytes() == fx.base_iso()


def test_ccd2iso(tmp_path):
    need_tool("ccd2iso", "ccd2iso")
    ccd = fx.ccd_image(tmp_path, [(1, fx.mode1_track())])
    convert_to_iso(str(ccd), str(tmp_path / "ours.iso"))
    run("ccd2iso", str(tmp_path / "disc.img"), str(tmp_path / "c.iso"))
    assert (tmp_path / "c.iso").read_bytes() == (tmp_path / "ours.iso").read_bytes() == fx.base_iso()


def test_cdrdao_show_toc_matches_our_layout(tmp_path):
    need_tool("cdrdao", "cdrdao")
    toc = fx.toc_image(tmp_path)
    out = run("cdrdao", "show-toc", str(toc))
    starts = [int(n) for n in re.findall(r"START\s+\S+\(\s*(\d+)\)", out)]
    ends = [int(n) for n in re.findall(r"END\s+\S+\(\s*(\d+)\)", out)]
    with cdrdao_toc.open_image(str(toc)) as source:
        assert starts == [t.start_lba for t in source.tracks]
        assert ends == [t.start_lba + t.sectors for t in source.tracks]


def test_toc2cue_gives_the_same_tracks(tmp_path):
    """toc2cue refuses TOCs with several data files (reference §4.4), so use a one-file TOC."""
    need_tool("toc2cue", "cdrdao")
    toc = fx.toc_image(tmp_path, "MODE1", with_audio=False)
    run("toc2cue", str(toc), str(tmp_path / "t.cue"))
    with cdrdao_toc.open_image(str(toc)) as a, bincue.open_image(str(tmp_path / "t.cue")) as b:
        assert [(t.mode, t.start_lba, t.sectors, t.sector_size) for t in a.tracks] == [
            (t.mode, t.start_lba, t.sectors, t.sector_size) for t in b.tracks
        ]
        assert a.plain_slice() == b.plain_slice()


def test_iat_finds_the_same_iso_in_cdi_mdf_and_img(tmp_path):
    """iat scans any file for the ISO volume descriptor and works out the sector layout; it is
    the only independent reader on Debian that accepts a CDI (reference §9)."""
    need_tool("iat", "iat")
    images = {
        "d.cdi": fx.cdi_image(tmp_path / "d.cdi", [[fx.CdiTrack(1, 2352, fx.mode1_track())]]),
        "disc.mdf": fx.mds_image(tmp_path, [fx.MdsTrack(fx.MDS_MODE1_RAW, 2352, fx.mode1_track(), 150)]),
        "c.img": fx.ccd_image(tmp_path, [(1, fx.mode1_track())], name="c"),
    }
    for data_name, descriptor in images.items():
        ours = tmp_path / f"{data_name}.ours.iso"
        convert_to_iso(str(descriptor), str(ours))
        run("iat", str(tmp_path / data_name), str(tmp_path / f"{data_name}.iat.iso"))
        assert (tmp_path / f"{data_name}.iat.iso").read_bytes() == ours.read_bytes() == fx.base_iso(), data_name
