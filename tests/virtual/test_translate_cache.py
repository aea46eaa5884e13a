"""The translated view's byte arithmetic and the converted-copy cache's bounds."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burnd.image.source import SectorErrors, checked_span
from burnd.virtual.cache import CacheFull, ConvertedCache
from burnd.virtual.translate import (
    ViewError,
    read_span,
    span_room,
    start_view,
    stop_view,
    view_alive,
)
from tests.fixtures import cdimages as fx

from .conftest import needs_fuse


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
    start, length = read_span(BytesView(DATA), offset, size, scratch)
    assert bytes(scratch[start: start + length]) == DATA[offset: offset + size]


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
