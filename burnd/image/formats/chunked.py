"""The shape every compressed disc image shares: chunks decompressed on demand.

ISZ, CSO/ZSO, DAA and UDIF DMG all store the disc as a run of independently compressed chunks
with an index, so any 2048-byte sector can be reached by decompressing one or two chunks. This
module holds the pieces they have in common — reading a logical byte range that may span split
files, a 2048-byte view with a small LRU cache of decompressed chunks (memory stays bounded
whatever the image size), and a one-track ``SectorSource`` — so each format module only parses
its own header and index and says how to decode chunk *i*.
"""

from __future__ import annotations

import os
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from burnd.errors import BadImage
from burnd.image.boundary import guard
from burnd.image.cdsector import pread_exact
from burnd.image.source import (
    USER_DATA_SIZE,
    DataView,
    PlainSlice,
    SectorErrors,
    SectorSource,
    Session,
    Track,
    TrackMode,
    checked_span,
    fd_size,
    WritableBuffer,
)

#: decompressed bytes kept per view (chunks are 2 KiB .. 16 MiB; the newest is always kept)
CACHE_BYTES = 8 * 1024 * 1024
#: refuse chunk sizes above this: no real image uses them, and each cached chunk costs as much
MAX_CHUNK_SIZE = 16 * 1024 * 1024
#: refuse indexes with more entries than this (2^26 chunks of 2 KiB is 128 GiB)
MAX_CHUNKS = 1 << 26


