"""A software MMC burner behind the Transport interface, so everything above burnd.scsi runs
unchanged on a virtual drive.

    vb = VirtualBurner("dvd+r", backing="/var/lib/burnd/vdisc.img", faults=FaultPlan.parse([...]))
    vb.execute(cdb, Direction.FROM_DEVICE, bytearray(34))   # raw CDB in, CommandResult out
    vb.insert("bd-re"); vb.open_tray(); vb.close_tray(); vb.remove_medium()
    vb.medium        # the disc model (profile, status, sessions, tracks, nwa, ...)
    vb.command_log   # opcodes received, oldest first

Modules: burner (Transport, firmware gating, tray), commands (one handler per CDB), media (disc
state and recording rules), kinds (media catalogue), reports (disc/track/TOC/capacity bytes),
features (GET CONFIGURATION), modepages (pages 05h/2Ah), responses (sense and byte helpers),
state (drive state shared by burner and handlers), backing (sparse block file + JSON sidecar),
faults (fault-injection plan; grammar in its docstring).
"""

from burnd.emu.burner import VirtualBurner
from burnd.emu.faults import FaultPlan, FaultPlanError
from burnd.emu.kinds import MEDIA_KINDS

__all__ = ["MEDIA_KINDS", "FaultPlan", "FaultPlanError", "VirtualBurner"]
