"""convert_to_iso (what is kept, what is reported dropped, atomic output) and write_bin_cue."""

from __future__ import annotations

import os

import pytest

from burnd.errors import BadImage
from burnd.image import cdsector as cd
from burnd.image.convert import convert_to_iso, write_bin_cue
from burnd.image.formats import bincue
from burnd.image.open import open_image
from burnd.image.source import TrackMode
from tests.fixtures import cdimages as fx

from .conftest import read_track


def _no_temp_files(folder) -> bool:
    return not [p for p in os.listdir(folder) if p.endswith(".part")]


@pytest.mark.parametrize("kind", ["MODE1/2352", "MODE1/2048", "MODE2/2336"])
def test_convert_single_track(tmp_path, kind):
    cue = fx.single_bincue(tmp_path, kind)
    seen = []
    report = convert_to_iso(str(cue), str(tmp_path / "out.iso"), progress=lambda done, total: seen.append((done, total)))
    assert (tmp_path / "out.iso").read_bytes() == fx.base_iso()
    assert report.dropped == [] and report.edc_errors.count == 0
    assert report.bytes_written == len(fx.base_iso()) and report.source_format == "bincue"
    assert seen[-1] == (len(fx.base_iso()), len(fx.base_iso()))
    assert _no_temp_files(tmp_path)


def test_report_lists_audio_sessions_and_form2(tmp_path):
    disc = fx.mixed_single_file(tmp_path)
    report = convert_to_iso(str(disc.cue), str(tmp_path / "a.iso"))
    assert report.dropped == ["audio tracks [2, 3]"]
    s1 = [fx.NrgTrack(fx.NRG_MODE1_RAW, 2352, fx.mode1_track(), bytes(150 * 2352))]
    s2 = [fx.NrgTrack(fx.NRG_MODE2_RAW, 2352, fx.mode2_track(form2_every=7), bytes(150 * 2352))]
    nrg = fx.nrg_image(tmp_path / "ms.nrg", [s1, s2])
    report = convert_to_iso(str(nrg), str(tmp_path / "b.iso"))
    assert report.track.number == 2 and report.form2_sectors.count > 0
    assert any("sessions [1]" in d for d in report.dropped)
    assert any("Form 2" in d for d in report.dropped)
    assert report.edc_errors.count == 0  # Form 2 EDC is checked too, and is right
    report = convert_to_iso(str(nrg), str(tmp_path / "c.iso"), session=1)
    assert report.track.number == 1 and (tmp_path / "c.iso").read_bytes() == fx.base_iso()


def test_subchannel_is_reported(tmp_path):
    path = fx.ccd_image(tmp_path, [(1, fx.mode1_track())])
    report = convert_to_iso(str(path), str(tmp_path / "c.iso"))
    assert report.dropped == ["subchannel data (.sub file)"]


def test_edc_failures_are_reported_not_fatal(tmp_path):
    raw = bytearray(fx.mode1_track())
    raw[20 * 2352 + 100] ^= 1
    (tmp_path / "d.bin").write_bytes(bytes(raw))
    (tmp_path / "d.cue").write_text('FILE "d.bin" BINARY\n TRACK 01 MODE1/2352\n  INDEX 01 00:00:00\n')
    report = convert_to_iso(str(tmp_path / "d.cue"), str(tmp_path / "d.iso"))
    assert report.edc_errors.count == 1 and report.edc_errors.first_lbas == [20]


def test_failure_leaves_nothing_behind(tmp_path):
    disc = fx.mixed_single_file(tmp_path)
    with pytest.raises(BadImage, match="audio"):
        convert_to_iso(str(disc.cue), str(tmp_path / "x.iso"), track=2)
    with pytest.raises(BadImage, match="no track 9"):
        convert_to_iso(str(disc.cue), str(tmp_path / "x.iso"), track=9)
    with pytest.raises(BadImage, match="no session 4"):
        convert_to_iso(str(disc.cue), str(tmp_path / "x.iso"), session=4)

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        convert_to_iso(str(disc.cue), str(tmp_path / "x.iso"), progress=interrupt)
    assert not (tmp_path / "x.iso").exists() and _no_temp_files(tmp_path)


