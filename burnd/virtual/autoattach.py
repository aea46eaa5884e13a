"""Auto-attach rules: parsing them from the config and deciding what they match (pure).

A rule is one trigger and one action::

    [[auto_attach]]
    name = "isos-stick"
    match = { ID_FS_LABEL = "ISOS", ID_BUS = "usb" }   # udev/blkid properties (fnmatch patterns)
    glob = "*.iso"                                      # images under the device's mount point

    [[auto_attach]]
    name = "drive-image"
    match = { ID_SERIAL = "HL-DT-ST*", ID_CDROM_MEDIA = "1" }
    image = "/srv/images/driver-disc.iso"               # a named image while the match holds

    [[auto_attach]]
    name = "media"
    mount = "/media/*/ISOS"                             # a mount point appearing (fnmatch)
    glob = "**/*.iso"

    [[auto_attach]]
    name = "inbox"
    folder = "/srv/iso-inbox"                           # watched with inotify
    glob = "*.iso"

Triggers: ``match`` (device properties), ``mount`` or ``folder``; actions: ``glob`` (relative to
the mount point or folder) or ``image`` (with ``match`` only). ``session``/``track`` pick a
track as for a manual attach. Unknown keys are errors, as everywhere in burnd's config.

Attachments carry an ``origin`` made of words (``rule=NAME device=MAJ:MIN mount=PATH
file=PATH``) so that when a device, mount or file goes away, exactly what came from it is
detached — also after a restart, since the origin is recorded with the attachment.
"""

from __future__ import annotations

import fnmatch
import glob as globbing
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from burnd.errors import ConfigError


class RuleError(ConfigError):
    dbus_name = "BadAutoAttachRule"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    match: Mapping[str, str] = field(default_factory=dict)
    mount: str = ""
    folder: str = ""
    glob: str = ""
    image: str = ""
    session: int | None = None
    track: int | None = None

    @property
    def trigger(self) -> str:
        return "match" if self.match else "mount" if self.mount else "folder"


_KEYS: dict[str, type] = {
    "name": str, "match": dict, "mount": str, "folder": str, "glob": str, "image": str, "session": int, "track": int,
}


def parse_rule(table: Mapping[str, object], where: str) -> Rule:
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise RuleError(f"{where}: unknown keys {unknown}; allowed are {sorted(_KEYS)}")
    for key, value in table.items():
        if not isinstance(value, _KEYS[key]) or isinstance(value, bool):
            raise RuleError(f"{where}: {key} must be of type {_KEYS[key].__name__}, not {type(value).__name__}")
    name = table.get("name")
    if not name:
        raise RuleError(f"{where}: every rule needs a name (it appears in logs and signals)")
    match = table.get("match", {})
    if any(not isinstance(v, str) for v in match.values()):
        raise RuleError(f"{where}: match values must be strings (fnmatch patterns)")
    triggers = [k for k in ("match", "mount", "folder") if table.get(k)]
    if len(triggers) != 1:
        raise RuleError(f"{where}: a rule needs exactly one of match, mount or folder (found {triggers or 'none'})")
    actions = [k for k in ("glob", "image") if table.get(k)]
    if len(actions) != 1:
        raise RuleError(f"{where}: a rule needs exactly one of glob or image (found {actions or 'none'})")
    if "image" in actions and triggers != ["match"]:
        raise RuleError(f"{where}: image = ... only goes with match = {{...}}; use glob for mounts and folders")
    for key in ("folder", "image"):
        if table.get(key) and not os.path.isabs(str(table[key])):
            raise RuleError(f"{where}: {key} must be an absolute path")
    glob_text = str(table.get("glob", ""))
    if glob_text.startswith("/") or ".." in glob_text.split("/"):
        raise RuleError(f"{where}: glob is relative to the mount point or folder and may not leave it")
    return Rule(str(name), dict(match), str(table.get("mount", "")), str(table.get("folder", "")), glob_text,
                str(table.get("image", "")), table.get("session"), table.get("track"))  # type: ignore[arg-type]


def parse_rules(tables: object, where: str = "auto_attach") -> tuple[Rule, ...]:
    """The ``[[auto_attach]]`` array of tables from the config."""
    if not isinstance(tables, list):
        raise RuleError(f"{where} must be an array of tables ([[{where}]])")
    rules = tuple(parse_rule(t if isinstance(t, dict) else {"": t}, f"{where}[{i}]") for i, t in enumerate(tables))
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RuleError(f"{where}: rule names must be unique; repeated: {duplicates}")
    return rules


def device_matches(rule: Rule, properties: Mapping[str, str]) -> bool:
    """Every property the rule names is present and matches its pattern."""
    return bool(rule.match) and all(
        key in properties and fnmatch.fnmatchcase(properties[key], pattern) for key, pattern in rule.match.items()
    )


def mount_matches(rule: Rule, mountpoint: str) -> bool:
    return bool(rule.mount) and fnmatch.fnmatchcase(mountpoint, rule.mount)


def folder_matches(rule: Rule, path: str) -> bool:
    """A file directly or deeper in the rule's folder that fits its glob."""
    if not rule.folder:
        return False
    relative = os.path.relpath(path, rule.folder)
    return not relative.startswith("..") and fnmatch.fnmatchcase(relative, rule.glob)


def images_under(root: str, pattern: str) -> list[str]:
    """Regular files under ``root`` matching the rule's glob, in a stable order."""
    found = globbing.glob(os.path.join(globbing.escape(root), pattern), recursive=True)
    return sorted(p for p in found if os.path.isfile(p))


def origin(rule: Rule, **parts: str) -> str:
    """The origin recorded with an automatic attachment, shell-quoted ``key=value`` words, e.g.
    ``rule=isos device=7:3 mount='/media/my stick'``."""
    return shlex.join([f"rule={rule.name}", *(f"{k}={v}" for k, v in parts.items() if v)])


def origin_parts(text: str) -> dict[str, str]:
    """The words of an origin as a dict (empty for a manual attachment)."""
    try:
        words = shlex.split(text)
    except ValueError:
        return {}
    return dict(w.split("=", 1) for w in words if "=" in w)
