"""MDS/MDF v1, CloneCD CCD/IMG/SUB and DiscJuggler CDI readers."""

from __future__ import annotations

import struct

import pytest

from burnd.errors import BadImage, UnsupportedImage
from burnd.image.formats import ccd, cdi, mds
from burnd.image.source import TrackMode
from tests.fixtures import cdimages as fx

from .conftest import read_track

# --- MDS ---


def test_mds_cd_raw_with_audio(tmp_path):
    tracks = [fx.MdsTrack(fx.MDS_MODE1_RAW, 2352, fx.mode1_track(), 150), fx.MdsTrack(fx.MDS_AUDIO, 2352, fx.audio_track(300), 150)]
    path = fx.mds_image(tmp_path, tracks)
    with mds.open_image(str(path)) as source:
        t1, t2 = source.tracks  # the A0/A1/A2 lead-in blocks are not tracks
        assert (t1.mode, t2.mode) == (TrackMode.MODE1, TrackMode.AUDIO)
        assert (t2.start_lba, source.stored(t2).offset) == (t1.sectors + 150, t1.sectors * 2352)
        assert source.stored(t1).path.endswith("disc.mdf")
        assert source.plain_slice() is None
        assert read_track(source) == fx.base_iso()


def test_mds_dvd_is_plain(tmp_path):
    path = fx.mds_image(tmp_path, [fx.MdsTrack(fx.MDS_DVD, 2048, fx.base_iso())], dvd=True)
    with mds.open_image(str(path)) as source:
        assert source.tracks[0].mode is TrackMode.DATA
        assert source.plain_slice().size == len(fx.base_iso())
        assert read_track(source) == fx.base_iso()


def test_mds_mode2_and_subchannel(tmp_path):
    raw = fx.mode2_track()
    with_sub = b"".join(raw[i : i + 2352] + bytes(96) for i in range(0, len(raw), 2352))
    path = fx.mds_image(tmp_path, [fx.MdsTrack(fx.MDS_MODE2_RAW, 2448, with_sub, 150)])
    with mds.open_image(str(path)) as source:
        assert source.tracks[0].mode is TrackMode.MODE2_MIXED
        assert read_track(source) == fx.base_iso()


def _patched(path, offset: int, value: bytes) -> str:
    data = bytearray(path.read_bytes())
    data[offset : offset + len(value)] = value
    path.write_bytes(bytes(data))
    return str(path)


@pytest.mark.parametrize(
    "offset, value, error",
    [
        (0, b"NOT A DESCRIPTOR", BadImage),
        (16, b"\x02", UnsupportedImage),
        (20, struct.pack("<H", 0), BadImage),
        (80, struct.pack("<I", 10**6), BadImage),  # session blocks past the end
        (88 + 20, struct.pack("<I", 10**6), BadImage),  # track blocks past the end
        (88 + 24 + 3 * 80 + 40, struct.pack("<Q", 10**12), BadImage),  # MDF offset past the end
        (88 + 24 + 3 * 80 + 12, struct.pack("<I", 10**6), BadImage),  # extra block past the end
    ],
)
def test_mds_lying_descriptor(tmp_path, offset, value, error):
    path = fx.mds_image(tmp_path, [fx.MdsTrack(fx.MDS_MODE1_RAW, 2352, fx.mode1_track(), 150)])
    with pytest.raises(error):
        mds.open_image(_patched(path, offset, value))


def test_mds_missing_mdf(tmp_path):
    path = fx.mds_image(tmp_path, [fx.MdsTrack(fx.MDS_MODE1_RAW, 2352, fx.mode1_track(), 150)])
    (tmp_path / "disc.mdf").unlink()
    with pytest.raises(BadImage, match="data file"):
        mds.open_image(str(path))


# --- CCD ---


