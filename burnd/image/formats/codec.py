"""Bounded decompressors for the chunk codecs compressed disc images use.

Every compressed container declares how large each chunk is once decompressed. A reader that
trusts the stream instead of that size can be made to allocate gigabytes from a few bytes (a
decompression bomb), and each library reports corruption with its own exception type. Each
function here therefore produces exactly ``expected`` bytes, stops decoding as soon as the
stream would exceed that, and turns every failure into ``BadImage`` naming the chunk.
"""

from __future__ import annotations

import bz2
import lzma
import zlib

from burnd.errors import BadImage

#: zlib window bits: a zlib header (ISZ, DMG) or bare deflate (CSO, DAA)
ZLIB = 15
RAW_DEFLATE = -15


def _size_error(what: str, got: int | None, expected: int) -> BadImage:
    amount = f"more than {expected}" if got is None else str(got)
    return BadImage(
        f"{what} decompresses to {amount} bytes but the image declares {expected}; "
        "the image is corrupt or was truncated (re-create or re-download it)"
    )


def _codec_error(what: str, codec: str, err: Exception) -> BadImage:
    return BadImage(f"{what} is not valid {codec} data ({err}); the image is corrupt (re-create or re-download it)")


def inflate(data: bytes, expected: int, what: str, wbits: int = ZLIB) -> bytes:
    """Deflate data (zlib-wrapped or bare, by ``wbits``) to exactly ``expected`` bytes."""
    try:
        stream = zlib.decompressobj(wbits)
        out = stream.decompress(data, expected)
        if len(out) < expected and not stream.eof:
            out += stream.flush(expected - len(out))
        if len(out) == expected and not stream.eof and stream.decompress(stream.unconsumed_tail, 1):
            raise _size_error(what, None, expected)
    except zlib.error as err:
        raise _codec_error(what, "deflate", err) from None
    if len(out) != expected:
        raise _size_error(what, len(out), expected)
    return out


def bunzip2(data: bytes, expected: int, what: str) -> bytes:
    """bzip2 data to exactly ``expected`` bytes."""
    stream = bz2.BZ2Decompressor()
    try:
        out = stream.decompress(data, expected)
        if len(out) == expected and not stream.eof and not stream.needs_input and stream.decompress(b"", 1):
            raise _size_error(what, None, expected)
    except (OSError, ValueError, EOFError) as err:
        raise _codec_error(what, "bzip2", err) from None
    if len(out) != expected:
        raise _size_error(what, len(out), expected)
    return out


def lzma_props(props: bytes) -> dict:
    """An LZMA1 filter spec from the 5 classic property bytes (lc/lp/pb byte, dictionary size)."""
    if len(props) != 5 or props[0] >= 9 * 5 * 5:
        raise BadImage(f"invalid LZMA properties {props.hex()}; the image header is corrupt")
    first = props[0]
    return {
        "id": lzma.FILTER_LZMA1,
        "lc": first % 9,
        "lp": (first // 9) % 5,
        "pb": first // 45,
        "dict_size": max(4096, int.from_bytes(props[1:], "little")),
    }


def unlzma(data: bytes, expected: int, what: str, filters: list[dict]) -> bytes:
    """A raw LZMA1 stream (no .lzma/.xz header; ``filters`` from ``lzma_props``, optionally
    behind a BCJ filter) to exactly ``expected`` bytes."""
    try:
        stream = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
        out = stream.decompress(data, expected)
        if len(out) == expected and not stream.eof and not stream.needs_input and stream.decompress(b"", 1):
            raise _size_error(what, None, expected)
    except (lzma.LZMAError, ValueError, EOFError) as err:
        raise _codec_error(what, "LZMA", err) from None
    if len(out) != expected:
        raise _size_error(what, len(out), expected)
    return out


def _lz4_length(data: bytes, pos: int, base: int) -> tuple[int, int]:
    """An LZ4 length: ``base`` (a 4-bit token field), extended by 255-valued bytes when 15."""
    length = base
    if base == 15:
        while True:
            byte = data[pos]
            pos += 1
            length += byte
            if byte != 255:
                break
    return length, pos


def lz4_block(data: bytes, expected: int, what: str) -> bytes:
    """One LZ4 *block* (no frame header) to exactly ``expected`` bytes.

    Python has no LZ4 in its standard library and the block format is tiny: a token holds a
    literal count and a match length, then literals, then a 2-byte back offset. Decoding stops
    after the literals that complete ``expected`` bytes, so padding after a block (ZSO pads
    blocks to its index alignment) is ignored.
    """
    out = bytearray()
    pos = 0
    try:
        while True:
            token = data[pos]
            literals, pos = _lz4_length(data, pos + 1, token >> 4)
            if pos + literals > len(data):
                raise IndexError(pos + literals)
            if len(out) + literals > expected:
                raise _size_error(what, None, expected)
            out += data[pos : pos + literals]
            pos += literals
            if len(out) == expected:
                return bytes(out)
            offset = data[pos] | data[pos + 1] << 8
            match, pos = _lz4_length(data, pos + 2, token & 15)
            match += 4
            if offset == 0 or offset > len(out):
                raise BadImage(f"{what}: LZ4 back-reference {offset} points before the block start; the image is corrupt")
            if len(out) + match > expected:
                raise _size_error(what, None, expected)
            start = len(out) - offset
            if offset >= match:
                out += out[start : start + match]
            else:
                pattern = bytes(out[start:])
                out += (pattern * (match // offset + 1))[:match]
    except IndexError:
        raise BadImage(
            f"{what}: the LZ4 block ends before its declared {expected} bytes; the image is corrupt "
            "or truncated (re-create or re-download it)"
        ) from None
