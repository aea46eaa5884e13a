"""Guest side of the tgt scenario: tgt's blank DVD+R, passed through QEMU (scsi-generic).

Reads the blank disc's report first (the differential test compares it with burnd's
emulator), then writes a few blocks through SG_IO, closes track and session, and reads them
back; the host checks they landed in tgt's backing file. Usage: guest_tgt.py RESULTS.json
"""

from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path

from burnd.drive import OpticalDrive
from burnd.scsi.sgio import SgIoTransport
from burnd.scsi.transport import Direction
from tests.vm.guest_common import Checks, tool_output, wait_for_nodes

WRITE_BLOCKS = 16
SYNCHRONIZE_CACHE = bytes([0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0])
CLOSE_TRACK_1 = bytes([0x5B, 0, 0x01, 0, 0, 1, 0, 0, 0, 0])
CLOSE_SESSION = bytes([0x5B, 0, 0x02, 0, 0, 0, 0, 0, 0, 0])
READ_DISC_INFO = "51 00 00 00 00 00 00 00 22 00".split()
READ_TRACK_INFO_1 = "52 01 00 00 00 01 00 00 30 00".split()


def write_payload(blocks: int = WRITE_BLOCKS) -> bytes:
    """Deterministic, non-repeating content, so a misplaced or torn block shows."""
    return b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(blocks * 64))


def rw10(opcode: int, lba: int, blocks: int) -> bytes:
    return struct.pack(">BBIBHB", opcode, 0, lba, 0, blocks, 0)


def main() -> int:
    checks = Checks(Path(sys.argv[1]))
    nodes = wait_for_nodes(1)
    checks.run("nodes", lambda: nodes)
    sr = next(n["block"] for n in nodes if n["type"] == 5)
    try:
        checks.run("tool.sg_inq", lambda: tool_output("sg_inq", sr))
        checks.run("tool.sg_get_config", lambda: tool_output("sg_get_config", "--current", sr))
        checks.run("tool.read_disc_information", lambda: tool_output("sg_raw", "-r", "34", sr, *READ_DISC_INFO))
        checks.run("tool.read_track_information", lambda: tool_output("sg_raw", "-r", "48", sr, *READ_TRACK_INFO_1))
        drive = OpticalDrive(SgIoTransport.open(sr, exclusive=True))
        checks.run("drive.identify", drive.identify)
        checks.run("drive.profiles", drive.profiles)
        checks.run("drive.current_profile", drive.current_profile)
        checks.run("drive.media_report", lambda: drive.media_report().to_dict())
        checks.run("drive.describe", lambda: drive.media_report().describe())
        transport = drive.transport

        def write_close_read_back() -> dict:
            payload = write_payload()
            steps = {
                "write": transport.execute(rw10(0x2A, 0, WRITE_BLOCKS), Direction.TO_DEVICE,
                                           memoryview(payload), timeout=60.0),
                "sync": transport.execute(SYNCHRONIZE_CACHE, Direction.NONE, timeout=60.0),
                "close_track": transport.execute(CLOSE_TRACK_1, Direction.NONE, timeout=60.0),
                "close_session": transport.execute(CLOSE_SESSION, Direction.NONE, timeout=60.0),
            }
            back = bytearray(len(payload))
            steps["read"] = transport.execute(rw10(0x28, 0, WRITE_BLOCKS), Direction.FROM_DEVICE, back)
            outcome = {name: {"ok": r.ok, "sense": r.sense} for name, r in steps.items()}
            outcome["read_back_equal"] = bytes(back) == payload
            return outcome

        checks.run("sgio.write_close_read_back", write_close_read_back)
        checks.run("drive.media_report_closed", lambda: drive.media_report().to_dict())
        transport.close()
    finally:
        checks.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
