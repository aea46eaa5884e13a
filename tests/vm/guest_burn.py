"""Guest side of the burn scenario: burnd's engine burns an ISO onto tgt's blank DVD+R.

In order, on one blank disc: an image one block larger than the disc is refused (the drive
sees no command that changes it, the backing file stays empty); the real ISO is burned and
verified through /dev/sr0; while burnd still holds the drive, sg_raw on the sg node tests the
tray lock (an eject must be accepted) and, as a control, that a PREVENT does make tgt refuse
the eject; then xorriso, an independent reader, lists the disc's TOC and tree.
Usage: guest_burn.py RESULTS.json BACKING_FILE ISO
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

from burnd.burn import BurnOptions, burn, open_exclusive, verify
from burnd.drive import OpticalDrive
from burnd.scsi.mmc import BLOCK_SIZE
from burnd.scsi.sgio import SgIoTransport
from tests.vm.guest_common import Checks, RecordingTransport, tool_output, wait_for_nodes
from tests.vm.guest_tgt import READ_TRACK_INFO_1
from tests.vm.oracles import free_blocks_of_track_information

START_STOP = "1b 00 00 00 {} 00"
EJECT, LOAD = START_STOP.format("02").split(), START_STOP.format("03").split()
PREVENT, ALLOW = "1e 00 00 00 01 00".split(), "1e 00 00 00 00 00".split()
TEST_UNIT_READY = "00 00 00 00 00 00".split()


def log_commands(out_dir: Path) -> None:
    """Every CDB and sense burnd sends (logger burnd.scsi at DEBUG) into out_dir/scsi.log."""
    logging.basicConfig(filename=out_dir / "scsi.log", level=logging.WARNING,
                        format="%(relativeCreated)8.0f %(name)s %(levelname)s %(message)s")
    logging.getLogger("burnd.scsi").setLevel(logging.DEBUG)
    logging.getLogger("burnd.burn").setLevel(logging.DEBUG)


def refuse_oversized(sr: str, backing: Path, free_blocks: int) -> dict:
    """burn() of a sparse image one block larger than the free space, through a recording
    transport; the refusal must come before anything that changes the disc."""
    size = (free_blocks + 1) * BLOCK_SIZE
    transport = RecordingTransport(SgIoTransport.open(sr, exclusive=True))
    with tempfile.TemporaryFile() as image:
        image.truncate(size)
        try:
            burn(OpticalDrive(transport), image, BurnOptions())
        except Exception as exc:
            return {"error": type(exc).__name__, "classes": [c.__name__ for c in type(exc).__mro__],
                    "message": str(exc), "opcodes": transport.opcodes, "image_bytes": size,
                    "backing_bytes": backing.stat().st_size}
        finally:
            transport.close()
    raise AssertionError("burnd burned an image larger than the disc")


def lock_probes(checks: Checks, sg: str) -> None:
    """Tray-lock state as tgt sees it, asked with sg_raw on the sg node (which leaves the sr
    driver's open count alone, so the kernel's unlock-on-last-close cannot help)."""
    checks.run("lock.eject_after_burn", lambda: tool_output("sg_raw", sg, *EJECT))
    checks.run("lock.tur_ejected", lambda: tool_output("sg_raw", sg, *TEST_UNIT_READY))
    checks.run("lock.load", lambda: tool_output("sg_raw", sg, *LOAD))
    checks.run("lock.control_prevent", lambda: tool_output("sg_raw", sg, *PREVENT))
    checks.run("lock.control_eject_prevented", lambda: tool_output("sg_raw", sg, *EJECT))
    checks.run("lock.control_allow", lambda: tool_output("sg_raw", sg, *ALLOW))


def main() -> int:
    results, backing, iso = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    log_commands(results.parent)
    checks = Checks(results)
    try:
        (node,) = wait_for_nodes(1)
        sr, sg = node["block"], node["sg"]
        track_info = checks.run("tool.read_track_information",
                                lambda: tool_output("sg_raw", "-r", "48", sr, *READ_TRACK_INFO_1))
        free = free_blocks_of_track_information(track_info)
        checks.run("refuse.oversized", lambda: refuse_oversized(sr, backing, free))
        events: list = []
        with open_exclusive(sr) as drive, open(iso, "rb") as image:
            checks.run("burn", lambda: burn(drive, image, BurnOptions(), progress=events.append))
            checks.run("burn.phases", lambda: [e.phase for e in events])
            checks.run("verify", lambda: verify(drive, iso))
            lock_probes(checks, sg)
        checks.run("xorriso", lambda: tool_output("xorriso", "-indev", sr, "-toc", "-find", "/", "-exec", "lsdl"))
    finally:
        checks.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
