"""Linux SG_IO: the Transport that talks to real drives through /dev/srN or /dev/sgN.

The data buffer is the caller's own memory: its address goes straight into ``sg_io_hdr`` so a
burn streams through one reusable buffer without a copy per command, and the ioctl runs through
ctypes (which releases the GIL) so a writer thread does not stall the asyncio loop. Every errno
is turned into a ``burnd.errors`` exception whose message says what to do about it.
"""

from __future__ import annotations

import ctypes
import errno
import grp
import logging
import math
import os
import re
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from burnd.errors import DeviceBusy, DeviceError, NotAnOpticalDrive
from burnd.scsi.transport import Buffer, CommandResult, Direction

log = logging.getLogger(__name__)

SG_IO = 0x2285
SG_GET_VERSION_NUM = 0x2282
SG_INTERFACE_ID = ord("S")
SENSE_BUFFER_LEN = 64
MAX_TIMEOUT_MS = 0xFFFFFFFF


class DeviceGone(DeviceError):
    """The device node no longer leads to a device (unplugged, driver unbound)."""

    dbus_name = "DeviceGone"


class DevicePermissionDenied(DeviceError):
    """The kernel refused to open the device, or to pass a command through, for this user."""

    dbus_name = "PermissionDenied"


class TransferTooLarge(DeviceError):
    """One command asked to move more bytes than the kernel can map for the adapter."""

    dbus_name = "TransferTooLarge"


class SgIoHdr(ctypes.Structure):
    """``sg_io_hdr_t`` (v3 interface); natural alignment gives the kernel's 88-byte layout."""

    _fields_ = [
        ("interface_id", ctypes.c_int),
        ("dxfer_direction", ctypes.c_int),
        ("cmd_len", ctypes.c_ubyte),
        ("mx_sb_len", ctypes.c_ubyte),
        ("iovec_count", ctypes.c_ushort),
        ("dxfer_len", ctypes.c_uint),
        ("dxferp", ctypes.c_void_p),
        ("cmdp", ctypes.c_void_p),
        ("sbp", ctypes.c_void_p),
        ("timeout", ctypes.c_uint),
        ("flags", ctypes.c_uint),
        ("pack_id", ctypes.c_int),
        ("usr_ptr", ctypes.c_void_p),
        ("status", ctypes.c_ubyte),
        ("masked_status", ctypes.c_ubyte),
        ("msg_status", ctypes.c_ubyte),
        ("sb_len_wr", ctypes.c_ubyte),
        ("host_status", ctypes.c_ushort),
        ("driver_status", ctypes.c_ushort),
        ("resid", ctypes.c_int),
        ("duration", ctypes.c_uint),
        ("info", ctypes.c_uint),
    ]


class _PyBuffer(ctypes.Structure):
    """CPython's ``Py_buffer``: the only way to get the address of a *read-only* buffer
    (bytes, a memoryview of an mmap) without copying it; ctypes' from_buffer wants it writable."""

    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


_PyBUF_SIMPLE = 0
_PyBUF_WRITABLE = 1
_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_get_buffer.restype = ctypes.c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_PyBuffer)]
_release_buffer.restype = None

_libc = ctypes.CDLL(None, use_errno=True)
_libc_ioctl = _libc.ioctl
_libc_ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
_libc_ioctl.restype = ctypes.c_int


@contextmanager
def pinned(buffer: Buffer | bytes, writable: bool) -> Iterator[tuple[int, int]]:
    """Yield ``(address, length)`` of a contiguous buffer, holding it exported meanwhile.

    While exported, a bytearray cannot be resized or freed under the kernel's feet. Raises
    BufferError for non-contiguous views and for read-only buffers when ``writable``.
    """
    view = _PyBuffer()
    _get_buffer(buffer, ctypes.byref(view), _PyBUF_WRITABLE if writable else _PyBUF_SIMPLE)
    try:
        yield view.buf or 0, view.len
    finally:
        _release_buffer(ctypes.byref(view))


def _ioctl(fd: int, request: int, arg: ctypes.c_void_p | int) -> int:
    result = _libc_ioctl(fd, request, arg)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def timeout_ms(seconds: float) -> int:
    """SG_IO wants milliseconds in a u32; round up so a tiny timeout never becomes 0 (= default)."""
    return max(1, min(MAX_TIMEOUT_MS, math.ceil(seconds * 1000)))


