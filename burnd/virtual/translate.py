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
import select
import signal
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass

from burnd.errors import BurndError
from burnd.image.cdsector import RawView
from burnd.image.source import USER_DATA_SIZE, DataView, WritableBuffer
from burnd.virtual import mounts

FILE_NAME = "image.iso"
READY = b"ready\n"
#: what ``start_view`` runs with ``python -m``, and the subtype its mount shows (``fuse.burnd``)
SERVER_MODULE = "burnd.virtual.translate"
FS_SUBTYPE = "burnd"
#: how long a view server in another mount namespace gets to exit after SIGTERM (then SIGKILL)
EXIT_TIMEOUT = 10.0
REQUEST_BYTES = 1 << 20
#: sectors per scattered preadv: two iovecs per sector plus one must stay within IOV_MAX (1024)
SCATTER_SECTORS = 256
#: reply buffers remembered by address (libfuse reuses a handful)
REPLY_FILLERS = 16


class ViewError(BurndError):
    """A translated view could not be served."""

    dbus_name = "ViewFailed"


def span_room(size: int) -> int:
    """Scratch bytes a read of ``size`` bytes at any offset may need (whole sectors around it)."""
    return size + 2 * USER_DATA_SIZE


class SectorFiller:
    """Fills the start of one buffer with whole 2048-byte sectors of a view."""

    def __init__(self, view: DataView, buffer: WritableBuffer) -> None:
        self.view = view
        self.buffer = memoryview(buffer).cast("B")

    def fill(self, first: int, count: int) -> None:
        self.view.readinto(first, self.buffer[: count * USER_DATA_SIZE])


class ScatterFiller(SectorFiller):
    """Raw sectors (2352 bytes, 2336, 2448 with subchannel): one ``preadv`` per
    ``SCATTER_SECTORS`` sectors lands each sector's 2048 user-data bytes straight in the buffer
    and the rest (sync, header, EDC/ECC, subchannel) in a throwaway one.

    That is one kernel copy instead of a read, a per-sector copy and a per-sector EDC pass in
    RawView.readinto (3.8 GB/s against 15 GB/s scattered, measured in one process). The view
    checks neither sync nor EDC: the server never reported those counts, and a damaged sector
    reads the same either way. The iovec lists depend only on where in the buffer a batch
    lands, so they are built once and reused."""

    def __init__(self, view: RawView, buffer: WritableBuffer) -> None:
        super().__init__(view, buffer)
        self._raw = view
        gap = memoryview(bytearray(view.layout.stride - USER_DATA_SIZE))
        self._lead = gap[: view.layout.user_offset]
        self._between = gap
        self._tail = gap[len(self._lead):]
        self._iovecs = functools.lru_cache(maxsize=64)(self._build_iovecs)

    def _build_iovecs(self, start: int, count: int) -> tuple[list[memoryview], int]:
        """The preadv buffers for ``count`` sectors landing at sector ``start`` of the buffer,
        and how many bytes of the file they cover."""
        buffers = [self._lead] if len(self._lead) else []
        for i in range(start, start + count):
            buffers.append(self.buffer[i * USER_DATA_SIZE: (i + 1) * USER_DATA_SIZE])
            buffers.append(self._between if i < start + count - 1 else self._tail)
        return buffers, count * self._raw.layout.stride

    def fill(self, first: int, count: int) -> None:
        stride = self._raw.layout.stride
        for start in range(0, count, SCATTER_SECTORS):
            batch = min(SCATTER_SECTORS, count - start)
            buffers, want = self._iovecs(start, batch)
            if os.preadv(self._raw.fd, buffers, self._raw.offset + (first + start) * stride) != want:
                # short only where the file is truncated: the view raises the proper error
                self.view.readinto(first + start, self.buffer[start * USER_DATA_SIZE: (start + batch) * USER_DATA_SIZE])


