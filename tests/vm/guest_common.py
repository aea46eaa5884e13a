"""Shared by the guest-side check scripts (they run inside the QEMU guest, not under pytest).

A guest script runs many independent checks in one boot; each check's return value or
exception is recorded under its name, so one failing check never hides the others, and the
host-side tests assert on the JSON file the script writes.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import subprocess
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from burnd.scsi.transport import Buffer, CommandResult, Direction, Transport

def jsonable(value: Any) -> Any:
    """Results as JSON: dataclasses by field, bytes as hex, enums by name."""
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    return value


class Checks:
    """Named outcomes: ``{"ok": true, "value": ...}`` or ``{"ok": false, "error": ...}``."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.results: dict[str, dict[str, Any]] = {}

    def run(self, name: str, check: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            value = check()
        except Exception as exc:  # every failure is data for the host-side test
            self.results[name] = {
                "ok": False,
                "error": type(exc).__name__,
                "classes": [c.__name__ for c in type(exc).__mro__],
                "message": str(exc),
                "traceback": traceback.format_exc(),
                "seconds": time.monotonic() - started,
            }
            return None
        self.results[name] = {"ok": True, "value": jsonable(value), "seconds": time.monotonic() - started}
        return value

    def save(self) -> None:
        self.out.write_text(json.dumps(self.results, indent=1, sort_keys=True))


class RecordingTransport:
    """Passes commands through and remembers their opcodes: proves what reached a device."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.opcodes: list[int] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def execute(
        self,
        cdb: bytes,
        direction: Direction,
        data: Buffer | bytes | int | None = None,
        timeout: float = 30.0,
    ) -> CommandResult:
        self.opcodes.append(cdb[0])
        return self.inner.execute(cdb, direction, data, timeout)

    def close(self) -> None:
        self.inner.close()


def scsi_nodes() -> list[dict[str, Any]]:
    """Every sg node with its SCSI type and block sibling, from sysfs."""
    nodes = []
    for sg in sorted(Path("/sys/class/scsi_generic").iterdir()):
        device = sg / "device"
        blocks = sorted(p.name for p in (device / "block").iterdir()) if (device / "block").exists() else []
        nodes.append({
            "sg": f"/dev/{sg.name}",
            "type": int((device / "type").read_text()),
            "vendor": (device / "vendor").read_text().strip(),
            "model": (device / "model").read_text().strip(),
            "block": f"/dev/{blocks[0]}" if blocks else None,
        })
    return nodes


def wait_for_nodes(count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    """SCSI scanning continues after the init saw /dev/sr0; wait until all devices and their
    block nodes exist."""
    deadline = time.monotonic() + timeout
    while True:
        nodes = scsi_nodes() if Path("/sys/class/scsi_generic").exists() else []
        ready = len(nodes) >= count and all(
            os.path.exists(n["sg"]) and (n["block"] is None or os.path.exists(n["block"])) for n in nodes
        )
        if ready or time.monotonic() > deadline:
            return nodes
        time.sleep(0.05)


def tool_output(*argv: str) -> dict[str, Any]:
    """An independent tool's view (sg3-utils): the oracle the host test compares burnd with."""
    done = subprocess.run(argv, capture_output=True, text=True)
    return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


@contextmanager
def node_mode(path: str, mode: int, gid: int = 0) -> Iterator[None]:
    """Temporarily change a device node's mode and group (guest devtmpfs only)."""
    before = os.stat(path)
    os.chown(path, before.st_uid, gid)
    os.chmod(path, mode)
    try:
        yield
    finally:
        os.chown(path, before.st_uid, before.st_gid)
        os.chmod(path, before.st_mode & 0o7777)
