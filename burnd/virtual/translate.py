"""Translated read-only views: a FUSE file that presents a track's 2048-byte user data.

A loop device maps one contiguous byte range of one file, so a 2352-byte BIN or a compressed
image cannot be attached as it is. Instead of converting the whole image first, burnd serves a
one-file FUSE file system whose ``image.iso`` is the track's DataView, and loop-attaches that
file. Reads are translated on demand; nothing is copied ahead.

Each view runs in its own small process (``python -m burnd.virtual.translate``) in its own
session. That keeps libfuse's signal handling out of the daemon, and it means a daemon killed
with SIGKILL leaves working devices behind that the next start re-adopts (the server, not the
daemon, answers the kernel's reads). The server exits when its mount is unmounted.

``start_view``/``stop_view`` block (process start, mount wait, unmount); call them from a
worker thread in asyncio code.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import errno
import functools
import os
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass

from burnd.errors import BurndError
from burnd.image.source import USER_DATA_SIZE, DataView

FILE_NAME = "image.iso"
READY = b"ready\n"
REQUEST_BYTES = 1 << 20


class ViewError(BurndError):
    """A translated view could not be served."""

    dbus_name = "ViewFailed"


def span_room(size: int) -> int:
    """Scratch bytes a read of ``size`` bytes at any offset may need (whole sectors around it)."""
    return size + 2 * USER_DATA_SIZE


def read_span(view: DataView, offset: int, size: int, scratch: bytearray) -> tuple[int, int]:
    """Fill ``scratch`` (at least ``span_room(size)`` bytes) with the sectors covering ``size``
    bytes at byte ``offset`` of a 2048-byte view; return where in ``scratch`` the requested
    bytes start and how many there are (short at the end, like a file)."""
    total = view.sectors * USER_DATA_SIZE
    end = min(offset + size, total)
    if offset >= end:
        return 0, 0
    first = offset // USER_DATA_SIZE
    need = (-(-end // USER_DATA_SIZE) - first) * USER_DATA_SIZE
    view.readinto(first, memoryview(scratch)[:need])
    return offset - first * USER_DATA_SIZE, end - offset


class ViewFileSystem:
    """FUSE operations for a read-only directory holding one file backed by a DataView.

    The server runs single-threaded (``nothreads``): views are not thread-safe (chunk caches),
    and the sector extraction holds the GIL anyway, so extra FUSE threads measured no faster.
    That also lets every reply come from one reused scratch buffer."""

    use_ns = True

    def __init__(self, view: DataView, ready_fd: int | None) -> None:
        self._view = view
        self._size = view.sectors * USER_DATA_SIZE
        self._scratch = bytearray(span_room(REQUEST_BYTES))
        self._ready_fd = ready_fd

    def init_with_config(self, conn, config) -> None:
        """Ask the kernel for large requests and readahead: per-request overhead in Python is
        what limits a translated view, so fewer, bigger reads are faster."""
        if conn is not None:
            conn.max_write = REQUEST_BYTES  # libfuse derives max_pages (the read size cap) from it
            conn.max_readahead = REQUEST_BYTES
        if config is not None:
            config.kernel_cache = 1
            config.attr_timeout = config.entry_timeout = 3600.0
        if self._ready_fd is not None:
            os.write(self._ready_fd, READY)
            os.close(self._ready_fd)
            self._ready_fd = None

    def getattr(self, path: str, fh: int | None = None) -> dict[str, int]:
        if path == "/":
            return {"st_mode": stat.S_IFDIR | 0o555, "st_nlink": 2}
        if path == "/" + FILE_NAME:
            return {"st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": self._size}
        raise _fuse_error(errno.ENOENT)

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", FILE_NAME]

    def open(self, path: str, flags: int) -> int:
        if path != "/" + FILE_NAME:
            raise _fuse_error(errno.ENOENT)
        if flags & os.O_ACCMODE != os.O_RDONLY:
            raise _fuse_error(errno.EROFS)
        return 0

    def read(self, path: str, size: int, offset: int, fh: int) -> ctypes.Array | bytes:
        """Answer a read from the scratch buffer, handed to the FUSE layer as a ctypes array over
        it: no allocation and no extra copy per request (mfusepy copies the reply into libfuse's
        buffer before the next request is read, so reusing the buffer is safe)."""
        if len(self._scratch) < span_room(size):
            self._scratch = bytearray(span_room(size))  # a new one: the old may still be exported
        try:
            start, length = read_span(self._view, offset, size, self._scratch)
        except BurndError as e:
            print(f"burnd view: {e}", file=sys.stderr)
            raise _fuse_error(errno.EIO) from e
        return (ctypes.c_char * length).from_buffer(self._scratch, start) if length else b""


def _fuse_error(code: int) -> Exception:
    import mfusepy

    return mfusepy.FuseOSError(code)


def serve(image: str, session: int | None, track: int | None, mountpoint: str, ready_fd: int | None) -> None:
    """Open the image, mount the view and serve it until unmounted (runs in the view process)."""
    import mfusepy

    from burnd.image.convert import choose_track
    from burnd.image.open import open_image

    with open_image(image) as source:
        view = source.data_view(choose_track(source, session, track))
        mfusepy.FUSE(
            ViewFileSystem(view, ready_fd), mountpoint, foreground=True, ro=True, nothreads=True,
            fsname="burnd-view", subtype="burnd",
        )


@functools.cache
def fuse_available() -> str | None:
    """None when translated views can work here, else the reason they cannot. Asked once per
    process: find_library runs ldconfig, far too slow for every attach."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist (load the fuse module)"
    if ctypes.util.find_library("fuse3") is None:
        return "libfuse3 is not installed (apt install fuse3)"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as e:
        return f"the Python FUSE binding mfusepy cannot be loaded ({e})"
    return None


