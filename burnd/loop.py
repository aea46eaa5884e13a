"""Loop devices from Python: LOOP_CONFIGURE, LOOP_CLR_FD, status, sysfs, holders, uevents.

burnd attaches images without a losetup subprocess: one LOOP_CTL_GET_FREE plus one atomic
LOOP_CONFIGURE (read-only, 2048-byte blocks, offset and size limit, partition scan only when
asked). It never sets LO_FLAGS_AUTOCLEAR: with AUTOCLEAR the device vanishes at the last close,
which for a device nobody has opened yet is the moment burnd closes its own fd.

Every device burnd creates carries ``burnd:<id>`` in ``lo_file_name`` (LOOP_GET_STATUS64 reads
it back; sysfs ``backing_file`` still shows the real path). That tag is how burnd tells its own
devices from anyone else's after a restart, without trusting only its own records.

Struct building and parsing are pure; the functions at the bottom do the I/O and block briefly
(call them from a worker thread in asyncio code).
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from burnd.errors import DeviceBusy, DeviceError

LOOP_CLR_FD = 0x4C01
LOOP_SET_STATUS64 = 0x4C04
LOOP_GET_STATUS64 = 0x4C05
LOOP_CONFIGURE = 0x4C0A
LOOP_CTL_GET_FREE = 0x4C82

LO_FLAGS_READ_ONLY = 1
LO_FLAGS_AUTOCLEAR = 4
LO_FLAGS_PARTSCAN = 8
LO_FLAGS_DIRECT_IO = 16

LO_NAME_SIZE = 64
TAG_PREFIX = "burnd:"

# lo_device, lo_inode, lo_rdevice, lo_offset, lo_sizelimit (u64); lo_number, lo_encrypt_type,
# lo_encrypt_key_size, lo_flags (u32); lo_file_name, lo_crypt_name, lo_encrypt_key; lo_init[2]
INFO64 = struct.Struct("<5Q4I64s64s32s2Q")
# fd, block_size (u32); info; __reserved[8] (u64)
CONFIG = struct.Struct(f"<II{INFO64.size}s8Q")
assert INFO64.size == 232 and CONFIG.size == 304

SYS_BLOCK = Path("/sys/block")
CONTROL = "/dev/loop-control"


@dataclass(frozen=True, slots=True)
class LoopInfo:
    """The fields of ``struct loop_info64`` burnd reads or sets."""

    offset: int = 0
    sizelimit: int = 0
    flags: int = 0
    file_name: str = ""
    number: int = 0
    backing_device: int = 0
    backing_inode: int = 0

    @property
    def tag(self) -> str | None:
        """The attachment id burnd wrote into ``lo_file_name``, or None for a foreign device."""
        return self.file_name[len(TAG_PREFIX):] if self.file_name.startswith(TAG_PREFIX) else None


def build_info64(info: LoopInfo) -> bytes:
    name = info.file_name.encode()
    if len(name) >= LO_NAME_SIZE:
        raise ValueError(f"loop file name {info.file_name!r} is longer than {LO_NAME_SIZE - 1} bytes")
    return INFO64.pack(0, 0, 0, info.offset, info.sizelimit, 0, 0, 0, info.flags, name, b"", b"", 0, 0)


def parse_info64(data: bytes) -> LoopInfo:
    dev, inode, _rdev, offset, sizelimit, number, _enc, _keysize, flags, name, *_ = INFO64.unpack(data)
    return LoopInfo(offset, sizelimit, flags, name.split(b"\0", 1)[0].decode(errors="replace"), number, dev, inode)


def build_config(fd: int, block_size: int, info: LoopInfo) -> bytes:
    if info.flags & LO_FLAGS_AUTOCLEAR:
        raise ValueError("burnd never sets LO_FLAGS_AUTOCLEAR: the device would vanish at the last close")
    if block_size and (block_size < 512 or block_size > 4096 or block_size & (block_size - 1)):
        raise ValueError(f"loop block size {block_size} is not a power of two in 512..4096")
    return CONFIG.pack(fd, block_size, build_info64(info), *([0] * 8))


def tag_name(attachment_id: str) -> str:
    return TAG_PREFIX + attachment_id


# --- sysfs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SysfsLoop:
    """What sysfs says about a bound loop device (``/sys/block/loopN/loop/`` exists only then)."""

    name: str
    backing_file: str
    offset: int
    sizelimit: int
    read_only: bool
    partscan: bool
    autoclear: bool
    logical_block_size: int


def _read(path: Path) -> str:
    return path.read_text().strip()


def sysfs_state(name: str) -> SysfsLoop | None:
    """Read a loop device's binding from sysfs; None when it is unbound (or does not exist)."""
    base = SYS_BLOCK / name
    try:
        return SysfsLoop(
            name,
            _read(base / "loop/backing_file"),
            int(_read(base / "loop/offset")),
            int(_read(base / "loop/sizelimit")),
            _read(base / "ro") == "1",
            _read(base / "loop/partscan") == "1",
            _read(base / "loop/autoclear") == "1",
            int(_read(base / "queue/logical_block_size")),
        )
    except (FileNotFoundError, NotADirectoryError):
        return None


