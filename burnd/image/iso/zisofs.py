"""zisofs (Rock Ridge ``ZF``, algorithm ``pz``): transparently compressed files.

Such a file's extent holds a 16-byte header (magic, uncompressed size, header size, log2 block
size), a table of block offsets, then one zlib stream per block; equal neighbouring offsets
mean a block of zeros. Decompression runs block by block (32–128 KiB), so memory stays bounded
whatever the file size, and every offset is checked against the compressed extent.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass

from burnd.errors import BadImage, UnsupportedImage

MAGIC = b"\x37\xe4\x53\x96\xc9\xdb\xd6\x07"


def parse_zf(body: bytes) -> int | None:
    """The uncompressed size from a ZF entry body, or None for an algorithm we do not read."""
    if len(body) < 12 or body[:2] != b"pz":
        return None
    return struct.unpack_from("<I", body, 4)[0]


@dataclass(slots=True)
class ZisofsData:
    """A ``DataSource`` that inflates a zisofs file stored at ``offset`` (``stored`` bytes)."""

    image_fd: int
    offset: int
    stored: int
    size: int

    def copy_to(self, out_fd: int) -> None:
        for chunk in self.blocks():
            view = memoryview(chunk)
            while view:
                view = view[os.write(out_fd, view) :]

    def blocks(self):
        header = self._read(0, 16)
        if header[:8] != MAGIC:
            raise BadImage("zisofs file lacks its magic number; the image is corrupt")
        size, header_words, log2 = struct.unpack_from("<IBB", header, 8)
        if size != self.size or log2 not in (15, 16, 17):
            raise BadImage(f"zisofs header disagrees with Rock Ridge (size {size} vs {self.size}, block 2^{log2})")
        block = 1 << log2
        count = -(-size // block)
        table = self._read(header_words * 4, 4 * (count + 1))
        pointers = struct.unpack(f"<{count + 1}I", table)
        left = size
        for index in range(count):
            want = min(block, left)
            start, end = pointers[index], pointers[index + 1]
            if end < start or end > self.stored:
                raise BadImage("zisofs block table points outside the compressed file")
            if start == end:
                data = bytes(want)
            else:
                inflater = zlib.decompressobj()
                data = inflater.decompress(self._read(start, end - start), want)
                if len(data) != want:
                    raise BadImage(f"zisofs block {index} inflates to {len(data)} bytes, not {want}")
            yield data
            left -= want

    def _read(self, position: int, length: int) -> bytes:
        if position + length > self.stored:
            raise BadImage("zisofs data lies past the end of its extent")
        data = os.pread(self.image_fd, length, self.offset + position)
        if len(data) != length:
            raise BadImage("zisofs data lies past the end of the image")
        return data


def zisofs_source(image_fd: int, runs, size: int) -> ZisofsData:
    if len(runs) != 1 or runs[0].offset is None:
        raise UnsupportedImage("a zisofs file spread over several extents is not supported")
    return ZisofsData(image_fd, runs[0].offset, runs[0].length, size)
