"""What burnd attached, recorded in the state directory so a restart finds it again.

One JSON file, rewritten whole through a temporary file + rename, so a crash leaves either the
old or the new list, never half of one. No fsync: the records describe loop devices, which
live in the running kernel; a power loss that could lose an unsynced write also loses every
device it describes (``recover`` then drops the stale records), while a killed daemon leaves
the page cache, and so the renamed file, intact. The list is small (one entry per attached
image); SQLite would buy nothing here.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields

FILE_NAME = "virtual-drives.json"
VERSION = 1


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attached image: the properties a VirtualDrive object shows, plus what burnd needs to
    find and undo it.

    ``backing_file`` is the image the user attached; ``loop_file`` is what the loop device reads
    (the image itself, a translated FUSE file, or a converted copy); ``view`` says which:
    ``direct``, ``translated`` or ``cached``. ``origin`` names the automatic source (rule and
    device, mount or folder) for auto-attached images, empty otherwise."""

    id: str
    device: str
    backing_file: str
    format: str
    read_only: bool
    session: int
    track: int
    setup_by_uid: int
    auto_attached: bool
    origin: str
    view: str
    loop_file: str
    offset: int
    size: int
    view_pid: int = 0
    view_mount: str = ""
    note: str = ""

    @property
    def device_path(self) -> str:
        return "/dev/" + self.device


def load(state_dir: str) -> list[Attachment]:
    """The recorded attachments; an unreadable file counts as empty (recovery then cleans up
    from the kernel's tags alone)."""
    try:
        with open(os.path.join(state_dir, FILE_NAME)) as f:
            data = json.load(f)
    except (FileNotFoundError, ValueError):
        return []
    names = {f.name for f in fields(Attachment)}
    return [Attachment(**{k: v for k, v in entry.items() if k in names}) for entry in data.get("attachments", [])]


def save(state_dir: str, attachments: list[Attachment]) -> None:
    os.makedirs(state_dir, mode=0o755, exist_ok=True)
    path = os.path.join(state_dir, FILE_NAME)
    tmp = path + ".tmp"
    body = json.dumps({"version": VERSION, "attachments": [asdict(a) for a in attachments]}, indent=1)
    with open(tmp, "w") as f:
        f.write(body)
    os.replace(tmp, path)
