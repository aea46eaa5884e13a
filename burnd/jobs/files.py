"""File descriptors from clients, as file objects the burn engine can use.

:class:`PositionalFile` reads with ``pread`` at its own offset, so several jobs fed from one
client fd (a group write: one fd, many drives in parallel) never move each other's position.
:func:`reopen_as` opens a recorded path with a submitter's credentials after a restart — only
on a throwaway thread whose ids are switched with raw syscalls (glibc would switch every
thread of the daemon), so the kernel's permission checks are the submitter's, never root's.
"""

from __future__ import annotations

import ctypes
import io
import os
import platform
import stat
import threading

from burnd.errors import BadImage

_SYSCALLS = {"x86_64": (116, 117, 119), "aarch64": (159, 147, 149), "i686": (81, 164, 170)}
"""(setgroups, setresuid, setresgid) syscall numbers."""
_KEEP = ctypes.c_long(-1)


class PositionalFile(io.RawIOBase):
    """A read-only, seekable view of an fd with a private offset; the caller keeps owning ``fd``."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._pos = 0

    def fileno(self) -> int:
        return self._fd

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        got = os.preadv(self._fd, [view], self._pos)
        self._pos += got
        return got

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            self._pos = offset
        elif whence == os.SEEK_CUR:
            self._pos += offset
        else:
            self._pos = size_of(self._fd) + offset
        return self._pos

    def tell(self) -> int:
        return self._pos


def size_of(fd: int) -> int:
    """Bytes in a regular file or block device."""
    info = os.fstat(fd)
    if stat.S_ISBLK(info.st_mode):
        return os.lseek(fd, 0, os.SEEK_END)
    return info.st_size


def check_image_fd(fd: int) -> None:
    """Refuse what cannot be burned from (pipes, sockets, directories)."""
    info = os.fstat(fd)
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISBLK(info.st_mode)):
        raise BadImage("the image must be a regular file or a block device, not a pipe or socket — save it "
                       "to a file first and pass that")


def fd_path(fd: int) -> str | None:
    """The path an fd was opened by, recorded so the file can be reopened after a restart."""
    try:
        path = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
    return path if path.startswith("/") and not path.endswith(" (deleted)") else None


def reopen_as(path: str, uid: int, gid: int, groups: tuple[int, ...], flags: int = os.O_RDONLY) -> int:
    """``open(path)`` with the kernel checking ``uid``/``gid``/``groups``; raises OSError."""
    result: list[int | BaseException] = []
    thread = threading.Thread(target=_open_on_this_thread, args=(path, uid, gid, groups, flags, result),
                              name="reopen-as")
    thread.start()
    thread.join()
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _open_on_this_thread(path: str, uid: int, gid: int, groups: tuple[int, ...], flags: int,
                         result: list[int | BaseException]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    setgroups, setresuid, setresgid = _SYSCALLS[platform.machine()]
    saved_groups = os.getgroups()

    def call(number: int, *args: object) -> None:
        if libc.syscall(number, *args) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    def set_groups(ids: list[int]) -> None:
        array = (ctypes.c_uint * max(len(ids), 1))(*ids)
        call(setgroups, ctypes.c_long(len(ids)), array)

    try:
        set_groups(list(groups))
        call(setresgid, _KEEP, ctypes.c_long(gid), _KEEP)
        call(setresuid, _KEEP, ctypes.c_long(uid), _KEEP)
        try:
            result.append(os.open(path, flags | os.O_CLOEXEC))
        finally:
            call(setresuid, _KEEP, ctypes.c_long(0), _KEEP)
    except BaseException as exc:
        result.append(exc)
    finally:
        try:
            call(setresgid, _KEEP, ctypes.c_long(0), _KEEP)
            set_groups(saved_groups)
        except OSError:
            os.abort()
