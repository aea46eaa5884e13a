"""Mutation fuzzing: damaged images give BadImage (or UnsupportedImage) or read fine — never
another exception, never unbounded work. Each parser gets a valid sample from the writers,
then bytes flipped (biased towards headers and trailers, where the tables live) or a cut.
Set BURND_FUZZ_EXAMPLES (default 250 per format) for a longer run by hand."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from burnd.errors import BadImage
from burnd.image.cdsector import mode1_sector
from burnd.image.formats import cso, daa, dmg, ecm, isz, pdi
from tests.fixtures import compressed as cz


def small_payload() -> bytes:
    rng = random.Random(7)
    text = b"".join(b"fuzz line %04d\n" % i for i in range(2000))
    return (text + rng.randbytes(20_000) + bytes(30_000))[: 40 * 2048].ljust(40 * 2048, b"\x01")


def ecm_sample(payload: bytes, work: Path) -> Path:
    pyecm = pytest.importorskip("pyecm", reason="pyecm-tools not installed in the venv")
    source = work / "ecm.bin"
    source.write_bytes(b"".join(mode1_sector(i, s) for i, s in enumerate(cz.chunks(payload, 2048))))
    pyecm.encode(str(source), str(work / "sample.ecm"))
    return work / "sample.ecm"


WRITERS = {
    "cso-v1": (cso, lambda p, w: cz.write_cso(p, w / "s.cso", block=4096)),
    "cso-v2": (cso, lambda p, w: cz.write_cso(p, w / "s.cso", version=2, shift=1)),
    "zso": (cso, lambda p, w: cz.write_cso(p, w / "s.zso", zso=True)),
    "isz": (isz, lambda p, w: cz.write_isz(p, w / "s.isz", chunk_size=8192)[0]),
    "daa": (daa, lambda p, w: cz.write_daa(p, w / "s.daa", chunk_size=8192)),
    "daa-v2": (daa, lambda p, w: cz.write_daa(p, w / "s.daa", version=2, chunk_size=16384, obfuscate_values=True)),
    "pdi-raw": (pdi, lambda p, w: cz.write_pdi(p, w / "s.pdi", raw=True)),
    "dmg": (dmg, lambda p, w: cz.write_dmg(p, w / "s.dmg", run_sectors=16)),
    "ecm": (ecm, ecm_sample),
}


class Samples:
    """Valid images by writer name, made on first use (so a missing optional encoder only skips
    its own format); a short repr keeps hypothesis' failure reports readable."""

    def __init__(self, factory) -> None:
        self._factory = factory
        self._made: dict[str, bytes] = {}
        self._payload = small_payload()

    def __getitem__(self, name: str) -> bytes:
        if name not in self._made:
            if name in ("cso-v2", "zso"):
                pytest.importorskip("lz4.block", reason="PyPI lz4 (the reference LZ4 encoder) not installed in the venv")
            self._made[name] = WRITERS[name][1](self._payload, self._factory.mktemp(name)).read_bytes()
        return self._made[name]

    def __repr__(self) -> str:
        return "<samples>"


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> Samples:
    return Samples(tmp_path_factory)


def read_bounded(view, limit: int = 4096) -> None:
    """Read the view in batches, at most ``limit`` sectors: a lying header may describe a
    huge disk of zeros, which is valid but not worth reading to the end here."""
    buffer = bytearray(64 * 2048)
    for first in range(0, min(view.sectors, limit), 64):
        count = min(64, view.sectors - first)
        view.readinto(first, memoryview(buffer)[: count * 2048])


def exercise(module, path: Path, tmpdir: Path) -> None:
    opener = (lambda p: module.open_image(p, tmpdir=str(tmpdir))) if module is ecm else module.open_image
    with open(path, "rb") as f:
        module.probe(f, path.stat().st_size)
    try:
        with opener(str(path)) as image:
            assert image.tracks
            read_bounded(image.data_view())
            if module is isz:
                image.verify()
    except BadImage:
        pass


mutations = st.lists(
    st.tuples(st.one_of(st.integers(0, 200), st.integers(-700, -1), st.integers(0, 1 << 20)), st.integers(0, 255)),
    min_size=1,
    max_size=6,
)


@pytest.mark.parametrize("name", list(WRITERS))
@settings(max_examples=int(os.environ.get("BURND_FUZZ_EXAMPLES", "250")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=mutations, cut=st.one_of(st.none(), st.integers(0, 1 << 20)))
def test_mutated_images_fail_cleanly(samples, tmp_path, name, changes, cut):
    module, _ = WRITERS[name]
    data = bytearray(samples[name])
    for position, value in changes:
        data[position % len(data)] = value
    if cut is not None:
        del data[cut % len(data) :]
    path = tmp_path / f"m{Path(name).suffix}.img"
    path.write_bytes(data)
    exercise(module, path, tmp_path)


@pytest.mark.parametrize("name", list(WRITERS))
def test_unmutated_samples_read(samples, tmp_path, name):
    module, _ = WRITERS[name]
    path = tmp_path / "ok.img"
    path.write_bytes(samples[name])
    opener = (lambda p: module.open_image(p, tmpdir=str(tmp_path))) if module is ecm else module.open_image
    with opener(str(path)) as image:
        assert cz.read_all(image)[: 40 * 2048] == small_payload()