def open_fd(path: str) -> int:
    """Open an image file read-only, turning a missing or unreadable file into BadImage."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise BadImage(f"{path}: cannot open ({err.strerror}); check the path and its permissions") from None


def read_at(fd: int, offset: int, length: int, what: str) -> bytes:
    """Exactly ``length`` bytes at ``offset``, or BadImage when the file is shorter."""
    if offset < 0 or length < 0:
        raise BadImage(f"{what}: negative offset or length in the image header; the image is corrupt")
    if length > file_size(fd):
        raise BadImage(f"{what}: the header claims {length} bytes of tables or data, more than the whole file; the image is corrupt")
    buffer = bytearray(length)
    pread_exact(fd, memoryview(buffer), offset, what)
    return bytes(buffer)


def file_size(fd: int) -> int:
    return fd_size(fd)


def check_limits(what: str, chunk_size: int, chunks: int) -> None:
    """Reject a header whose chunk size or count no real image has, before allocating for it."""
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise BadImage(f"{what}: chunk size {chunk_size} is outside 1..{MAX_CHUNK_SIZE}; the header is corrupt")
    if not 0 <= chunks <= MAX_CHUNKS:
        raise BadImage(f"{what}: {chunks} chunks is more than any disc holds; the header is corrupt")


@dataclass(frozen=True, slots=True)
class Extent:
    """``length`` bytes of the logical compressed stream, from ``logical`` on, stored in ``fd``
    at ``offset``."""

    fd: int
    offset: int
    logical: int
    length: int


class SpannedReader:
    """Reads byte ranges of a logical stream stored as consecutive extents of several files.

    Split images (ISZ ``.i01`` parts, DAA volumes) continue one compressed stream across files,
    and a chunk may straddle two of them; a single file is the one-extent case.
    """

    def __init__(self, extents: Sequence[Extent], what: str) -> None:
        self._extents = tuple(extents)
        self._starts = [e.logical for e in self._extents]
        self._what = what

    @property
    def size(self) -> int:
        last = self._extents[-1]
        return last.logical + last.length

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise BadImage(
                f"{self._what}: a chunk at compressed offset {offset} (+{length} bytes) lies past the end of the "
                f"data ({self.size} bytes); the image is truncated or its index is corrupt"
            )
        parts = []
        while length:
            extent = self._extents[bisect_right(self._starts, offset) - 1]
            inside = offset - extent.logical
            take = min(length, extent.length - inside)
            parts.append(read_at(extent.fd, extent.offset + inside, take, self._what))
            offset += take
            length -= take
        return b"".join(parts)


ChunkLoader = Callable[[int, int], bytes]


class ChunkedView:
    """A random-access 2048-byte view over chunks of decompressed data, keeping the most
    recently used chunks up to ``cache_bytes``.

    ``chunk_starts[i]`` is where chunk *i* begins in the uncompressed image (a ``range`` for
    fixed-size chunks, so huge images cost no index memory); ``load(i, length)`` returns chunk
    *i*'s ``length`` decompressed bytes. Bytes between ``size`` and the end of the last sector
    read as zeros. Reads may come from several threads: the cache is locked, and loaders read
    files with ``pread`` so no file position is shared.
    """

    def __init__(
        self,
        chunk_starts: Sequence[int],
        size: int,
        load: ChunkLoader,
        name: str,
        cache_bytes: int = CACHE_BYTES,
    ) -> None:
        self._starts = chunk_starts
        self.size = size
        self._load = load
        self._name = name
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached = 0
        self._lock = threading.Lock()
        self.sectors = -(-size // USER_DATA_SIZE)
        self.errors = SectorErrors()

    def _chunk_length(self, index: int) -> int:
        end = self._starts[index + 1] if index + 1 < len(self._starts) else self.size
        return end - self._starts[index]

    def _chunk(self, index: int) -> bytes:
        with self._lock:
            cached = self._cache.get(index)
            if cached is not None:
                self._cache.move_to_end(index)
                return cached
        length = self._chunk_length(index)
        data = self._load(index, length)
        if len(data) != length:
            raise BadImage(f"{self._name}: chunk {index} holds {len(data)} bytes, expected {length}; the image is corrupt")
        with self._lock:
            if index not in self._cache:
                self._cache[index] = data
                self._cached += len(data)
            while self._cached > self._cache_bytes and len(self._cache) > 1:
                self._cached -= len(self._cache.popitem(last=False)[1])
        return data

    def readinto(self, first: int, buffer: WritableBuffer) -> int:
        out, count = checked_span(buffer, first, self.sectors, self._name, unit="image")
        pos = first * USER_DATA_SIZE
        end = pos + len(out)
        done = 0
        while pos < end:
            if pos >= self.size:
                out[done:] = bytes(end - pos)
                break
            index = bisect_right(self._starts, pos) - 1
            chunk = self._chunk(index)
            inside = pos - self._starts[index]
            take = min(len(chunk) - inside, end - pos)
            out[done : done + take] = chunk[inside : inside + take]
            done += take
            pos += take
        return len(out)


class SingleTrackImage(SectorSource):
    """An image of one data track (what an ISO compressor stores).

    The format modules build the view and hand over the list of file descriptors it reads
    (the one ``guarded_open`` filled), which ``close`` releases. ``sector_size`` is the stored
    sector size: 2048 for compressed images, whose chunks hold cooked sectors.
    """

    def __init__(
        self,
        path: str,
        format: str,
        view: DataView,
        fds: Sequence[int],
        plain: PlainSlice | None = None,
        mode: TrackMode = TrackMode.DATA,
        sector_size: int = USER_DATA_SIZE,
    ) -> None:
        super().__init__(path)
        self.format = format
        self._view = view
        self._fds = fds
        self._plain = plain
        track = Track(number=1, session=1, mode=mode, start_lba=0, sectors=view.sectors, sector_size=sector_size)
        self._sessions = (Session(1, (track,)),)

    @property
    def sessions(self) -> tuple[Session, ...]:
        return self._sessions

    def _check_track(self, track: Track | None) -> None:
        if track is not None and track != self._sessions[0].tracks[0]:
            raise BadImage(f"{self.path}: this {self.format} image has one track; track {track.number} is not in it")

    def data_view(self, track: Track | None = None) -> DataView:
        self._check_track(track)
        return self._view

    def plain_slice(self, track: Track | None = None) -> PlainSlice | None:
        self._check_track(track)
        return self._plain

    def close(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            os.close(fd)


def guarded_open(path: str, build: Callable[[list[int]], SectorSource]) -> SectorSource:
    """Open ``path`` and run ``build(fds)`` with its descriptor as ``fds[0]``.

    ``build`` appends any further files it opens (split parts) to ``fds``; all of them are
    closed if building fails. Parsers index bytes, unpack structs and do arithmetic on
    untrusted values; anything they did not anticipate becomes BadImage here instead of
    escaping as a bare Python error.
    """
    fds = [open_fd(path)]
    try:
        with guard(path, "read the image header"):
            return build(fds)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
