"""Mount tables as the kernel shows them in ``/proc/<pid>/mountinfo``.

Shared by the auto-attach watcher (mount points appearing and vanishing in burnd's own table)
and by recovery, which must look at another process's table: a translated view mounted by an
earlier burnd start lives in that start's mount namespace (every start of the systemd unit gets
a new one), so only its server process still sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True, slots=True)
class Mount:
    """One line of a mount table: where, what device (``major:minor``) and which type."""

    mountpoint: str
    device: str
    fstype: str


def _unescape(text: str) -> str:
    """The kernel writes space, tab, newline and backslash in paths as octal escapes."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def parse(text: str) -> list[Mount]:
    """The mounts of a mountinfo text, in table order (a later mount on the same point hides an
    earlier one). Fields: id, parent, major:minor, root, mount point, options, optional fields
    up to ``-``, then type, source, super options."""
    found = []
    for line in text.splitlines():
        fields = line.split(" ")
        if "-" not in fields[6:-1]:
            continue
        found.append(Mount(_unescape(fields[4]), fields[2], fields[fields.index("-", 6) + 1]))
    return found


def read(pid: int | str = "self") -> list[Mount]:
    """The mount table of process ``pid`` (its own mount namespace); OSError if it is gone."""
    with open(f"/proc/{pid}/mountinfo") as f:
        return parse(f.read())