def test_write_bin_cue_from_iso_encodes_mode1(tmp_path):
    iso = tmp_path / "a.iso"
    iso.write_bytes(fx.base_iso())
    seen = []
    with open_image(str(iso)) as source:
        cue, bin_path = write_bin_cue(source, str(tmp_path / "out.cue"), progress=lambda d, t: seen.append((d, t)))
    assert open(bin_path, "rb").read() == fx.mode1_track()
    assert seen[-1] == (len(fx.mode1_track()), len(fx.mode1_track()))
    with bincue.open_image(cue) as again:
        assert again.tracks[0].mode is TrackMode.MODE1 and read_track(again) == fx.base_iso()
        assert again.data_view().errors.count == 0


def test_write_bin_cue_cooked(tmp_path):
    cue = fx.single_bincue(tmp_path, "MODE2/2352")
    with open_image(str(cue)) as source:
        out, bin_path = write_bin_cue(source, str(tmp_path / "c.cue"), cooked=True)
    assert open(bin_path, "rb").read() == fx.base_iso()
    assert "MODE2/2048" in open(out).read()


def test_write_bin_cue_keeps_audio_form2_and_sessions(tmp_path):
    disc = fx.mixed_multi_file(tmp_path)
    with open_image(str(disc.cue)) as source:
        cue, _ = write_bin_cue(source, str(tmp_path / "copy.cue"))
    with bincue.open_image(cue) as again, open_image(str(disc.cue)) as original:
        assert [(t.mode, t.sectors, t.start_lba) for t in again.tracks] == [(t.mode, t.sectors, t.start_lba) for t in original.tracks]
        for track, expected in zip(again.tracks[1:], (disc.audio2, disc.audio3)):
            entry = again.stored(track)
            with open(entry.path, "rb") as f:
                f.seek(entry.offset)
                assert f.read(len(expected)) == expected  # MOTOROLA audio came out little-endian
    s1 = [fx.NrgTrack(fx.NRG_MODE1_RAW, 2352, fx.mode1_track(), bytes(150 * 2352))]
    s2 = [fx.NrgTrack(fx.NRG_MODE2_2336, 2336, b"".join(s[16:] for s in _sectors(fx.mode2_track(form2_every=5))))]
    nrg = fx.nrg_image(tmp_path / "ms.nrg", [s1, s2])
    with open_image(str(nrg)) as source:
        cue, _ = write_bin_cue(source, str(tmp_path / "ms.cue"))
    with bincue.open_image(cue) as again:
        assert [s.number for s in again.sessions] == [1, 2]
        view = again.data_view()
        buffer = bytearray(again.default_track().sectors * 2048)
        view.readinto(0, buffer)
        assert view.form2.count > 0 and view.errors.count == 0


def _sectors(raw: bytes) -> list[bytes]:
    return [raw[i : i + cd.RAW_SECTOR_SIZE] for i in range(0, len(raw), cd.RAW_SECTOR_SIZE)]


def test_plain_copy_falls_back_when_the_kernel_refuses(tmp_path, monkeypatch):
    """copy_file_range fails with EXDEV between some file systems; the conversion must then
    copy through the view instead of failing."""
    import errno

    def refuse(*args, **kwargs):
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(os, "copy_file_range", refuse)
    cue = fx.single_bincue(tmp_path, "MODE1/2048")
    convert_to_iso(str(cue), str(tmp_path / "out.iso"))
    assert (tmp_path / "out.iso").read_bytes() == fx.base_iso()


def test_iso_to_iso_is_an_identity_copy(tmp_path):
    iso = tmp_path / "a.iso"
    iso.write_bytes(fx.base_iso())
    report = convert_to_iso(str(iso), str(tmp_path / "b.iso"))
    assert report.source_format == "iso" and report.dropped == []
    assert (tmp_path / "b.iso").read_bytes() == fx.base_iso()
