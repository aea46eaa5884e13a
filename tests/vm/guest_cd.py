"""Guest side of the QEMU scsi-cd scenario: runs inside the VM, writes JSON for tests/vm.

Devices (tests/vm/conftest.py sets them up): a QEMU scsi-cd holding a generated ISO and a
plain scsi-hd disk on the same virtio-scsi bus. Usage: guest_cd.py RESULTS.json ISO_PATH
"""

from __future__ import annotations

import grp
import hashlib
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

from burnd.drive import OpticalDrive
from burnd.errors import NotAnOpticalDrive
from burnd.scsi.sgio import SgIoTransport
from burnd.scsi.transport import CommandResult, Direction
from tests.fixtures.unprivileged import as_nobody
from tests.vm.guest_common import Checks, RecordingTransport, node_mode, tool_output, wait_for_nodes

INQUIRY_96 = bytes([0x12, 0, 0, 0, 96, 0])
READ_TRACK_INFO = bytes([0x52, 0x01, 0, 0, 0, 1, 0, 0, 48, 0])
PREVENT = bytes([0x1E, 0, 0, 0, 1, 0])
ALLOW = bytes([0x1E, 0, 0, 0, 0, 0])
READ_CHUNK_BLOCKS = 32
OVERSIZE_BLOCKS = 0xFFFF
"""128 MiB in one READ(10): more than any sr/sg queue maps (max_hw_sectors_kb is < 32 MiB)."""


def read10(lba: int, blocks: int) -> bytes:
    return struct.pack(">BBIBHB", 0x28, 0, lba, 0, blocks, 0)


def write10(lba: int, blocks: int) -> bytes:
    return struct.pack(">BBIBHB", 0x2A, 0, lba, 0, blocks, 0)


def result_dict(result: CommandResult, buffer: bytearray | None = None) -> dict[str, Any]:
    """A CommandResult as JSON; ``buffer`` is the caller's, to show the data was not copied."""
    return {
        "status": result.status,
        "sense": result.sense,
        "host_status": result.host_status,
        "driver_status": result.driver_status,
        "residual": result.residual,
        "duration": result.duration,
        "ok": result.ok,
        "check_condition": result.check_condition,
        "data_len": len(result.data),
        "data_head": result.data[:96],
        "data_is_callers_buffer": buffer is not None and result.data.obj is buffer,
    }


def transport_checks(checks: Checks, sr: str, sg: str) -> None:
    """SgIoTransport against the kernel's sr (block) and sg (char) paths."""
    transport = SgIoTransport.open(sr)
    checks.run("sgio.open", lambda: {"repr": repr(transport), "read_only": transport.read_only,
                                     "max_transfer": transport.max_transfer_bytes()})

    def inquiry() -> dict:
        buffer = bytearray(96)
        return result_dict(transport.execute(INQUIRY_96, Direction.FROM_DEVICE, buffer), buffer)

    checks.run("sgio.inquiry", inquiry)
    checks.run("sgio.inquiry_int_length", lambda: result_dict(transport.execute(INQUIRY_96, Direction.FROM_DEVICE, 96)))
    checks.run("sgio.unsupported_command",
               lambda: result_dict(transport.execute(READ_TRACK_INFO, Direction.FROM_DEVICE, 48)))
    checks.run("sgio.write_from_bytes",
               lambda: result_dict(transport.execute(write10(0, 1), Direction.TO_DEVICE, bytes(2048))))

    def read_into_slice() -> dict:
        buffer = bytearray(3 * 2048)
        result = transport.execute(read10(16, 1), Direction.FROM_DEVICE, memoryview(buffer)[2048:4096])
        return {"ok": result.ok, "len": len(result.data), "pvd_magic": bytes(buffer[2049:2054]),
                "untouched": buffer[:2048] == bytes(2048) and buffer[4096:] == bytes(2048)}

    checks.run("sgio.read_into_view", read_into_slice)
    transport.close()

    def sg_open() -> dict:
        with SgIoTransport.open(sg) as via_sg:
            return {"max_transfer": via_sg.max_transfer_bytes()}

    checks.run("sgio.sg_open", sg_open)
    for label, node in (("sr", sr), ("sg", sg)):
        def largest_safe_read(node: str = node) -> dict:
            with SgIoTransport.open(node) as t:
                blocks = t.max_transfer_bytes() // 2048
                return {"blocks": blocks, "ok": t.execute(read10(0, blocks), Direction.FROM_DEVICE, blocks * 2048).ok}

        def oversize(node: str = node) -> None:
            with SgIoTransport.open(node) as t:
                t.execute(read10(0, OVERSIZE_BLOCKS), Direction.FROM_DEVICE, OVERSIZE_BLOCKS * 2048)

        checks.run(f"sgio.largest_safe_read:{label}", largest_safe_read)
        checks.run(f"sgio.oversize:{label}", oversize)

    def sg_node() -> dict:
        with SgIoTransport.open(sg) as via_sg:
            buffer = bytearray(96)
            return result_dict(via_sg.execute(INQUIRY_96, Direction.FROM_DEVICE, buffer), buffer)

    checks.run("sgio.sg_inquiry", sg_node)


