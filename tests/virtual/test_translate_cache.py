"""The translated view's byte arithmetic and the converted-copy cache's bounds."""

from __future__ import annotations

import ctypes
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burnd.errors import BadImage
from burnd.image import cdsector as cd
from burnd.image.source import SectorErrors, checked_span
from burnd.virtual import translate
from burnd.virtual.cache import CacheFull, ConvertedCache
from burnd.virtual.translate import (
    ScatterFiller,
    SectorFiller,
    ViewError,
    ViewFileSystem,
    read_span,
    sector_filler,
    span_room,
    start_view,
    stop_view,
    view_alive,
)
from tests.fixtures import cdimages as fx

from .conftest import needs_fuse, needs_loop


class BytesView:
    """A DataView over bytes, checking the same contract real views do."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sectors = len(data) // 2048
        self.errors = SectorErrors()

    def readinto(self, first: int, buffer) -> int:
        out, count = checked_span(buffer, first, self.sectors, "bytes")
        out[:] = self.data[first * 2048: (first + count) * 2048]
        return len(out)


DATA = os.urandom(9 * 2048)


@settings(max_examples=200, deadline=None)
@given(offset=st.integers(0, len(DATA) + 5000), size=st.integers(0, 6 * 2048))
def test_read_span_is_a_file_read(offset, size):
    scratch = bytearray(span_room(size))
    start, length = read_span(SectorFiller(BytesView(DATA), scratch), offset, size)
    assert bytes(scratch[start: start + length]) == DATA[offset: offset + size]


#: every raw shape a container stores: 2352-byte Mode 1 and Mode 2, 2336-byte Mode 2 (no sync
#: or header), 2448 with subchannel after the raw sector
RAW_LAYOUTS = [cd.MODE1_RAW, cd.MODE2_RAW, cd.MODE2_2336, cd.SectorLayout(cd.SectorKind.MODE1, 2448)]
RAW_SECTORS = 11
LEAD = 300  # the track starts this far into the file, as a second track of a BIN does


@pytest.fixture(scope="module")
def raw_files(tmp_path_factory) -> dict[int, str]:
    """One file of random bytes per stride: the scattered reads must pick the same bytes as
    RawView, valid sectors or not."""
    folder = tmp_path_factory.mktemp("raw")
    files = {}
    for layout in RAW_LAYOUTS:
        files[layout.stride] = str(fx.write(folder / f"{layout.stride}.bin", os.urandom(LEAD + RAW_SECTORS * layout.stride)))
    return files


def _raw_view(path: str, layout: cd.SectorLayout, sectors: int = RAW_SECTORS) -> cd.RawView:
    return cd.RawView(os.open(path, os.O_RDONLY), LEAD, sectors, layout, name=path)


@settings(max_examples=60, deadline=None)
@given(layout=st.sampled_from(RAW_LAYOUTS), first=st.integers(0, RAW_SECTORS - 1), count=st.integers(1, RAW_SECTORS),
       batch=st.integers(1, 4))
def test_scattered_reads_pick_the_user_data_raw_view_does(raw_files, layout, first, count, batch):
    count = min(count, RAW_SECTORS - first)
    view = _raw_view(raw_files[layout.stride], layout)
    try:
        expected = bytearray(count * 2048)
        view.readinto(first, expected)
        buffer = bytearray(b"\xee" * (RAW_SECTORS * 2048))
        filler = sector_filler(view, buffer)
        assert isinstance(filler, ScatterFiller)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(translate, "SCATTER_SECTORS", batch)  # several preadv batches per fill
            filler.fill(first, count)
            filler.fill(first, count)  # again, with the cached iovec lists
        assert buffer[: count * 2048] == expected
        assert buffer[count * 2048:] == b"\xee" * ((RAW_SECTORS - count) * 2048)
    finally:
        os.close(view.fd)


def test_scattered_reads_of_a_truncated_file_fail_like_raw_view(tmp_path):
    path = fx.write(tmp_path / "short.bin", os.urandom(LEAD + 3 * 2352 - 100))
    view = _raw_view(str(path), cd.MODE1_RAW, sectors=3)
    try:
        with pytest.raises(BadImage, match="truncated"):
            sector_filler(view, bytearray(3 * 2048)).fill(0, 3)
    finally:
        os.close(view.fd)


def test_cooked_tracks_keep_their_own_read():
    assert type(sector_filler(BytesView(DATA), bytearray(2048))) is SectorFiller


@settings(max_examples=150, deadline=None)
@given(offset=st.integers(0, RAW_SECTORS * 2048 + 5000), size=st.integers(1, 6 * 2048), aligned=st.booleans())
def test_view_reads_land_in_the_reply_buffer(raw_files, offset, size, aligned):
    """What the FUSE layer gets: exactly the file's bytes in its own buffer, whether the request
    is whole sectors (filled in place) or not (through the scratch buffer)."""
    if aligned:
        offset, size = offset // 2048 * 2048, -(-size // 2048) * 2048
    view = _raw_view(raw_files[2352], cd.MODE1_RAW)
    try:
        data = bytearray(RAW_SECTORS * 2048)
        view.readinto(0, data)
        fs = ViewFileSystem(view, None)
        reply = (ctypes.c_char * size)()
        for _ in range(2):  # the second time through the filler remembered for this buffer
            ctypes.memset(reply, 0xEE, size)
            length = fs.read(ctypes.addressof(reply), size, offset)
            assert reply.raw[:length] == data[offset: offset + size]
    finally:
        os.close(view.fd)


def test_cache_reuses_and_evicts_least_recently_used(tmp_path):
    images = []
    for name in ("a", "b", "c"):
        folder = tmp_path / name
        folder.mkdir()
        images.append(str(fx.single_bincue(folder)))
    one = len(fx.base_iso())
    cache = ConvertedCache(str(tmp_path / "cache"), 2 * one + 100)
    first = cache.get(images[0])
    assert not first.reused
    with open(first.path, "rb") as f:
        assert f.read() == fx.base_iso()
    assert cache.get(images[0]).reused
    second = cache.get(images[1], keep={first.path})
    os.utime(second.path, ns=(1, 1))  # b is now the least recently used
    cache.get(images[2], keep={first.path})
    assert os.path.exists(first.path) and not os.path.exists(second.path)


def test_cache_refuses_when_copies_in_use_fill_it(tmp_path):
    cue = fx.single_bincue(tmp_path)
    other = tmp_path / "o"
    other.mkdir()
    cache = ConvertedCache(str(tmp_path / "cache"), len(fx.base_iso()) + 100)
    held = cache.get(str(cue))
    with pytest.raises(CacheFull, match="still attached"):
        cache.get(str(fx.single_bincue(other)), keep={held.path})


@needs_fuse
def test_a_view_that_cannot_start_says_why_and_leaves_nothing(tmp_path):
    bad = tmp_path / "bad.iso"
    bad.write_bytes(b"not an image" * 1000)
    views = tmp_path / "views"
    with pytest.raises(ViewError, match="did not start: .*not a disc image"):
        start_view(str(bad), str(views / "v1"))
    assert os.listdir(views) == []


@needs_fuse
def test_view_serves_the_track_and_stops_cleanly(tmp_path):
    served = start_view(str(fx.single_bincue(tmp_path)), str(tmp_path / "views" / "v1"))
    try:
        assert view_alive(served)
        with open(served.file, "rb") as f:
            assert f.read() == fx.base_iso()
        with pytest.raises(OSError):
            os.open(served.file, os.O_RDWR)
    finally:
        stop_view(served)
    assert not view_alive(served)
    assert os.listdir(tmp_path / "views") == []


@needs_loop
@needs_fuse
def test_translated_devices_read_their_view_with_direct_io(tmp_path, drives):
    """The loop device reads the FUSE file with O_DIRECT, so each block is copied once into the
    device's page cache instead of into the view file's cache and then again; a plain image
    keeps buffered reads."""
    translated = drives.attach(str(fx.single_bincue(tmp_path)))
    direct = drives.attach(str(fx.write(tmp_path / "a.iso", fx.base_iso())))
    assert (translated.view, direct.view) == ("translated", "direct")
    for attached, dio in ((translated, "1"), (direct, "0")):
        with open(f"/sys/block/{attached.device}/loop/dio") as f:
            assert f.read().strip() == dio
        with open(attached.device_path, "rb") as f:
            assert f.read() == fx.base_iso()
