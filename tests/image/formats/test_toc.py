"""cdrdao TOC: data + audio with a stored pregap, cooked MODE1, and unsupported layouts."""

from __future__ import annotations

import pytest

from burnd.errors import BadImage, UnsupportedImage
from burnd.image.formats import cdrdao_toc
from burnd.image.source import TrackMode
from tests.fixtures import cdimages as fx

from .conftest import read_track


def test_raw_data_and_audio_with_start(tmp_path):
    toc = fx.toc_image(tmp_path)
    with cdrdao_toc.open_image(str(toc)) as source:
        t1, t2 = source.tracks
        assert (t1.mode, t1.sector_size, t1.sectors) == (TrackMode.MODE1, 2352, fx.iso_sectors())
        assert (t2.mode, t2.start_lba, t2.pregap, t2.sectors) == (TrackMode.AUDIO, fx.iso_sectors() + 150, 150, 320)
        assert source.stored(t2).offset == 150 * 2352
        assert read_track(source) == fx.base_iso()


def test_cooked_mode1_is_a_plain_slice(tmp_path):
    toc = fx.toc_image(tmp_path, "MODE1", with_audio=False)
    with cdrdao_toc.open_image(str(toc)) as source:
        assert source.plain_slice().size == len(fx.base_iso())
        assert read_track(source) == fx.base_iso()


def test_comments_cd_text_and_zero_pregap(tmp_path):
    (tmp_path / "d.bin").write_bytes(fx.mode1_track())
    toc = tmp_path / "d.toc"
    toc.write_text(
        'CD_ROM // comment\nCD_TEXT { LANGUAGE_MAP { 0 : EN } LANGUAGE 0 { TITLE "x" } }\n'
        'TRACK MODE1_RAW\nZERO 00:02:00\nDATAFILE "d.bin"\nSTART 00:02:00\n'
    )
    with cdrdao_toc.open_image(str(toc)) as source:
        (t,) = source.tracks
        assert (t.start_lba, t.pregap) == (150, 150)
        assert read_track(source) == fx.base_iso()


@pytest.mark.parametrize(
    "text, error",
    [
        ("CD_ROM\n", BadImage),
        ('TRACK MODE7\nDATAFILE "d.bin"\n', BadImage),
        ('DATAFILE "d.bin"\n', BadImage),
        ('TRACK MODE1_RAW\nDATAFILE "d.bin" 00:01:00\nZERO 00:01:00\n', UnsupportedImage),
        ('TRACK MODE1_RAW\nDATAFILE "nope.bin"\n', BadImage),
        ('TRACK MODE1_RAW\nDATAFILE "d.bin" 99:00:00\n', BadImage),
    ],
)
def test_bad_toc(tmp_path, text, error):
    (tmp_path / "d.bin").write_bytes(fx.mode1_track())
    toc = tmp_path / "d.toc"
    toc.write_text(text)
    with pytest.raises(error):
        cdrdao_toc.open_image(str(toc))
