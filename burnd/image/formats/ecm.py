"""ECM (Neill Corlett's Error Code Modeler): a raw CD image with the regenerable parts removed.

The stream after the ``ECM\\0`` magic is a list of records, each a variable-length count and
a 2-bit type: 0 literal bytes; 1 Mode 1 sectors (3 address bytes + 2048 data, rebuilt to 2352
with sync, EDC and ECC); 2 Mode 2 Form 1 and 3 Form 2 sectors (4 subheader bytes + 2048 or
2324, rebuilt to 2336 bytes from the subheader on — their sync and header travel as literals).
A count of 0xFFFFFFFF ends the records, followed by the EDC of everything decoded.

ECM has no index, so random access needs the decoded image: ``data_view`` decodes the whole
stream once, on first use, into an anonymous temporary file (as large as the original .bin,
in ``tmpdir``), verifies the checksum, and serves reads from there. Opening only scans the
record headers (seeking over payloads) to learn the layout and reject truncated streams.
"""

from __future__ import annotations

import os
import struct
import tempfile
import threading
from dataclasses import dataclass
from typing import BinaryIO

from burnd.errors import BadImage
from burnd.image.cdsector import COOKED, MODE1_RAW, MODE2_RAW, SYNC, RawView, SectorLayout, ecc, edc
from burnd.image.formats.chunked import open_fd
from burnd.image.source import DataView, SectorSource, Session, Track, TrackMode, fd_size

NAME = "ecm"
EXTENSIONS = (".ecm",)

MAGIC = b"ECM\0"
END = 0xFFFFFFFF
LITERAL, MODE1, FORM1, FORM2 = range(4)
#: bytes each sector record stores, and how many it decodes to
STORED = {MODE1: 3 + 2048, FORM1: 4 + 2048, FORM2: 4 + 2324}
DECODED = {MODE1: 2352, FORM1: 2336, FORM2: 2336}
COPY_BLOCK = 1 << 16


def probe(f: BinaryIO, size: int) -> bool:
    try:
        f.seek(0)
        return f.read(4) == MAGIC
    except (OSError, ValueError):
        return False


def open_image(path: str, tmpdir: str | None = None) -> SectorSource:
    return EcmImage(path, tmpdir)


def _truncated(path: str) -> BadImage:
    return BadImage(f"{path}: the ECM stream ends in the middle of a record; the file is truncated (re-copy it)")


def read_record(f: BinaryIO, path: str) -> tuple[int, int] | None:
    """The next (type, count) record header, or None at the end marker."""
    first = f.read(1)
    if not first:
        raise _truncated(path)
    byte = first[0]
    kind, count, shift = byte & 3, (byte >> 2) & 0x1F, 5
    while byte & 0x80:
        more = f.read(1)
        if not more:
            raise _truncated(path)
        byte = more[0]
        if shift > 31:
            raise BadImage(f"{path}: an ECM record count is longer than 32 bits; the stream is corrupt")
        count |= (byte & 0x7F) << shift
        shift += 7
    count &= 0xFFFFFFFF
    if count == END:
        return None
    if count + 1 >= 0x80000000:
        raise BadImage(f"{path}: an ECM record claims {count + 1} items; the stream is corrupt")
    return kind, count + 1


def rebuild(kind: int, stored: bytes) -> bytes:
    """One sector from its stored bytes: the exact bytes the encoder removed it from."""
    if kind == MODE1:
        sector = bytearray(SYNC + stored[:3] + b"\x01" + stored[3:])
        sector += struct.pack("<I", edc(sector)) + bytes(8)
        return bytes(sector + ecc(sector))
    body = stored[:4] * 2 + stored[4:]
    body += struct.pack("<I", edc(body))
    if kind == FORM2:
        return body
    return body + ecc(SYNC + bytes(4) + body)


class RunningEdc:
    """The EDC of a stream fed in pieces. ``cdsector.edc`` starts from zero; for this CRC
    (reflected, no final XOR) continuing from state *s* equals starting from zero with *s*
    XORed into the next four bytes, so pieces are fed with that adjustment, holding back a
    few bytes so every piece is at least four long."""

    def __init__(self) -> None:
        self.state = 0
        self._pending = bytearray()

    def update(self, data: bytes) -> None:
        self._pending += data
        if len(self._pending) > COPY_BLOCK:
            self._feed(len(self._pending) - 4)

    def _feed(self, length: int) -> None:
        piece = self._pending[:length]
        if self.state:
            head = int.from_bytes(piece[:4], "little") ^ self.state
            piece[:4] = head.to_bytes(4, "little")
        self.state = edc(bytes(piece))
        del self._pending[:length]

    def value(self) -> int:
        if self._pending:
            self._feed(len(self._pending))
        return self.state


