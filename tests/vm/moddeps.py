"""Which kernel module files an initramfs needs, in load order, for a list of wanted modules.

Reads each module's ``depends=`` from its .modinfo section (a NUL-separated string table in
the .ko), so it works on an extracted kernel package without modprobe or depmod.
"""

from __future__ import annotations

import lzma
import re
from pathlib import Path

_DEPENDS = re.compile(rb"\x00depends=([^\x00]*)\x00")
_SUFFIXES = (".ko", ".ko.xz")


def canonical(name: str) -> str:
    """Module names treat '-' and '_' alike (sd-mod == sd_mod)."""
    return name.replace("-", "_")


def module_index(root: Path) -> dict[str, Path]:
    """Module name → file, for every module under ``root`` (lib/modules/<version>/kernel)."""
    index: dict[str, Path] = {}
    for suffix in _SUFFIXES:
        for path in root.rglob(f"*{suffix}"):
            index[canonical(path.name[: -len(suffix)])] = path
    return index


def module_bytes(path: Path) -> bytes:
    """The uncompressed .ko (busybox insmod cannot read compressed modules)."""
    data = path.read_bytes()
    return lzma.decompress(data) if path.name.endswith(".xz") else data


def dependencies(path: Path) -> list[str]:
    found = _DEPENDS.search(module_bytes(path))
    if not found:
        return []
    return [canonical(d.decode()) for d in found.group(1).split(b",") if d]


def load_order(index: dict[str, Path], wanted: list[str]) -> list[str]:
    """Dependencies first; raises KeyError naming a module the kernel package lacks."""
    order: list[str] = []

    def visit(name: str) -> None:
        name = canonical(name)
        if name in order:
            return
        if name not in index:
            raise KeyError(f"kernel module {name} is not in the guest kernel package")
        for dep in dependencies(index[name]):
            visit(dep)
        order.append(name)

    for name in wanted:
        visit(name)
    return order
