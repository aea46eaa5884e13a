"""Finding optical drives and following their events through pyudev.

Enumeration accepts block disks udev marked ``ID_CDROM=1`` and, where udevd is not running
(containers, initramfs, these test machines), the kernel's ``srN`` devices. The watch reads
the kernel's netlink uevents (or udev's, after its rules, when udevd runs) on the asyncio
loop's reader callback: nothing wakes up unless the kernel sends something.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyudev

log = logging.getLogger("burnd.devices")

SR_NAME = re.compile(r"^sr\d+$")
UDEVD_CONTROL = "/run/udev/control"
"""udevd's control socket: present only while udevd runs (/run/udev alone may be left over)."""


@dataclass(frozen=True, slots=True)
class UEvent:
    action: str
    sys_name: str
    device_node: str | None
    properties: dict[str, str]


@dataclass(frozen=True, slots=True)
class FoundDrive:
    sys_name: str
    node: str
    sg_node: str | None
    links: tuple[str, ...]
    serial: str


def is_optical(sys_name: str, properties: dict[str, str]) -> bool:
    return properties.get("ID_CDROM") == "1" or bool(SR_NAME.match(sys_name))


def sg_node_for(sys_path: str) -> str | None:
    """/dev/sgN of a block device, from sysfs ``device/scsi_generic``."""
    try:
        names = os.listdir(Path(sys_path) / "device" / "scsi_generic")
    except OSError:
        return None
    return f"/dev/{names[0]}" if names else None


def drive_id(sys_name: str, serial: str) -> str:
    """A D-Bus path element, stable across reboots when udev gave a serial."""
    return re.sub(r"[^A-Za-z0-9_]", "_", serial or sys_name)


def found(device: pyudev.Device) -> FoundDrive:
    props = dict(device.properties)
    links = tuple(sorted(str(link) for link in device.device_links))
    return FoundDrive(device.sys_name, device.device_node or f"/dev/{device.sys_name}",
                      sg_node_for(device.sys_path), links, props.get("ID_SERIAL", ""))


def enumerate_optical(context: pyudev.Context) -> list[FoundDrive]:
    return [found(d) for d in context.list_devices(subsystem="block", DEVTYPE="disk")
            if is_optical(d.sys_name, dict(d.properties))]


def polling_needed(device_msecs: int, default_msecs: int) -> bool:
    """Whether the kernel polls the drive for media changes at all (−1 means "the default")."""
    effective = default_msecs if device_msecs < 0 else device_msecs
    return effective <= 0


def enable_media_polling(sys_name: str, msecs: int, sysfs: str = "/sys") -> bool:
    """Turn on kernel media polling for ``sys_name`` where nobody did; True when it was written."""
    device = Path(sysfs, "block", sys_name, "events_poll_msecs")
    default = Path(sysfs, "module", "block", "parameters", "events_dfl_poll_msecs")
    try:
        if not polling_needed(int(device.read_text()), int(default.read_text())):
            return False
        device.write_text(str(msecs))
    except (OSError, ValueError) as exc:
        log.warning("%s: cannot enable media polling: %s", sys_name, exc)
        return False
    log.info("%s: enabled kernel media polling every %d ms", sys_name, msecs)
    return True


class UdevWatch:
    """Delivers block-device uevents to ``callback`` from the event loop, without polling."""

    def __init__(self, callback: Callable[[UEvent], None], context: pyudev.Context | None = None,
                 source: str | None = None, wanted: Callable[[str], bool] = lambda sys_name: True) -> None:
        """``wanted`` picks devices by kernel name before their properties are read: a busy
        machine's loop and disk events then cost next to nothing."""
        self.context = context or pyudev.Context()
        self.source = source or ("udev" if os.path.exists(UDEVD_CONTROL) else "kernel")
        self.monitor = pyudev.Monitor.from_netlink(self.context, source=self.source)
        self.monitor.filter_by("block")
        self._callback = callback
        self._wanted = wanted
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.monitor.start()
        self._loop = loop
        loop.add_reader(self.monitor.fileno(), self._readable)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self.monitor.fileno())
            self._loop = None

    def _readable(self) -> None:
        while (device := self.monitor.poll(timeout=0)) is not None:
            if not self._wanted(device.sys_name):
                continue
            event = UEvent(device.action or "", device.sys_name, device.device_node, dict(device.properties))
            try:
                self._callback(event)
            except Exception:
                log.exception("handling the uevent %s %s failed", event.action, event.sys_name)
