"""BIN/CUE: track types, offsets in mixed and multi-file sheets, gaps, sessions, bad sheets."""

from __future__ import annotations

import pytest

from burnd.errors import BadImage, UnsupportedImage
from burnd.image.formats import bincue
from burnd.image.source import TrackMode
from tests.fixtures import cdimages as fx

from .conftest import read_track


@pytest.mark.parametrize("kind", ["MODE1/2352", "MODE1/2048", "MODE2/2352", "MODE2/2336"])
def test_single_track_types_give_the_payload(tmp_path, kind):
    cue = fx.single_bincue(tmp_path, kind)
    with bincue.open_image(str(cue)) as source:
        (track,) = source.tracks
        assert track.sectors == fx.iso_sectors()
        assert track.sector_size == int(kind.split("/")[1])
        assert read_track(source) == fx.base_iso()
        assert source.data_view().errors.count == 0
        plain = source.plain_slice()
        if kind == "MODE1/2048":
            assert plain is not None and (plain.offset, plain.size) == (0, len(fx.base_iso()))
        else:
            assert plain is None


def test_mixed_file_offsets_gaps_and_case_insensitive_name(tmp_path):
    disc = fx.mixed_single_file(tmp_path)
    n = fx.iso_sectors()
    with bincue.open_image(str(disc.cue)) as source:
        t1, t2, t3 = source.tracks
        assert (t1.mode, t2.mode, t3.mode) == (TrackMode.MODE1, TrackMode.AUDIO, TrackMode.AUDIO)
        assert (t2.start_lba, t2.pregap, t2.sectors) == (n + 150, 150, 320)
        # track 3's PREGAP is not stored: it shifts the address but no bytes
        assert (t3.start_lba, t3.pregap, t3.sectors) == (n + 150 + 320 + 150, 150, 310)
        assert source.stored(t3).offset == (n + 150 + 320) * 2352
        assert source.stored(t1).path.endswith("Mixed.BIN")
        assert read_track(source) == fx.base_iso()
        with pytest.raises(BadImage, match="audio"):
            source.data_view(t2)


def test_multi_file_redump_style(tmp_path):
    disc = fx.mixed_multi_file(tmp_path)
    with bincue.open_image(str(disc.cue)) as source:
        t1, t2, t3 = source.tracks
        assert source.stored(t2).offset == 150 * 2352 and source.stored(t2).big_endian_audio
        assert (t2.start_lba, t3.start_lba) == (t1.sectors + 150, t1.sectors + 150 + 320 + 150)
        assert read_track(source) == fx.base_iso()


def test_sessions_and_default_track(tmp_path):
    cue = fx.two_session_cue(tmp_path)
    with bincue.open_image(str(cue)) as source:
        assert [s.number for s in source.sessions] == [1, 2]
        t2 = source.default_track()
        assert t2.number == 2 and t2.session == 2
        assert t2.start_lba == fx.iso_sectors() + 11400  # lead-out 6750 + lead-in 4500 + pregap 150
        view = source.data_view(t2)
        buffer = bytearray(t2.sectors * 2048)
        view.readinto(0, buffer)
        assert bytes(buffer) == fx.base_iso() and view.errors.count == 0


def test_parse_handles_bom_comments_and_windows_paths(tmp_path):
    (tmp_path / "game.bin").write_bytes(fx.mode1_track())
    text = '\ufeffREM COMMENT "x"\r\nCATALOG 0000000000000\r\nFILE "C:\\rips\\GAME.bin" BINARY\r\n  TRACK 01 MODE1/2352\r\n    FLAGS DCP\r\n    INDEX 01 00:00:00\r\n'
    cue = tmp_path / "game.cue"
    cue.write_text(text, encoding="utf-8")
    with bincue.open_image(str(cue)) as source:
        assert read_track(source) == fx.base_iso()


@pytest.mark.parametrize(
    "text, message",
    [
        ("TRACK 01 MODE1/2352\n", "after a FILE"),
        ('FILE "a.bin" BINARY\n  TRACK 01 MODE9/2352\n    INDEX 01 00:00:00\n', "unknown track type"),
        ('FILE "a.bin" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:99:00\n', "line 3"),
        ('FILE "a.bin" BINARY\n  TRACK 01 MODE1/2352\n', "no INDEX 01"),
        ('FILE "a.bin" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    INDEX 00 00:10:00\n    INDEX 01 00:09:00\n', "INDEX 00 lies after"),
        ('FILE "a.bin" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    INDEX 01 20:00:00\n', "truncated"),
        ('FILE "missing.bin" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n', "not in"),
        ('FILE "a.bin" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n', "WAVE"),
        ("REM just a comment\n", "no TRACK"),
    ],
)
def test_bad_sheets_raise_bad_image(tmp_path, text, message):
    (tmp_path / "a.bin").write_bytes(fx.mode1_track())
    cue = tmp_path / "a.cue"
    cue.write_text(text)
    with pytest.raises(BadImage, match=message):
        bincue.open_image(str(cue))


def test_wave_files_are_unsupported_not_bad(tmp_path):
    (tmp_path / "a.bin").write_bytes(bytes(2352 * 10))
    cue = tmp_path / "a.cue"
    cue.write_text('FILE "a.bin" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n')
    with pytest.raises(UnsupportedImage):
        bincue.open_image(str(cue))


def test_probe(tmp_path):
    cue = fx.single_bincue(tmp_path)
    with open(cue, "rb") as f:
        assert bincue.probe(f, cue.stat().st_size)
    toc = fx.toc_image(tmp_path / ".." / tmp_path.name)
    with open(toc, "rb") as f:
        assert not bincue.probe(f, toc.stat().st_size)
    with open(tmp_path / "disc.bin", "rb") as f:
        assert not bincue.probe(f, 10**6)


def test_postgap_shifts_later_tracks(tmp_path):
    (tmp_path / "p.bin").write_bytes(fx.mode1_track() + fx.audio_track(300))
    n = fx.iso_sectors()
    cue = tmp_path / "p.cue"
    cue.write_text(
        f'FILE "p.bin" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n    POSTGAP 00:02:00\n'
        f"  TRACK 02 AUDIO\n    INDEX 01 {fx.msf(n)}\n"
    )
    with bincue.open_image(str(cue)) as source:
        t1, t2 = source.tracks
        assert (t1.sectors, t2.start_lba, source.stored(t2).offset) == (n, n + 150, n * 2352)
