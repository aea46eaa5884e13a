"""Bounded fuzzing of every CD descriptor parser: mutated valid samples must either open (and
then read) or raise BadImage — never another exception, never unbounded work."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from burnd.errors import BadImage
from burnd.image.formats import bincue, ccd, cdi, cdrdao_toc, mds, nrg
from tests.fixtures import cdimages as fx

PAYLOAD = bytes(range(256)) * 8 * 6  # 6 sectors keep every example fast
M1 = fx.mode1_track(0, PAYLOAD)
M2 = b"".join(fx.cd.mode2_form1_sector(i, PAYLOAD[i * 2048 : (i + 1) * 2048]) for i in range(6))


def _samples(folder: Path) -> dict[str, tuple[object, Path, int]]:
    """format → (module, descriptor, first byte worth mutating)."""
    (folder / "d.bin").write_bytes(M1 + fx.audio_track(4) + M2)
    cue = fx.write(folder / "d.cue", 'REM SESSION 01\nFILE "d.bin" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n'
                   "  TRACK 02 AUDIO\n    INDEX 00 00:00:06\n    INDEX 01 00:00:08\n  TRACK 03 MODE2/2352\n    PREGAP 00:00:10\n    INDEX 01 00:00:10\n")
    toc = fx.write(folder / "d.toc", 'CD_ROM\nTRACK MODE1_RAW\nDATAFILE "d.bin" 00:00:06\nTRACK AUDIO\nFILE "d.bin" #14112 0 00:00:04\nSTART 00:00:02\n')
    nrg_path = fx.nrg_image(folder / "d.nrg", [[fx.NrgTrack(fx.NRG_MODE1_RAW, 2352, M1, bytes(2352)), fx.NrgTrack(fx.NRG_AUDIO, 2352, fx.audio_track(3))],
                                                [fx.NrgTrack(fx.NRG_MODE2_RAW, 2352, M2)]])
    nrg_v1 = fx.nrg_image(folder / "e.nrg", [[fx.NrgTrack(fx.NRG_MODE1_2048, 2048, PAYLOAD)]], version=1, tao=True)
    mds_path = fx.mds_image(folder, [fx.MdsTrack(fx.MDS_MODE1_RAW, 2352, M1, 150), fx.MdsTrack(fx.MDS_AUDIO, 2352, fx.audio_track(3), 150)], name="m")
    ccd_path = fx.ccd_image(folder, [(1, M1), (0, fx.audio_track(3)), (2, M2)], name="c")
    cdi_path = fx.cdi_image(folder / "d.cdi", [[fx.CdiTrack(0, 2352, fx.audio_track(3), pregap=2)], [fx.CdiTrack(2, 2336, b"".join(M2[i + 16 : i + 2352] for i in range(0, len(M2), 2352)), pregap=2)]])
    return {
        "bincue": (bincue, cue, 0),
        "cdrdao_toc": (cdrdao_toc, toc, 0),
        "nrg": (nrg, nrg_path, len(M1) + 2352 + 3 * 2352 + len(M2)),
        "nrg_v1_tao": (nrg, nrg_v1, len(PAYLOAD)),
        "mds": (mds, mds_path, 0),
        "ccd": (ccd, ccd_path, 0),
        "cdi": (cdi, cdi_path, 3 * 2352 + 2 * 2352 + 2 * 2336 + len(M2) // 2352 * 2336),
    }


@pytest.fixture(scope="module")
def samples():
    folder = Path(tempfile.mkdtemp(prefix="burnd-fuzz-"))
    yield folder, _samples(folder)
    shutil.rmtree(folder)


def _mutate(data: bytes, start: int, flips, cut, numbers) -> bytes:
    out = bytearray(data)
    region = len(out) - start
    for pos, value in flips:
        out[start + pos % region] = value
    if numbers:
        matches = list(re.finditer(rb"\d+", bytes(out[start:])))
        for index, value in numbers:
            if matches:
                m = matches[index % len(matches)]
                out[start + m.start() : start + m.end()] = str(value).encode().ljust(m.end() - m.start(), b"0")[: max(1, m.end() - m.start())]
    if cut is not None:
        del out[start + cut % (region + 1) :]
    return bytes(out)


def _exercise(module, path: str) -> None:
    try:
        with module.open_image(path) as source:
            for track in source.tracks:
                if track.is_data and track.sectors:
                    view = source.data_view(track)
                    view.readinto(0, bytearray(2048 * min(track.sectors, 4)))
                    source.plain_slice(track)
    except BadImage:
        pass


mutations = dict(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
    numbers=st.lists(st.tuples(st.integers(0, 100), st.integers(0, 2**40)), max_size=3),
)


@pytest.mark.parametrize("name", ["bincue", "cdrdao_toc", "nrg", "nrg_v1_tao", "mds", "ccd", "cdi"])
def test_mutated_descriptors_only_raise_bad_image(samples, name):
    folder, table = samples
    module, descriptor, start = table[name]
    original = descriptor.read_bytes()
    target = folder / f"fuzz{descriptor.suffix}"
    if name == "mds":
        shutil.copy(folder / "m.mdf", folder / "fuzz.mdf")
    if name == "ccd":
        shutil.copy(folder / "c.img", folder / "fuzz.img")

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(**mutations)
    def check(flips, cut, numbers):
        target.write_bytes(_mutate(original, start, flips, cut, numbers))
        _exercise(module, str(target))

    check()


@pytest.mark.parametrize("name", ["bincue", "cdrdao_toc", "nrg", "nrg_v1_tao", "mds", "ccd", "cdi"])
def test_unmutated_samples_open(samples, name):
    """The fuzz seeds are valid, so the mutations start from images that parse."""
    _, table = samples
    module, descriptor, _ = table[name]
    with module.open_image(str(descriptor)) as source:
        data = [t for t in source.tracks if t.is_data]
        view = source.data_view(data[0])
        buffer = bytearray(2048 * 6)
        view.readinto(0, buffer)
        assert bytes(buffer) == PAYLOAD and view.errors.count == 0