def drive_checks(checks: Checks, sr: str, iso: Path) -> None:
    """burnd's OpticalDrive over SG_IO, against QEMU's MMC model."""
    drive = OpticalDrive(SgIoTransport.open(sr))
    checks.run("drive.identify", drive.identify)
    checks.run("drive.profiles", drive.profiles)
    checks.run("drive.current_profile", drive.current_profile)
    checks.run("drive.media_report", lambda: drive.media_report().to_dict())
    checks.run("drive.describe", lambda: drive.media_report().describe())

    def read_whole_disc() -> dict:
        blocks = iso.stat().st_size // 2048
        digest = hashlib.sha256()
        buffer = bytearray(READ_CHUNK_BLOCKS * 2048)
        for lba in range(0, blocks, READ_CHUNK_BLOCKS):
            count = min(READ_CHUNK_BLOCKS, blocks - lba)
            digest.update(drive.read_blocks(lba, count, buffer))
        return {"blocks": blocks, "sha256": digest.hexdigest()}

    checks.run("drive.read_whole_disc", read_whole_disc)
    checks.run("drive.read_past_end", lambda: drive.read_blocks(iso.stat().st_size // 2048, 1))
    checks.run("drive.lock", drive.lock)
    checks.run("drive.eject_while_locked", drive.eject)
    checks.run("drive.unlock", drive.unlock)
    checks.run("drive.eject", drive.eject)
    checks.run("drive.media_report_ejected", lambda: drive.media_report().to_dict())
    checks.run("drive.load", drive.load)
    checks.run("drive.wait_ready", lambda: drive.wait_ready(30.0))
    checks.run("drive.media_report_reloaded", lambda: drive.media_report().to_dict())
    drive.transport.close()
    checks.run("tool.sg_inq", lambda: tool_output("sg_inq", sr))
    checks.run("tool.sg_get_config", lambda: tool_output("sg_get_config", "--current", sr))


def refusal_checks(checks: Checks, disk: dict, iso: Path) -> None:
    """Everything that is not an optical drive is refused, the SCSI disk after INQUIRY only."""
    for node in (disk["sg"], disk["block"]):
        def refuse(node: str = node) -> dict:
            recorder = RecordingTransport(SgIoTransport.open(node))
            drive = OpticalDrive(recorder)
            outcomes = []
            for attempt in (drive.identify, drive.media_report, drive.eject):
                try:
                    attempt()
                    outcomes.append("accepted")
                except NotAnOpticalDrive as exc:
                    outcomes.append(str(exc))
            recorder.close()
            return {"outcomes": outcomes, "opcodes": recorder.opcodes}

        checks.run(f"refuse.disk:{node}", refuse)

    def loop_device() -> None:
        device = subprocess.run(["losetup", "--find", "--show", "--read-only", str(iso)],
                                check=True, capture_output=True, text=True).stdout.strip()
        try:
            SgIoTransport.open(device).close()
        finally:
            subprocess.run(["losetup", "--detach", device], check=False)

    checks.run("refuse.loop", loop_device)
    checks.run("refuse.9p_file", lambda: SgIoTransport.open(str(iso)).close())
    checks.run("refuse.9p_directory", lambda: SgIoTransport.open(str(iso.parent)).close())
    checks.run("refuse.missing", lambda: SgIoTransport.open("/dev/sr7").close())


def busy_checks(checks: Checks, sr: str, sg: str) -> None:
    """O_EXCL semantics of sr and sg, and who is reported as holding the drive."""

    def second_exclusive(path: str) -> None:
        with SgIoTransport.open(path, exclusive=True):
            SgIoTransport.open(path, exclusive=True).close()

    checks.run("busy.sr_exclusive_twice", lambda: second_exclusive(sr))
    checks.run("busy.sg_exclusive_twice", lambda: second_exclusive(sg))

    def sr_shared_while_exclusive() -> bool:
        with SgIoTransport.open(sr, exclusive=True), SgIoTransport.open(sr) as shared:
            return shared.execute(INQUIRY_96, Direction.FROM_DEVICE, 96).ok

    checks.run("busy.sr_shared_while_exclusive", sr_shared_while_exclusive)

    def sg_shared_while_exclusive() -> None:
        with SgIoTransport.open(sg, exclusive=True):
            SgIoTransport.open(sg).close()

    checks.run("busy.sg_shared_while_exclusive", sg_shared_while_exclusive)

    mount_point = Path("/run/burnd-mnt")
    mount_point.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "iso9660", "-o", "ro", sr, str(mount_point)], check=True, capture_output=True)
    try:
        checks.run("busy.mounted_exclusive", lambda: SgIoTransport.open(sr, exclusive=True).close())

        def shared_inquiry() -> bool:
            with SgIoTransport.open(sr) as shared:
                return shared.execute(INQUIRY_96, Direction.FROM_DEVICE, 96).ok

        checks.run("busy.mounted_shared_inquiry", shared_inquiry)
        checks.run("busy.mounted_files", lambda: sorted(os.listdir(mount_point)))
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def permission_checks(checks: Checks, sr: str) -> None:
    """The kernel's rules for a user who is not root (reference 1.5)."""

    def read_only_user() -> dict:
        with node_mode(sr, 0o644), as_nobody():
            with SgIoTransport.open(sr) as transport:
                outcome = {"read_only": transport.read_only,
                           "inquiry_ok": transport.execute(INQUIRY_96, Direction.FROM_DEVICE, 96).ok}
                try:
                    transport.execute(PREVENT, Direction.NONE)
                    outcome["prevent"] = "accepted"
                except Exception as exc:
                    outcome["prevent"] = f"{type(exc).__name__}: {exc}"
                return outcome

    checks.run("perm.read_only_user", read_only_user)

    def group_member() -> None:
        with node_mode(sr, 0o660, gid=grp.getgrnam("cdrom").gr_gid), as_nobody():
            SgIoTransport.open(sr).close()

    checks.run("perm.group_owned_node", group_member)

    def rdwr_user_prevent() -> bool:
        with node_mode(sr, 0o666), as_nobody():
            with SgIoTransport.open(sr) as transport:
                prevented = transport.execute(PREVENT, Direction.NONE).ok
                transport.execute(ALLOW, Direction.NONE)
                return prevented

    checks.run("perm.writable_user_may_lock", rdwr_user_prevent)

    def exclusive_read_only_user() -> None:
        with node_mode(sr, 0o644), as_nobody():
            SgIoTransport.open(sr, exclusive=True).close()

    checks.run("perm.exclusive_needs_write", exclusive_read_only_user)


def main() -> int:
    out, iso = Path(sys.argv[1]), Path(sys.argv[2])
    checks = Checks(out)
    nodes = wait_for_nodes(2)
    checks.run("nodes", lambda: nodes)
    cd = next(n for n in nodes if n["type"] == 5)
    disk = next(n for n in nodes if n["type"] == 0)
    try:
        transport_checks(checks, cd["block"], cd["sg"])
        drive_checks(checks, cd["block"], iso)
        refusal_checks(checks, disk, iso)
        busy_checks(checks, cd["block"], cd["sg"])
        permission_checks(checks, cd["block"])
    finally:
        checks.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
