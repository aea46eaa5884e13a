"""The shared chunked view and split-file reader."""

from __future__ import annotations

import os
import threading

import pytest

from burnd.errors import BadImage
from burnd.image.formats.chunked import ChunkedView, Extent, SpannedReader

DATA = bytes(range(256)) * 40  # 10240 bytes: 5 sectors


def make_view(size=len(DATA), chunk=3000, cache=2, calls=None):
    """A view over DATA in ``chunk``-byte chunks caching about ``cache`` of them."""
    def load(i, length):
        if calls is not None:
            calls.append(i)
        return DATA[i * chunk : i * chunk + length]

    return ChunkedView(range(0, size, chunk), size, load, "test", cache * chunk)


def test_reads_across_chunk_boundaries():
    view = make_view()
    assert view.sectors == 5
    buf = bytearray(4096)
    assert view.readinto(1, buf) == 4096
    assert bytes(buf) == DATA[2048:6144]


def test_tail_beyond_size_reads_as_zeros():
    view = make_view(size=5000)
    assert view.sectors == 3
    buf = bytearray(3 * 2048)
    view.readinto(0, buf)
    assert bytes(buf) == DATA[:5000] + bytes(6144 - 5000)


def test_bounds_and_buffer_shape():
    view = make_view()
    with pytest.raises(BadImage, match="past the end"):
        view.readinto(4, bytearray(4096))
    with pytest.raises(BadImage):
        view.readinto(-1, bytearray(2048))
    with pytest.raises(ValueError):
        view.readinto(0, bytearray(100))


def test_cache_is_bounded_and_used():
    calls: list[int] = []
    view = make_view(chunk=2048, cache=2, calls=calls)
    buf = bytearray(2048)
    for sector in (0, 0, 1, 0, 2, 3, 0):
        view.readinto(sector, buf)
    # 0 loaded, hit, 1 loaded, hit, 2 loaded (evicts 1), 3 loaded (evicts 0), 0 reloaded.
    assert calls == [0, 1, 2, 3, 0]


def test_wrong_chunk_length_is_badimage():
    view = ChunkedView(range(0, 4096, 2048), 4096, lambda i, n: b"x", "short")
    with pytest.raises(BadImage, match="chunk 0 holds 1 bytes"):
        view.readinto(0, bytearray(2048))


def test_parallel_readers_get_the_right_bytes():
    view = make_view(chunk=1000, cache=3)
    failures = []

    def worker(seed):
        buf = bytearray(2048)
        for k in range(200):
            sector = (seed * 7 + k) % 5
            view.readinto(sector, buf)
            if bytes(buf) != DATA[sector * 2048 : (sector + 1) * 2048]:
                failures.append(sector)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_spanned_reader_crosses_files(tmp_path):
    (tmp_path / "a").write_bytes(b"HEADabcdef")
    (tmp_path / "b").write_bytes(b"hdghijkl")
    fds = [os.open(tmp_path / n, os.O_RDONLY) for n in "ab"]
    try:
        reader = SpannedReader([Extent(fds[0], 4, 0, 6), Extent(fds[1], 2, 6, 6)], "split")
        assert reader.size == 12
        assert reader.read(3, 6) == b"defghi"
        with pytest.raises(BadImage, match="past the end"):
            reader.read(10, 5)
    finally:
        for fd in fds:
            os.close(fd)