@dataclass(frozen=True, slots=True)
class ServedView:
    """A running view: its server process and the file to loop-attach."""

    pid: int
    mountpoint: str

    @property
    def file(self) -> str:
        return os.path.join(self.mountpoint, FILE_NAME)

    @property
    def log(self) -> str:
        """The server's stderr: a file, not a pipe, so a server that outlives the daemon that
        started it never writes into a pipe nobody reads."""
        return self.mountpoint + ".log"


def start_view(image: str, mountpoint: str, *, session: int | None = None, track: int | None = None,
               timeout: float = 30.0) -> ServedView:
    """Start a view server for ``image`` on ``mountpoint`` (created if missing) and wait until
    the mount answers; raise ViewError with the server's own message if it fails."""
    os.makedirs(mountpoint, mode=0o700, exist_ok=True)
    served = ServedView(0, mountpoint)
    read_end, write_end = os.pipe()
    args = [sys.executable, "-m", "burnd.virtual.translate", image, mountpoint, "--ready-fd", str(write_end)]
    if session is not None:
        args += ["--session", str(session)]
    if track is not None:
        args += ["--track", str(track)]
    try:
        with open(served.log, "wb") as log:
            proc = subprocess.Popen(args, pass_fds=(write_end,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=log, start_new_session=True, cwd="/")
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "rb") as ready:
        answer = _read_with_timeout(ready, timeout)
    served = ServedView(proc.pid, mountpoint)
    if answer != READY or not view_alive(served):
        proc.kill()
        proc.wait()
        with open(served.log, errors="replace") as log:
            message = log.read().strip().splitlines()
        stop_view(served)
        raise ViewError(f"{image}: the translated view did not start: {message[-1] if message else 'no message'}")
    threading.Thread(target=proc.wait, daemon=True).start()  # reap it whenever it ends
    _raise_readahead(mountpoint)
    return served


def _raise_readahead(mountpoint: str) -> None:
    """Let the kernel read ahead REQUEST_BYTES on the view (the FUSE default is 128 KiB and the
    init reply can only lower it), so the server gets few large requests. Best effort: it needs
    root, and a view works without it."""
    dev = os.stat(mountpoint).st_dev
    try:
        with open(f"/sys/class/bdi/{os.major(dev)}:{os.minor(dev)}/read_ahead_kb", "w") as f:
            f.write(str(REQUEST_BYTES >> 10))
    except OSError:
        pass


def _read_with_timeout(stream, timeout: float) -> bytes:
    import select

    readable, _, _ = select.select([stream], [], [], timeout)
    return stream.read(len(READY)) if readable else b""


_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
MNT_DETACH = 2


def unmount(mountpoint: str, lazy: bool = False) -> bool:
    """Unmount a view (the server then exits); True if something was unmounted."""
    if _libc.umount2(os.fsencode(mountpoint), MNT_DETACH if lazy else 0) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOENT):
        return False
    if code == errno.EBUSY and not lazy:
        return unmount(mountpoint, lazy=True)
    raise ViewError(f"cannot unmount the view at {mountpoint}: {os.strerror(code)}")


def _remove_dir(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass


def stop_view(view: ServedView) -> None:
    """Unmount the view and remove its mount point and log; the server exits by itself."""
    unmount(view.mountpoint)
    _remove_dir(view.mountpoint)
    try:
        os.unlink(view.log)
    except FileNotFoundError:
        pass


def view_alive(view: ServedView) -> bool:
    """True while the view's own server process runs and its mount is in place.

    A stat of the file is no proof: the kernel answers it from its attribute cache for a while
    after the server died. The server's command line names its mount point, which also rules
    out a recycled pid."""
    try:
        with open(f"/proc/{view.pid}/cmdline", "rb") as f:
            words = f.read().split(b"\0")
    except OSError:
        return False
    return os.fsencode(view.mountpoint) in words and os.path.ismount(view.mountpoint)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve an image's 2048-byte view as a FUSE file (internal to burnd).")
    parser.add_argument("image")
    parser.add_argument("mountpoint")
    parser.add_argument("--session", type=int)
    parser.add_argument("--track", type=int)
    parser.add_argument("--ready-fd", type=int)
    args = parser.parse_args(argv)
    try:
        serve(args.image, args.session, args.track, args.mountpoint, args.ready_fd)
    except BurndError as e:
        print(str(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
