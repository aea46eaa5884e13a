"""The bounded FIFO between the image reader and the drive writer.

A reader thread fills reusable buffers with ``readinto`` (no per-chunk allocation) and hashes
exactly the bytes it read — SHA-256 always, MD5 optionally — so the image is read once and the
hash is ready when the last buffer is queued. hashlib releases the GIL on large buffers, so
hashing overlaps with the writer thread's SCSI commands. Buffers travel full → writer →
free → reader; the FIFO's size bounds memory whatever the image size.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from dataclasses import dataclass
from typing import BinaryIO

from burnd.errors import BadImage

_END = None


@dataclass(slots=True)
class Filled:
    """One buffer the reader filled: ``length`` bytes of image data at ``offset``."""

    buffer: bytearray
    length: int
    offset: int


class ImageFifo:
    """Reads ``size`` bytes of ``source`` into ``count`` buffers of ``unit`` bytes each."""

    def __init__(self, source: BinaryIO, size: int, *, fifo_bytes: int, unit: int, md5: bool = False) -> None:
        self._source = source
        self._size = size
        self._unit = unit
        count = max(2, fifo_bytes // unit)
        self._free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(count):
            self._free.put(bytearray(unit))
        self._full: queue.Queue[Filled | None] = queue.Queue()
        self._count = count
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5() if md5 else None
        self._thread = threading.Thread(target=self._run, name="burnd-fifo-reader", daemon=True)

    def start(self) -> ImageFifo:
        self._thread.start()
        return self

    @property
    def fill(self) -> float:
        """Fraction of the FIFO holding data not yet written."""
        return self._full.qsize() / self._count

    def _run(self) -> None:
        offset = 0
        try:
            while offset < self._size and not self._stop.is_set():
                buf = self._free.get()
                if buf is _END:
                    return
                want = min(self._unit, self._size - offset)
                view = memoryview(buf)[:want]
                got = 0
                while got < want:
                    n = self._source.readinto(view[got:])
                    if not n:
                        raise BadImage(f"the image ended after {offset + got} of {self._size} bytes; it "
                                       f"was truncated or changed while burning — check the file and retry")
                    got += n
                self.sha256.update(view)
                if self.md5 is not None:
                    self.md5.update(view)
                self._full.put(Filled(buf, want, offset))
                offset += want
        except BaseException as exc:  # handed to the writer thread, which raises it
            self._error = exc
        finally:
            self._full.put(_END)

    def get(self) -> Filled | None:
        """The next filled buffer, or None at the end; re-raises the reader's error."""
        item = self._full.get()
        if item is _END and self._error is not None:
            raise self._error
        return item

    def recycle(self, item: Filled) -> None:
        self._free.put(item.buffer)

    def close(self) -> None:
        """Stop the reader (also on error/cancel paths) and wait for it."""
        self._stop.set()
        self._free.put(_END)  # type: ignore[arg-type]
        self._thread.join()