def is_bound(name: str) -> bool:
    """Whether ``name`` has a backing file: one stat, where ``sysfs_state`` reads eight files."""
    return (SYS_BLOCK / name / "loop").is_dir()


def bound_loops() -> list[SysfsLoop]:
    """Every loop device that currently has a backing file."""
    found = [sysfs_state(p.name) for p in SYS_BLOCK.glob("loop[0-9]*")]
    return sorted((f for f in found if f is not None), key=lambda s: int(s.name[4:]))


def send_change_uevent(name: str) -> None:
    """Ask the kernel to broadcast a ``change`` uevent (what ``udevadm trigger`` does), so udev,
    udisks and desktops re-probe the device and can automount it. Written with one raw write:
    a text file object costs four more system calls on every attach."""
    fd = os.open(SYS_BLOCK / name / "uevent", os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, b"change")
    finally:
        os.close(fd)


# --- who holds a device -----------------------------------------------------------------------


def _dev_numbers(name: str) -> set[tuple[int, int]]:
    """The device numbers of loopN and its partitions."""
    numbers = set()
    for dev in [SYS_BLOCK / name / "dev", *(SYS_BLOCK / name).glob(f"{name}p*/dev")]:
        try:
            major, minor = _read(dev).split(":")
        except FileNotFoundError:
            continue
        numbers.add((int(major), int(minor)))
    return numbers


def _proc_name(pid: str) -> str:
    try:
        return _read(Path("/proc") / pid / "comm")
    except OSError:
        return "?"


def holders(name: str) -> list[str]:
    """People-readable descriptions of whatever keeps ``name`` (or its partitions) busy:
    mounts, stacked block devices, and processes with an open fd. Best effort: a process that
    exits while being looked at is skipped."""
    numbers = _dev_numbers(name)
    found: list[str] = []
    with open("/proc/self/mountinfo") as mounts:
        for line in mounts:
            fields = line.split()
            major, minor = fields[2].split(":")
            if (int(major), int(minor)) in numbers:
                found.append(f"mounted at {fields[4]}")
    base = SYS_BLOCK / name
    for holder_dir in [base / "holders", *base.glob(f"{name}p*/holders")]:
        found.extend(f"used by block device {h.name}" for h in sorted(holder_dir.glob("*")))
    own = str(os.getpid())
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        pid = fd_dir.parent.name
        if pid == own:
            continue
        try:
            entries = list(fd_dir.iterdir())
        except OSError:
            continue
        for entry in entries:
            try:
                st = os.stat(entry)
            except OSError:
                continue
            if (os.major(st.st_rdev), os.minor(st.st_rdev)) in numbers and (st.st_mode & 0o170000) == 0o060000:
                found.append(f"opened by process {pid} ({_proc_name(pid)})")
                break
    return found


# --- ioctls -----------------------------------------------------------------------------------


def _open_node(path: str, flags: int) -> int:
    """Open a loop node, retrying briefly while udev/devtmpfs is still creating it."""
    for attempt in range(16):
        try:
            return os.open(path, flags | os.O_CLOEXEC)
        except FileNotFoundError:
            if attempt == 15:
                raise
            time.sleep(0.025)
    raise AssertionError("unreachable")


