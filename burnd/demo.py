"""`make demo`: a virtual BD-R burner, identified and reported through OpticalDrive.

The demo deliberately goes through exactly the path a real drive takes (Transport →
OpticalDrive), only with the software burner behind the Transport, so what it prints is what
burnd would see from hardware.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from burnd.drive import OpticalDrive
from burnd.emu import VirtualBurner


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="burnd-demo-") as tmp:
        backing = Path(tmp) / "bd-r.img"
        burner = VirtualBurner(media="bd-r", backing=str(backing), name="vburner0")
        try:
            drive = OpticalDrive(burner)
            identity = drive.identify()
            drive.wait_ready(timeout=10)
            print(f"drive    {burner.name}: {identity.vendor} {identity.model} {identity.revision}"
                  f" (serial {identity.serial}, peripheral type {identity.peripheral_type})")
            print("profiles " + ", ".join(
                f"{p.name}{' (current)' if p.current else ''}" for p in drive.profiles()))
            speeds = drive.write_speeds()
            print("speeds   " + (", ".join(f"{s} kB/s" for s in speeds) if speeds else "not reported"))
            print(drive.media_report().describe())
        finally:
            burner.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
