"""NRG v1/v2, DAO and TAO, multi-session, raw modes, and lying chunk chains."""

from __future__ import annotations

import struct

import pytest

from burnd.errors import BadImage
from burnd.image.formats import nrg
from burnd.image.source import TrackMode
from tests.fixtures import cdimages as fx

from .conftest import read_track


@pytest.mark.parametrize("version", [1, 2])
def test_dao_mode1_2048_is_plain(tmp_path, version):
    path = fx.nrg_iso(tmp_path / "a.nrg", version)
    with nrg.open_image(str(path)) as source:
        (t,) = source.tracks
        assert (t.start_lba, t.pregap, t.sector_size) == (0, 150, 2048)
        assert source.plain_slice().offset == 150 * 2048
        assert read_track(source) == fx.base_iso()


@pytest.mark.parametrize("tao", [False, True])
@pytest.mark.parametrize("version", [1, 2])
def test_raw_data_audio_and_two_sessions(tmp_path, version, tao):
    s1 = [fx.NrgTrack(fx.NRG_MODE1_RAW, 2352, fx.mode1_track(), b"" if tao else bytes(150 * 2352)),
          fx.NrgTrack(fx.NRG_AUDIO, 2352, fx.audio_track(300), b"" if tao else bytes(150 * 2352))]
    s2 = [fx.NrgTrack(fx.NRG_MODE2_RAW, 2352, fx.mode2_track(), b"" if tao else bytes(150 * 2352))]
    path = fx.nrg_image(tmp_path / "m.nrg", [s1, s2], version, tao=tao)
    with nrg.open_image(str(path)) as source:
        assert [s.number for s in source.sessions] == [1, 2]
        t1, t2, t3 = source.tracks
        assert (t1.mode, t2.mode, t3.mode) == (TrackMode.MODE1, TrackMode.AUDIO, TrackMode.MODE2_MIXED)
        assert source.default_track() == t3
        assert read_track(source, t1) == fx.base_iso()
        assert read_track(source, t3) == fx.base_iso()
        if not tao:
            assert t2.start_lba == t1.sectors + 150


def test_subchannel_mode(tmp_path):
    raw = fx.mode1_track()
    with_sub = b"".join(raw[i : i + 2352] + bytes(96) for i in range(0, len(raw), 2352))
    path = fx.nrg_image(tmp_path / "s.nrg", [[fx.NrgTrack(fx.NRG_MODE1_SUB, 2448, with_sub)]])
    with nrg.open_image(str(path)) as source:
        assert source.tracks[0].sector_size == 2448
        assert read_track(source) == fx.base_iso()


def _with_chain(tmp_path, chain: bytes, footer_offset: int | None = None) -> str:
    body = bytes(4096)
    path = tmp_path / "x.nrg"
    path.write_bytes(body + chain + b"NER5" + struct.pack(">Q", len(body) if footer_offset is None else footer_offset))
    return str(path)


@pytest.mark.parametrize(
    "chain, message",
    [
        (b"", "past the end"),
        (b"DAOX" + struct.pack(">I", 10**9), "claims"),
        (b"MTYP" + struct.pack(">I", 4) + bytes(4), "past the end"),
        (b"DAOX" + struct.pack(">I", 22 + 42) + bytes(22) + bytes(14) + b"\x42" + bytes(27) + b"END!" + bytes(4), "unknown NRG track mode"),
        (b"END!" + bytes(4), "no tracks"),
    ],
)
def test_bad_chains(tmp_path, chain, message):
    with pytest.raises(BadImage, match=message):
        nrg.open_image(_with_chain(tmp_path, chain))


def test_offsets_past_the_end_are_bad(tmp_path):
    entry = bytes(12) + struct.pack(">HBBH", 2048, 0, 0, 0) + struct.pack(">QQQ", 0, 0, 10**12)
    chain = b"DAOX" + struct.pack(">I", 22 + 42) + bytes(20) + b"\x01\x01" + entry + b"END!" + bytes(4)
    with pytest.raises(BadImage, match="truncated|past"):
        nrg.open_image(_with_chain(tmp_path, chain))


def test_probe_needs_a_footer(tmp_path):
    path = fx.nrg_iso(tmp_path / "a.nrg")
    with open(path, "rb") as f:
        assert nrg.probe(f, path.stat().st_size)
    plain = tmp_path / "plain.iso"
    plain.write_bytes(fx.base_iso())
    with open(plain, "rb") as f:
        assert not nrg.probe(f, plain.stat().st_size)