def get_status(name: str) -> LoopInfo | None:
    """LOOP_GET_STATUS64 on /dev/<name>; None if the device is unbound."""
    try:
        fd = os.open(f"/dev/{name}", os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        buf = bytearray(INFO64.size)
        fcntl.ioctl(fd, LOOP_GET_STATUS64, buf)
        return parse_info64(bytes(buf))
    except OSError as e:
        if e.errno == errno.ENXIO:
            return None
        raise
    finally:
        os.close(fd)


def configure(backing_fd: int, *, offset: int = 0, sizelimit: int = 0, read_only: bool = True,
              partscan: bool = False, block_size: int = 2048, tag: str = "", direct_io: bool = False) -> str:
    """Bind a free loop device to ``backing_fd`` in one LOOP_CONFIGURE; return its name (loopN).

    ``direct_io`` makes the device read its backing file with O_DIRECT, so the data lands in
    the device's own page cache only, not in a second cache of the backing file as well; the
    kernel quietly keeps buffered reads where the file cannot do direct I/O.
    A device another process grabs between GET_FREE and CONFIGURE answers EBUSY; then we ask
    for the next free one, as util-linux does."""
    flags = ((LO_FLAGS_READ_ONLY if read_only else 0) | (LO_FLAGS_PARTSCAN if partscan else 0)
             | (LO_FLAGS_DIRECT_IO if direct_io else 0))
    config = build_config(backing_fd, block_size, LoopInfo(offset, sizelimit, flags, tag))
    try:
        ctl = os.open(CONTROL, os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        raise DeviceError(f"cannot open {CONTROL}: {e.strerror}; attaching images needs root (or group disk) and the loop module") from e
    try:
        for _ in range(16):
            number = fcntl.ioctl(ctl, LOOP_CTL_GET_FREE)
            dev = _open_node(f"/dev/loop{number}", os.O_RDWR)
            try:
                fcntl.ioctl(dev, LOOP_CONFIGURE, config)
                return f"loop{number}"
            except OSError as e:
                if e.errno != errno.EBUSY:
                    raise DeviceError(f"LOOP_CONFIGURE on /dev/loop{number} failed: {e.strerror}; "
                                      "the kernel needs Linux 5.8 or newer and a readable image file") from e
            finally:
                os.close(dev)
        raise DeviceBusy("every free loop device was taken by someone else while burnd tried to use it; try again")
    finally:
        os.close(ctl)


def clear(name: str) -> None:
    """Detach ``name`` now, or raise DeviceBusy saying who holds it.

    LOOP_CLR_FD on a device someone else has open does not fail: the kernel sets AUTOCLEAR and
    detaches at the last close, which would drop the device later behind everyone's back. So:
    an exclusive open first (fails while mounted or stacked on), then LOOP_CLR_FD; if the
    device is still bound after our fd is closed, a plain opener holds it: we take the
    deferred AUTOCLEAR back and report who it is. The /proc scan for names runs only then."""
    try:
        dev = os.open(f"/dev/{name}", os.O_RDONLY | os.O_EXCL | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.EBUSY:
            raise DeviceBusy(f"/dev/{name} is in use ({'; '.join(holders(name)) or 'held exclusively'}); "
                             "unmount it or close it, then detach again") from e
        raise DeviceError(f"cannot open /dev/{name}: {e.strerror}") from e
    try:
        fcntl.ioctl(dev, LOOP_CLR_FD, 0)
    except OSError as e:
        if e.errno == errno.ENXIO:
            return
        raise DeviceError(f"LOOP_CLR_FD on /dev/{name} failed: {e.strerror}") from e
    finally:
        os.close(dev)  # recent kernels tear down at this, the last close
    if is_bound(name):
        _take_back_autoclear(name)
        raise DeviceBusy(f"/dev/{name} is held open by another process ({'; '.join(holders(name)) or 'not visible in /proc'}); "
                         "close it, then detach again")


def _take_back_autoclear(name: str) -> None:
    """Undo the deferred detach LOOP_CLR_FD left on a device someone still has open."""
    try:
        dev = os.open(f"/dev/{name}", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        buf = bytearray(INFO64.size)
        fcntl.ioctl(dev, LOOP_GET_STATUS64, buf)
        info = parse_info64(bytes(buf))
        fcntl.ioctl(dev, LOOP_SET_STATUS64, build_info64(
            LoopInfo(info.offset, info.sizelimit, info.flags & ~LO_FLAGS_AUTOCLEAR, info.file_name)))
    except OSError:
        pass
    finally:
        os.close(dev)