@dataclass(frozen=True, slots=True)
class Scan:
    size: int
    head: bytes


def scan(f: BinaryIO, size: int, path: str) -> Scan:
    """Walk the record headers without decoding: decoded size and first 16 decoded bytes."""
    f.seek(len(MAGIC))
    decoded = 0
    head = bytearray()
    while (record := read_record(f, path)) is not None:
        kind, count = record
        start = f.tell()
        stored = count if kind == LITERAL else count * STORED[kind]
        if start + stored > size:
            raise _truncated(path)
        if len(head) < 16:
            if kind == LITERAL:
                head += f.read(min(count, 16 - len(head)))
            elif kind == MODE1:
                head += SYNC + f.read(3) + b"\x01"
        f.seek(start + stored)
        decoded += count if kind == LITERAL else count * DECODED[kind]
    if f.tell() + 4 > size:
        raise _truncated(path)
    return Scan(decoded, bytes(head[:16]))


def decode(f: BinaryIO, out: BinaryIO, path: str) -> None:
    """Decode the whole stream from ``f`` into ``out``, checking the trailing EDC."""
    f.seek(len(MAGIC))
    check = RunningEdc()
    while (record := read_record(f, path)) is not None:
        kind, count = record
        if kind == LITERAL:
            while count:
                piece = f.read(min(count, COPY_BLOCK))
                if not piece:
                    raise _truncated(path)
                check.update(piece)
                out.write(piece)
                count -= len(piece)
            continue
        for _ in range(count):
            stored = f.read(STORED[kind])
            if len(stored) != STORED[kind]:
                raise _truncated(path)
            sector = rebuild(kind, stored)
            check.update(sector)
            out.write(sector)
    trailer = f.read(4)
    if len(trailer) != 4:
        raise _truncated(path)
    if int.from_bytes(trailer, "little") != check.value():
        raise BadImage(f"{path}: the decoded ECM data does not match its checksum; the file is corrupt (re-copy it)")


def _layout(head: bytes) -> tuple[SectorLayout, TrackMode]:
    """What the decoded stream is: raw sectors (by the first sync and mode byte) or an ISO."""
    if head[:12] == SYNC and len(head) == 16:
        if head[15] == 1:
            return MODE1_RAW, TrackMode.MODE1
        if head[15] == 2:
            return MODE2_RAW, TrackMode.MODE2_MIXED
    return COOKED, TrackMode.DATA


class EcmImage(SectorSource):
    """An opened ECM file: one track whose view is the decoded image (see the module doc)."""

    format = NAME

    def __init__(self, path: str, tmpdir: str | None = None) -> None:
        super().__init__(path)
        self._tmpdir = tmpdir
        self._lock = threading.Lock()
        self._decoded: int | None = None
        self._view: RawView | None = None
        fd = open_fd(path)
        self._file = os.fdopen(fd, "rb")
        try:
            if self._file.read(4) != MAGIC:
                raise BadImage(f"{path}: not an ECM file (no ECM\\0 signature)")
            found = scan(self._file, fd_size(fd), path)
        except BaseException:
            self._file.close()
            raise
        self._layout, mode = _layout(found.head)
        self._size = found.size
        sectors = found.size // self._layout.stride
        if sectors == 0:
            self._file.close()
            raise BadImage(f"{path}: the ECM file decodes to less than one sector; there is no disc in it")
        self._sessions = (Session(1, (Track(1, 1, mode, 0, sectors, self._layout.stride),)),)

    @property
    def sessions(self) -> tuple[Session, ...]:
        return self._sessions

    def data_view(self, track: Track | None = None) -> DataView:
        if track is not None and track != self._sessions[0].tracks[0]:
            raise BadImage(f"{self.path}: this ECM image has one track; track {track.number} is not in it")
        with self._lock:
            if self._view is None:
                self._view = self._decode()
            return self._view

    def _decode(self) -> RawView:
        out = tempfile.TemporaryFile(dir=self._tmpdir, prefix="burnd-ecm-")
        try:
            decode(self._file, out, self.path)
            out.flush()
            if out.tell() != self._size:
                raise BadImage(f"{self.path}: the ECM stream decoded to {out.tell()} bytes, not {self._size}; the file is corrupt")
            self._decoded = os.dup(out.fileno())
        finally:
            out.close()
        track = self._sessions[0].tracks[0]
        return RawView(self._decoded, 0, track.sectors, self._layout, name=self.path)

    def close(self) -> None:
        self._file.close()
        if self._decoded is not None:
            os.close(self._decoded)
            self._decoded = None
