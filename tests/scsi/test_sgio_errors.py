"""errno → burnd error mapping of SgIoTransport, on real kernel objects of this machine.

The host kernel has no sr/sg driver, so every path here is a refusal; the success path and the
SCSI-only errors (EIO on oversize transfers, the command filter) are covered in tests/vm/.
"""

from __future__ import annotations

import grp
import logging
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from burnd.errors import DeviceBusy, DeviceError, NotAnOpticalDrive
from burnd.scsi.sgio import DeviceGone, DevicePermissionDenied, SgIoTransport, holders
from burnd.scsi.transport import Direction
from tests.fixtures.unprivileged import as_nobody

UNUSED_CHAR_MAJOR = 240  # "local/experimental use" range of devices.txt: no driver claims it


def _need_root(what: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"{what} needs root")


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A directory nobody may traverse (pytest's tmp_path is 0700)."""
    with tempfile.TemporaryDirectory(prefix="burnd-sgio-") as name:
        os.chmod(name, 0o755)
        yield Path(name)


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[str]:
    """A real block device without SCSI passthrough: a loop device over a small file."""
    _need_root("attaching a loop device")
    if shutil.which("losetup") is None or not os.path.exists("/dev/loop-control"):
        pytest.skip("no losetup or /dev/loop-control on this machine")
    backing = tmp_path / "loop.img"
    backing.write_bytes(bytes(1 << 20))
    device = subprocess.run(
        ["losetup", "--find", "--show", str(backing)], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        yield device
    finally:
        subprocess.run(["losetup", "--detach", device], check=False)


def test_missing_path_says_check_the_connection() -> None:
    with pytest.raises(DeviceError, match="no such device /dev/nonexistent-sr9.*connected"):
        SgIoTransport.open("/dev/nonexistent-sr9")


@pytest.mark.parametrize("exclusive", [False, True])
def test_regular_file_is_not_a_scsi_device(tmp_path: Path, exclusive: bool) -> None:
    image = tmp_path / "disc.iso"
    image.write_bytes(bytes(4096))
    with pytest.raises(NotAnOpticalDrive, match="not a SCSI device"):
        SgIoTransport.open(str(image), exclusive=exclusive)


def test_directory_is_not_a_scsi_device(tmp_path: Path) -> None:
    with pytest.raises(NotAnOpticalDrive, match="not a SCSI device"):
        SgIoTransport.open(str(tmp_path))


def test_dev_null_is_not_a_scsi_device() -> None:
    with pytest.raises(NotAnOpticalDrive, match="/dev/null is not a SCSI device"):
        SgIoTransport.open("/dev/null")


def test_loop_device_is_refused_before_any_command(loop_device: str) -> None:
    with pytest.raises(NotAnOpticalDrive, match=f"{loop_device} is not a SCSI device"):
        SgIoTransport.open(loop_device)


def test_max_transfer_of_a_block_device_comes_from_its_queue(loop_device: str) -> None:
    transport = SgIoTransport(os.open(loop_device, os.O_RDONLY | os.O_NONBLOCK), loop_device)
    with transport:
        queue = Path("/sys/block", Path(loop_device).name, "queue")
        hw_bytes = int((queue / "max_hw_sectors_kb").read_text()) * 1024
        mappable = (int((queue / "max_segments").read_text()) - 1) * os.sysconf("SC_PAGE_SIZE")
        assert transport.max_transfer_bytes() == min(hw_bytes, mappable)


def test_max_transfer_of_a_plain_file_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    with SgIoTransport(os.open(tmp_path / "f", os.O_RDONLY), str(tmp_path / "f")) as transport:
        assert transport.max_transfer_bytes() is None


def test_exclusive_holder_is_named_by_pid(loop_device: str) -> None:
    holder = os.open(loop_device, os.O_RDONLY | os.O_EXCL)
    try:
        with pytest.raises(DeviceBusy, match=rf"in use by PID {os.getpid()} \("):
            SgIoTransport.open(loop_device, exclusive=True)
    finally:
        os.close(holder)


def test_mounted_device_names_the_mount_point(loop_device: str, tmp_path: Path) -> None:
    if shutil.which("mkfs.ext2") is None:
        pytest.skip("mkfs.ext2 (e2fsprogs) is not installed")
    subprocess.run(["mkfs.ext2", "-q", loop_device], check=True, capture_output=True)
    where = tmp_path / "mnt point"
    where.mkdir()
    mounted = subprocess.run(["mount", "-o", "ro", loop_device, str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"this machine cannot mount ext2: {mounted.stderr.decode().strip()}")
    try:
        with pytest.raises(DeviceBusy, match=f"mounted at {where}"):
            SgIoTransport.open(loop_device, exclusive=True)
    finally:
        subprocess.run(["umount", str(where)], check=False)


def test_holders_lists_this_process_for_an_open_node() -> None:
    fd = os.open("/dev/null", os.O_RDONLY)
    try:
        assert (os.getpid(), Path("/proc/self/comm").read_text().strip()) in holders(
            os.stat("/dev/null")
        )
    finally:
        os.close(fd)


def test_node_without_driver_is_reported_gone(tmp_path: Path) -> None:
    _need_root("mknod")
    node = tmp_path / "sg-gone"
    os.mknod(node, 0o600 | stat.S_IFCHR, os.makedev(UNUSED_CHAR_MAJOR, 0))
    with pytest.raises(DeviceGone, match="gone"):
        SgIoTransport.open(str(node))


def test_permission_denied_names_the_group_to_join(public_dir: Path) -> None:
    _need_root("switching to user nobody")
    node = public_dir / "sr-private"
    node.write_bytes(b"")
    os.chown(node, 0, 0)
    os.chmod(node, 0o600)
    with as_nobody(), pytest.raises(DevicePermissionDenied, match="root:root.*run burnd as root"):
        SgIoTransport.open(str(node))


def test_permission_hint_names_a_real_group(public_dir: Path) -> None:
    _need_root("switching to user nobody")
    node = public_dir / "sr-cdrom"
    node.write_bytes(b"")
    os.chown(node, 0, 0)
    os.chmod(node, 0o660)
    gid = next((g.gr_gid for g in grp.getgrall() if g.gr_name not in ("root", "nogroup")), None)
    if gid is None:
        pytest.skip("this machine has no group besides root and nogroup")
    os.chown(node, 0, gid)
    with as_nobody(), pytest.raises(
        DevicePermissionDenied, match=f"add the user to group '{grp.getgrgid(gid).gr_name}'"
    ):
        SgIoTransport.open(str(node))


def test_refused_write_falls_back_to_read_only_and_says_so(
    public_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """0644 for nobody: O_RDWR is refused, O_RDONLY works, then the SG_IO probe refuses it."""
    _need_root("switching to user nobody")
    node = public_dir / "sr-readonly"
    node.write_bytes(b"")
    os.chmod(node, 0o644)
    caplog.set_level(logging.WARNING, logger="burnd.scsi.sgio")
    with as_nobody(), pytest.raises(NotAnOpticalDrive):
        SgIoTransport.open(str(node))
    assert "opened read-only" in caplog.text


def test_exclusive_open_never_falls_back_to_read_only(public_dir: Path) -> None:
    _need_root("switching to user nobody")
    node = public_dir / "sr-readonly"
    node.write_bytes(b"")
    os.chmod(node, 0o644)
    with as_nobody(), pytest.raises(DevicePermissionDenied, match="permission denied"):
        SgIoTransport.open(str(node), exclusive=True)


class TestExecuteArguments:
    """Argument checks happen before the ioctl, so a plain file fd is enough to reach them."""

    @pytest.fixture
    def transport(self, tmp_path: Path) -> Iterator[SgIoTransport]:
        path = tmp_path / "f"
        path.write_bytes(b"")
        with SgIoTransport(os.open(path, os.O_RDONLY), str(path)) as transport:
            yield transport

    def test_cdb_length_is_checked(self, transport: SgIoTransport) -> None:
        with pytest.raises(ValueError, match="6 to 16 bytes"):
            transport.execute(bytes(5), Direction.NONE)
        with pytest.raises(ValueError, match="6 to 16 bytes"):
            transport.execute(bytes(17), Direction.NONE)

    def test_none_direction_takes_no_buffer(self, transport: SgIoTransport) -> None:
        with pytest.raises(ValueError, match="no data buffer"):
            transport.execute(bytes(6), Direction.NONE, bytearray(8))

    def test_int_length_only_for_reads(self, transport: SgIoTransport) -> None:
        with pytest.raises(ValueError, match="FROM_DEVICE"):
            transport.execute(bytes(10), Direction.TO_DEVICE, 2048)

    def test_data_direction_needs_a_buffer(self, transport: SgIoTransport) -> None:
        with pytest.raises(ValueError, match="needs a data buffer"):
            transport.execute(bytes(10), Direction.FROM_DEVICE, None)

    def test_read_into_read_only_buffer_is_refused(self, transport: SgIoTransport) -> None:
        with pytest.raises(BufferError):
            transport.execute(bytes(10), Direction.FROM_DEVICE, bytes(2048))

    def test_sg_io_on_a_plain_file_is_not_a_scsi_device(self, transport: SgIoTransport) -> None:
        with pytest.raises(NotAnOpticalDrive, match="not a SCSI device"):
            transport.execute(bytes(10), Direction.FROM_DEVICE, 2048)

    def test_closed_transport_says_open_it_again(self, transport: SgIoTransport) -> None:
        transport.close()
        transport.close()
        with pytest.raises(DeviceError, match="closed; open it again"):
            transport.execute(bytes(6), Direction.NONE)
