"""What burnd attached, recorded in the state directory so a restart finds it again.

One small JSON file per attachment (``virtual-drives/<id>.json``): attaching writes one new
file, detaching unlinks it. Each is written beside its final name and renamed into place, so a
crash leaves the record whole or absent, never half of one. Renaming onto a *new* name also
keeps the write cheap: replacing an existing file makes ext4 start writeback right away
(auto_da_alloc), which cost more than the loop ioctls themselves when all records lived in
one rewritten file.

No fsync: the records describe loop devices, which live in the running kernel; a power loss
that could lose an unsynced record also loses every device it describes (``recover`` then
drops stale records), while a killed daemon leaves the page cache, and so the renamed file,
intact. The record is in place before the attach returns, so a kill -9 right after the reply
never loses a device. SQLite would buy nothing here.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from dataclasses import asdict, dataclass, fields

from burnd.image.output import atomic_output

DIRECTORY = "virtual-drives"
SUFFIX = ".json"
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


def record_path(state_dir: str, attachment_id: str) -> str:
    return os.path.join(state_dir, DIRECTORY, attachment_id + SUFFIX)


def load(state_dir: str) -> list[Attachment]:
    """The recorded attachments. An unreadable record is skipped (recovery then cleans its
    device up from the kernel's tag alone); a temporary file a crash left behind is removed."""
    directory = os.path.join(state_dir, DIRECTORY)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    known = {f.name for f in fields(Attachment)}
    found = []
    for name in sorted(names):
        path = os.path.join(directory, name)
        if not name.endswith(SUFFIX):
            with contextlib.suppress(OSError):
                os.unlink(path)
            continue
        try:
            with open(path) as f:
                entry = json.load(f)["attachment"]
            found.append(Attachment(**{k: v for k, v in entry.items() if k in known}))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def add(state_dir: str, attachment: Attachment) -> None:
    """Record ``attachment``; it is on disk (in the page cache) when this returns."""
    os.makedirs(os.path.join(state_dir, DIRECTORY), mode=0o755, exist_ok=True)
    body = json.dumps({"version": VERSION, "attachment": asdict(attachment)}, indent=1).encode()
    with atomic_output(record_path(state_dir, attachment.id)) as fd:
        if os.write(fd, body) != len(body):
            raise OSError(errno.ENOSPC, f"the record of {attachment.device_path} was cut short (disk full?)")


def remove(state_dir: str, attachment_id: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(record_path(state_dir, attachment_id))
