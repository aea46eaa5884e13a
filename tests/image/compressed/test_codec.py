"""The bounded decompressors: exact output, bombs cut off, corruption as BadImage."""

from __future__ import annotations

import bz2
import random
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from burnd.errors import BadImage
from burnd.image.formats import codec
from tests.fixtures.compressed import raw_deflate


@pytest.fixture(scope="module")
def lz4_block():
    """The reference LZ4 encoder (PyPI lz4), to check our decoder against."""
    return pytest.importorskip("lz4.block", reason="PyPI lz4 not installed in the venv (pip install lz4)")


TEXT = b"".join(b"row %05d\n" % i for i in range(3000))


def test_inflate_zlib_and_raw():
    assert codec.inflate(zlib.compress(TEXT), len(TEXT), "t") == TEXT
    assert codec.inflate(raw_deflate(TEXT), len(TEXT), "t", codec.RAW_DEFLATE) == TEXT


def test_inflate_ignores_padding_after_the_stream():
    assert codec.inflate(raw_deflate(TEXT) + bytes(100), len(TEXT), "t", codec.RAW_DEFLATE) == TEXT


def test_inflate_bomb_is_cut_off():
    bomb = zlib.compress(bytes(50_000_000))
    with pytest.raises(BadImage, match="more than 4096"):
        codec.inflate(bomb, 4096, "chunk 7")


def test_inflate_short_and_corrupt():
    with pytest.raises(BadImage, match="decompresses to 30000 bytes"):
        codec.inflate(zlib.compress(TEXT), len(TEXT) + 1, "t")
    with pytest.raises(BadImage, match="not valid deflate"):
        codec.inflate(b"\x78\x9c\xff\xff\xff", 10, "t")


def test_bunzip2_exact_bomb_corrupt():
    assert codec.bunzip2(bz2.compress(TEXT), len(TEXT), "t") == TEXT
    with pytest.raises(BadImage, match="more than 100"):
        codec.bunzip2(bz2.compress(bytes(10_000_000)), 100, "t")
    with pytest.raises(BadImage, match="not valid bzip2"):
        codec.bunzip2(b"BZh9" + bytes(40), 10, "t")
    with pytest.raises(BadImage, match="decompresses to"):
        codec.bunzip2(bz2.compress(TEXT)[:50], len(TEXT), "t")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000), pattern=st.integers(0, 3))
def test_lz4_block_matches_the_reference_encoder(lz4_block, data, pattern):
    # Mix repetitive and random data so literal runs, short and overlapping matches all occur.
    sample = data + data[: len(data) // (pattern + 1)] * pattern + bytes(pattern * 300)
    if not sample:
        return
    packed = lz4_block.compress(sample, store_size=False, mode="high_compression" if pattern % 2 else "default")
    assert codec.lz4_block(packed, len(sample), "t") == sample


def test_lz4_long_lengths_and_padding(lz4_block):
    sample = bytes(70_000) + random.Random(5).randbytes(5000)
    packed = lz4_block.compress(sample, store_size=False)
    assert codec.lz4_block(packed + bytes(64), len(sample), "t") == sample


def test_lz4_rejects_bad_blocks(lz4_block):
    packed = lz4_block.compress(TEXT, store_size=False)
    with pytest.raises(BadImage, match="more than 15"):
        codec.lz4_block(packed, 15, "t")
    with pytest.raises(BadImage, match="ends before"):
        codec.lz4_block(packed[:20], len(TEXT), "t")
    with pytest.raises(BadImage, match="back-reference"):
        codec.lz4_block(bytes([0x10, 0x41, 0x05, 0x00, 0x00]), 100, "t")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 5000))
def test_decoders_raise_only_badimage(data, expected):
    for decoder in (codec.lz4_block, codec.bunzip2, codec.inflate):
        try:
            out = decoder(data, expected, "t")
        except BadImage:
            continue
        assert len(out) == expected
