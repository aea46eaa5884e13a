"""A minimal inotify binding (ctypes): watched folders need only create/move/delete events, and
a pollable fd the watcher thread can wait on beside udev and mountinfo."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import struct
from dataclasses import dataclass

IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_DELETE = 0x00000200
IN_Q_OVERFLOW = 0x00004000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

#: a finished file appeared (written and closed, or moved in) / a file went away
APPEARED = IN_CLOSE_WRITE | IN_MOVED_TO
VANISHED = IN_DELETE | IN_MOVED_FROM

EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of NUL-padded name


@dataclass(frozen=True, slots=True)
class Event:
    wd: int
    mask: int
    name: str


def parse_events(data: bytes) -> list[Event]:
    """Split a read() of an inotify fd into events."""
    events = []
    at = 0
    while at + EVENT.size <= len(data):
        wd, mask, _cookie, length = EVENT.unpack_from(data, at)
        raw = data[at + EVENT.size: at + EVENT.size + length]
        events.append(Event(wd, mask, os.fsdecode(raw.split(b"\0", 1)[0])))
        at += EVENT.size + length
    return events


_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class Inotify:
    """An inotify instance whose ``fd`` is non-blocking; ``read`` returns what is queued."""

    def __init__(self) -> None:
        fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self.fd = fd
        self.paths: dict[int, str] = {}

    def add(self, path: str, mask: int = APPEARED | VANISHED) -> int:
        wd = _libc.inotify_add_watch(self.fd, os.fsencode(path), mask)
        if wd < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"cannot watch {path}: {os.strerror(code)}")
        self.paths[wd] = path
        return wd

    def read(self) -> list[Event]:
        try:
            return parse_events(os.read(self.fd, 64 * 1024))
        except BlockingIOError:
            return []
        except OSError as e:
            if e.errno == errno.EINTR:
                return []
            raise

    def close(self) -> None:
        os.close(self.fd)