def test_ccd_data_and_audio(tmp_path):
    path = fx.ccd_image(tmp_path, [(1, fx.mode1_track()), (0, fx.audio_track(300))])
    with ccd.open_image(str(path)) as source:
        t1, t2 = source.tracks
        assert (t1.sectors, t2.start_lba, t2.sectors, t2.mode) == (fx.iso_sectors(), fx.iso_sectors(), 300, TrackMode.AUDIO)
        assert read_track(source) == fx.base_iso()


def test_ccd_finds_img_in_any_case(tmp_path):
    path = fx.ccd_image(tmp_path, [(1, fx.mode1_track())])
    (tmp_path / "disc.img").rename(tmp_path / "DISC.IMG")
    with ccd.open_image(str(path)) as source:
        assert read_track(source) == fx.base_iso()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace("[CloneCD]", "[Clone]"), "CloneCD"),
        (lambda t: t.replace("PLBA=325", "PLBA=99999"), "truncated"),
        (lambda t: t.replace("Point=0xa2", "Point=0xa3"), "lead-out"),
        (lambda t: t.replace("MODE=1", "MODE=7"), "MODE"),
        (lambda t: t.replace("Point=0x01", "Point=zz"), "point"),
    ],
)
def test_ccd_bad_descriptor(tmp_path, edit, message):
    path = fx.ccd_image(tmp_path, [(1, fx.mode1_track())])
    path.write_text(edit(path.read_text()))
    with pytest.raises(BadImage, match=message):
        ccd.open_image(str(path))


# --- CDI ---


@pytest.mark.parametrize("version", [fx.CDI_V2, fx.CDI_V3, fx.CDI_V35])
@pytest.mark.parametrize("dj4", [False, True])
def test_cdi_versions(tmp_path, version, dj4):
    path = fx.cdi_image(tmp_path / "d.cdi", [[fx.CdiTrack(1, 2352, fx.mode1_track())]], version, dj4)
    with cdi.open_image(str(path)) as source:
        (t,) = source.tracks
        assert (t.start_lba, t.pregap, t.sectors, source.stored(t).offset) == (0, 150, fx.iso_sectors(), 150 * 2352)
        assert read_track(source) == fx.base_iso()


def test_cdi_dreamcast_layout(tmp_path):
    """Audio in session 1, Mode 2 data (2336 bytes) in session 2 with index 1 at LBA 45000
    (its record says the track, pregap included, starts at 44850)."""
    m2 = b"".join(fx.mode2_track()[i + 16 : i + 2352] for i in range(0, len(fx.mode2_track()), 2352))
    sessions = [[fx.CdiTrack(0, 2352, fx.audio_track(300))], [fx.CdiTrack(2, 2336, m2, start_lba=45000 - 150)]]
    path = fx.cdi_image(tmp_path / "dc.cdi", sessions)
    with cdi.open_image(str(path)) as source:
        audio, data = source.tracks
        assert (data.session, data.start_lba, data.mode) == (2, 45000, TrackMode.MODE2_MIXED)
        assert source.stored(data).offset == 450 * 2352 + 150 * 2336
        assert read_track(source) == fx.base_iso()


def test_cdi_cooked_is_plain(tmp_path):
    path = fx.cdi_image(tmp_path / "d.cdi", [[fx.CdiTrack(1, 2048, fx.base_iso())]])
    with cdi.open_image(str(path)) as source:
        assert source.plain_slice().offset == 150 * 2048


def test_cdi_bad(tmp_path):
    path = fx.cdi_image(tmp_path / "d.cdi", [[fx.CdiTrack(1, 2352, fx.mode1_track())]])
    data = bytearray(path.read_bytes())
    mark = data.rfind(fx.CDI_MARK)
    data[mark] = 0x55
    path.write_bytes(bytes(data))
    with pytest.raises(BadImage, match="start mark"):
        cdi.open_image(str(path))
    path.write_bytes(bytes(100) + struct.pack("<II", fx.CDI_V35, 50))
    with pytest.raises(BadImage):
        cdi.open_image(str(path))