def sector_filler(view: DataView, buffer: WritableBuffer) -> SectorFiller:
    """The fastest filler for ``view``: scattered reads for raw sectors in a file, the view's own
    ``readinto`` for everything else (cooked slices, compressed formats)."""
    if isinstance(view, RawView) and not view.layout.is_plain:
        return ScatterFiller(view, buffer)
    return SectorFiller(view, buffer)


def read_span(filler: SectorFiller, offset: int, size: int) -> tuple[int, int]:
    """Fill the filler's buffer (at least ``span_room(size)`` bytes) with the sectors covering
    ``size`` bytes at byte ``offset`` of the view; return where in the buffer the requested
    bytes start and how many there are (short at the end, like a file)."""
    total = filler.view.sectors * USER_DATA_SIZE
    end = min(offset + size, total)
    if offset >= end:
        return 0, 0
    first = offset // USER_DATA_SIZE
    filler.fill(first, -(-end // USER_DATA_SIZE) - first)
    return offset - first * USER_DATA_SIZE, end - offset


class ViewFileSystem:
    """FUSE operations for a read-only directory holding one file backed by a DataView.

    The server runs single-threaded (``nothreads``): views are not thread-safe (chunk caches),
    and two FUSE threads measured no faster (the reply copies share one memory bus). That also
    lets unaligned replies come from one reused scratch buffer."""

    use_ns = True

    def __init__(self, view: DataView, ready_fd: int | None) -> None:
        self._view = view
        self._size = view.sectors * USER_DATA_SIZE
        self._scratch = sector_filler(view, bytearray(span_room(REQUEST_BYTES)))
        self._replies: dict[tuple[int, int], SectorFiller] = {}
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

    def read(self, reply: int, size: int, offset: int) -> int:
        """Fill libfuse's reply buffer (``size`` bytes at address ``reply``, handed over by
        ``direct_reply_fuse``) with the bytes at ``offset``; return how many (short at the end,
        like a file)."""
        try:
            length = min(size, self._size - offset) if offset < self._size else 0
            if offset % USER_DATA_SIZE == 0 and length % USER_DATA_SIZE == 0:
                if length:
                    self._reply_filler(reply, length).fill(offset // USER_DATA_SIZE, length // USER_DATA_SIZE)
                return length
            return self._read_unaligned(reply, size, offset)
        except BurndError as e:
            print(f"burnd view: {e}", file=sys.stderr)
            raise _fuse_error(errno.EIO) from e

    def _reply_filler(self, reply: int, length: int) -> SectorFiller:
        """A filler writing straight into the reply buffer, so no copy is made in Python.

        libfuse allocates one buffer per request, and malloc hands the same address back for
        same-sized requests, so fillers (with their iovec lists) are kept per address and size;
        one is only used while libfuse has a buffer of that size at that address, for that
        request."""
        key = (reply, length)
        filler = self._replies.get(key)
        if filler is None:
            if len(self._replies) >= REPLY_FILLERS:
                self._replies.clear()
            filler = self._replies[key] = sector_filler(self._view, (ctypes.c_char * length).from_address(reply))
        return filler

    def _read_unaligned(self, reply: int, size: int, offset: int) -> int:
        """Part-sector reads (not what the kernel sends for page-aligned I/O): whole sectors into
        the scratch buffer, then one copy of the requested bytes."""
        if len(self._scratch.buffer) < span_room(size):
            self._scratch = sector_filler(self._view, bytearray(span_room(size)))
        start, length = read_span(self._scratch, offset, size)
        if length:
            ctypes.memmove(reply, ctypes.addressof(ctypes.c_char.from_buffer(self._scratch.buffer, start)), length)
        return length


def direct_reply_fuse() -> type:
    """mfusepy's FUSE class with one change: a read hands libfuse's reply buffer to the file
    system instead of copying the bytes ``read`` returns into it (one memmove per request,
    15% of a translated view's throughput). It overrides a method mfusepy does not promise to
    keep (its ``read_buf`` cannot be used: 3.1.1 declares libfuse's fuse_bufvec wrongly), so
    pyproject pins mfusepy below 3.2; every translated-view test reads through this path."""
    import mfusepy

    class DirectReplyFUSE(mfusepy.FUSE):
        def read(self, path: bytes | None, buf, size: int, offset: int, fip) -> int:
            return self.operations.read(ctypes.cast(buf, ctypes.c_void_p).value, size, offset)

    return DirectReplyFUSE


def _fuse_error(code: int) -> Exception:
    import mfusepy

    return mfusepy.FuseOSError(code)


def serve(image: str, session: int | None, track: int | None, mountpoint: str, ready_fd: int | None) -> None:
    """Open the image, mount the view and serve it until unmounted (runs in the view process)."""
    from burnd.image.convert import choose_track
    from burnd.image.open import open_image

    with open_image(image) as source:
        view = source.data_view(choose_track(source, session, track))
        direct_reply_fuse()(
            ViewFileSystem(view, ready_fd), mountpoint, foreground=True, ro=True, nothreads=True,
            fsname="burnd-view", subtype=FS_SUBTYPE,
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
    args = [sys.executable, "-m", SERVER_MODULE, image, mountpoint, "--ready-fd", str(write_end)]
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
    """End the server, unmount the view and remove its mount point and log."""
    _end_server_elsewhere(view)
    unmount(view.mountpoint)
    _remove_dir(view.mountpoint)
    try:
        os.unlink(view.log)
    except FileNotFoundError:
        pass


def is_view_server(view: ServedView) -> bool:
    """Whether ``view.pid`` is still the server started for this view: its command line runs
    this module on exactly this mount point, a random per-attachment path, so a recycled pid
    never passes (a zombie's command line is empty)."""
    try:
        with open(f"/proc/{view.pid}/cmdline", "rb") as f:
            words = f.read().split(b"\0")
    except OSError:
        return False
    return os.fsencode(SERVER_MODULE) in words and os.fsencode(view.mountpoint) in words


def mounted_view(view: ServedView) -> str | None:
    """``major:minor`` of the view file system at the view's mount point as its server sees it.

    Asked of the server's own mount table, not ours: under systemd every burnd start gets a new
    mount namespace (ProtectSystem, PrivateTmp), so a view mounted by an earlier start is
    invisible here while it still serves its device perfectly well."""
    try:
        table = mounts.read(view.pid)
    except OSError:
        return None
    found = [m.device for m in table if m.mountpoint == view.mountpoint and m.fstype == f"fuse.{FS_SUBTYPE}"]
    return found[-1] if found else None


def view_alive(view: ServedView) -> bool:
    """True while the view's own server process runs and has its mount in place.

    A stat of the file is no proof: the kernel answers it from its attribute cache for a while
    after the server died."""
    return is_view_server(view) and mounted_view(view) is not None


def _same_mount_namespace(pid: int) -> bool:
    try:
        return os.path.samestat(os.stat(f"/proc/{pid}/ns/mnt"), os.stat("/proc/self/ns/mnt"))
    except OSError:
        return True  # gone: nothing to do elsewhere


def _end_server_elsewhere(view: ServedView) -> None:
    """End a view server that lives in another mount namespace, and wait until it has.

    A view re-adopted after a restart under systemd is mounted in the previous start's
    namespace, where burnd cannot unmount it; so its server is asked to exit (on SIGTERM
    libfuse unmounts in its own namespace and returns), and killed if it does not within
    EXIT_TIMEOUT. The pidfd is taken before the process is recognised, so the signal can only
    reach the process that was checked. A server in our namespace exits when its view is
    unmounted."""
    try:
        pidfd = os.pidfd_open(view.pid)
    except OSError:
        return
    try:
        if not is_view_server(view) or _same_mount_namespace(view.pid):
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                signal.pidfd_send_signal(pidfd, sig)
            except ProcessLookupError:
                return
            if select.select([pidfd], [], [], EXIT_TIMEOUT)[0]:
                return
    finally:
        os.close(pidfd)


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