def _unescape_mountinfo(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mount_points(rdev: int, mountinfo: str | None = None) -> list[str]:
    """Where the block device ``rdev`` is mounted, from /proc/self/mountinfo."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return []
    wanted = f"{os.major(rdev)}:{os.minor(rdev)}"
    return [
        _unescape_mountinfo(fields[4])
        for fields in (line.split() for line in mountinfo.splitlines())
        if len(fields) > 4 and fields[2] == wanted
    ]


def holders(st: os.stat_result) -> list[tuple[int, str]]:
    """(PID, command name) of every process with an open fd on the same device node.

    Only processes whose /proc/PID/fd we may read are seen; others are silently skipped.
    """
    kind = stat.S_IFMT(st.st_mode)
    found: list[tuple[int, str]] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                other = os.stat(fd)
            except OSError:
                continue
            if stat.S_IFMT(other.st_mode) == kind and other.st_rdev == st.st_rdev:
                try:
                    comm = (proc / "comm").read_text().strip()
                except OSError:
                    comm = "?"
                found.append((int(proc.name), comm))
                break
    return found


def _group_hint(path: str) -> str:
    try:
        st = os.stat(path)
        group = grp.getgrgid(st.st_gid).gr_name
    except (OSError, KeyError):
        return "run burnd as root or give its user access to the device"
    if group == "root":
        return (
            f"the node is owned by root:root (mode {stat.S_IMODE(st.st_mode):04o}): run burnd as "
            "root, or install burnd's udev rules so drives get group 'cdrom'"
        )
    return f"add the user to group '{group}' (which owns {path}) or run burnd as root"


def _busy_message(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return f"{path} is busy (held exclusively by another program): close it there and retry"
    users = [f"in use by PID {pid} ({comm})" for pid, comm in holders(st)]
    mounts = [f"mounted at {where}" for where in mount_points(st.st_rdev)] if stat.S_ISBLK(st.st_mode) else []
    advice = [a for a, needed in (("unmount it", mounts), ("close it in that program", users)) if needed]
    if not advice:
        return (f"{path} is busy: held exclusively by a program this process cannot see; "
                "close the other burning or mounting program and retry")
    return f"{path} is busy: {'; '.join(mounts + users)}. {' and '.join(advice).capitalize()}, then retry"


def _not_scsi_message(path: str) -> str:
    return (
        f"{path} is not a SCSI device (it does not accept SG_IO): give burnd an optical drive "
        "such as /dev/sr0"
    )


def errno_error(path: str, err: OSError, action: str = "open") -> DeviceError:
    """Translate an errno from opening ``path`` (or from ``action`` on it) into an error a user
    can act on."""
    code = err.errno
    if code == errno.ENOENT:
        return DeviceError(
            f"no such device {path}: check the path, and that the drive is connected and its "
            "driver (sr_mod/sg) is loaded"
        )
    if code in (errno.EACCES, errno.EPERM):
        return DevicePermissionDenied(f"permission denied opening {path}: {_group_hint(path)}")
    if code == errno.EBUSY:
        return DeviceBusy(_busy_message(path))
    if code in (errno.ENOTTY, errno.EISDIR):
        return NotAnOpticalDrive(_not_scsi_message(path))
    if code in (errno.ENODEV, errno.ENXIO):
        return DeviceGone(
            f"{path} is gone (unplugged, or its driver was unbound): reconnect the drive"
        )
    if code == errno.EROFS:
        return DeviceError(f"{path} can only be opened read-only here, so it cannot be burned")
    return DeviceError(f"cannot {action} {path}: {err.strerror}")


class SgIoTransport:
    """One open device node; ``execute`` sends one CDB via SG_IO and returns its outcome."""

    def __init__(self, fd: int, path: str, read_only: bool = False) -> None:
        self._fd = fd
        self._path = path
        self.read_only = read_only
        """True when the node was opened O_RDONLY: the kernel then refuses writing commands."""

    @classmethod
    def open(cls, path: str, exclusive: bool = False) -> SgIoTransport:
        """Open ``path`` (O_NONBLOCK, so an empty or write-once drive opens at all).

        ``exclusive`` adds O_EXCL, which a burn needs: it fails while the disc is mounted or
        another burner holds the drive. A non-exclusive open falls back to read-only when
        write access is refused; the node is then probed with SG_GET_VERSION_NUM so that a
        non-SCSI path (a disk partition, a loop device, a file) is refused before any command.
        """
        flags = os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC | (os.O_EXCL if exclusive else 0)
        read_only = False
        try:
            fd = os.open(path, flags)
        except OSError as err:
            if exclusive or err.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise errno_error(path, err) from err
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as err2:
                raise errno_error(path, err2) from err2
            read_only = True
            log.warning(
                "%s: write access refused (%s); opened read-only, so the kernel will refuse "
                "writing commands (burn, blank, tray lock)", path, err.strerror,
            )
        try:
            version = ctypes.c_int(0)
            _ioctl(fd, SG_GET_VERSION_NUM, ctypes.addressof(version))
        except OSError as err:
            os.close(fd)
            if err.errno == errno.EINVAL:  # the loop driver answers unknown ioctls with EINVAL
                raise NotAnOpticalDrive(_not_scsi_message(path)) from err
            raise errno_error(path, err) from err
        return cls(fd, path, read_only)

    @property
    def name(self) -> str:
        return self._path

    @property
    def fd(self) -> int:
        """The open file, for CDROM_* ioctls (tray and media-change status) on the same node."""
        return self._fd

    def execute(
        self,
        cdb: bytes,
        direction: Direction,
        data: Buffer | bytes | int | None = None,
        timeout: float = 30.0,
    ) -> CommandResult:
        """Send ``cdb``; CHECK CONDITION and transport statuses come back in the result.

        Raises DeviceError (or a subclass) when the ioctl itself fails: the device is gone,
        the kernel's command filter refused it, or the transfer is too large.
        """
        if self._fd < 0:
            raise DeviceError(f"{self._path} was closed; open it again")
        if not 6 <= len(cdb) <= 16:
            raise ValueError(f"a CDB is 6 to 16 bytes long, got {len(cdb)}")
        direction = Direction(direction)
        if direction is Direction.NONE:
            if data not in (None, 0):
                raise ValueError("Direction.NONE takes no data buffer")
            buffer: Buffer | bytes = bytearray()
        elif isinstance(data, int):
            if direction is not Direction.FROM_DEVICE:
                raise ValueError("an int length only makes sense for FROM_DEVICE")
            buffer = bytearray(data)
        elif data is None:
            raise ValueError(f"{direction.name} needs a data buffer")
        else:
            buffer = data
        with pinned(buffer, writable=direction is Direction.FROM_DEVICE) as (address, length):
            return self._send(bytes(cdb), direction, buffer, address, length, timeout)

    def _send(
        self,
        cdb: bytes,
        direction: Direction,
        buffer: Buffer | bytes,
        address: int,
        length: int,
        timeout: float,
    ) -> CommandResult:
        command = (ctypes.c_ubyte * len(cdb)).from_buffer_copy(cdb)
        sense = (ctypes.c_ubyte * SENSE_BUFFER_LEN)()
        hdr = SgIoHdr(
            interface_id=SG_INTERFACE_ID,
            dxfer_direction=int(direction) if length else int(Direction.NONE),
            cmd_len=len(cdb),
            mx_sb_len=SENSE_BUFFER_LEN,
            dxfer_len=length,
            dxferp=address or None,
            cmdp=ctypes.addressof(command),
            sbp=ctypes.addressof(sense),
            timeout=timeout_ms(timeout),
        )
        try:
            _ioctl(self._fd, SG_IO, ctypes.addressof(hdr))
        except OSError as err:
            raise self._command_error(cdb, length, err) from err
        transferred = min(max(length - hdr.resid, 0), length)
        return CommandResult(
            status=hdr.status,
            sense=bytes(sense[: hdr.sb_len_wr]),
            host_status=hdr.host_status,
            driver_status=hdr.driver_status,
            residual=hdr.resid,
            duration=hdr.duration / 1000.0,
            data=memoryview(buffer).cast("B")[:transferred],
        )

    def _command_error(self, cdb: bytes, length: int, err: OSError) -> DeviceError:
        opcode = f"opcode {cdb[0]:02X}h"
        if err.errno == errno.EPERM:
            if self.read_only:
                return DevicePermissionDenied(
                    f"the kernel refused {opcode} on {self._path}: it needs the device opened "
                    f"for writing, which was refused; {_group_hint(self._path)}"
                )
            return DevicePermissionDenied(
                f"the kernel refused {opcode} on {self._path}: only root (CAP_SYS_RAWIO) may "
                "send it; run burnd as root"
            )
        if err.errno in (errno.EIO, errno.EINVAL, errno.ENOMEM):
            limit = self.max_transfer_bytes()
            if limit is not None and length > limit:
                return TransferTooLarge(
                    f"{opcode} on {self._path} moves {length} bytes but only {limit} per command "
                    f"are sure to pass ({err.strerror}): send it in smaller chunks"
                )
        if err.errno == errno.EIO:
            return DeviceError(f"I/O error sending {opcode} to {self._path}: check the drive and its cable")
        return errno_error(self._path, err, f"send {opcode} to")

    def max_transfer_bytes(self) -> int | None:
        """The largest transfer one command is always allowed to move, or None if unknown.

        ``max_hw_sectors_kb`` alone (reference 1.8) overstates it: the kernel maps the
        caller's buffer page by page, so at most ``max_segments`` pages fit, one of them
        spent on a buffer that does not start on a page boundary. Measured on virtio-scsi
        (max_hw_sectors_kb 32766, max_segments 254): sr refused ~15 MB with EINVAL, sg ~8 MB
        with ENOMEM; 253 pages always pass. An sg node uses its sr sibling's queue.
        """
        try:
            st = os.fstat(self._fd)
        except OSError:
            return None
        dev = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
        if stat.S_ISBLK(st.st_mode):
            queues = [Path("/sys/dev/block", dev, "queue")]
        elif stat.S_ISCHR(st.st_mode):
            queues = sorted(Path("/sys/dev/char", dev, "device/block").glob("*/queue"))
        else:
            return None
        for queue in queues:
            try:
                hw_bytes = int((queue / "max_hw_sectors_kb").read_text()) * 1024
                segments = int((queue / "max_segments").read_text())
            except (OSError, ValueError):
                continue
            return min(hw_bytes, (segments - 1) * os.sysconf("SC_PAGE_SIZE"))
        return None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> SgIoTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "ro" if self.read_only else "rw"
        return f"SgIoTransport({self._path!r}, fd={self._fd}, {mode})"
