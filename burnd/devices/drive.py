"""ManagedDrive: one drive burnd looks after, real or virtual, with its own worker thread.

OpticalDrive is not thread-safe, so every command to a drive — property refreshes, eject, a
whole burn — runs on the drive's single-thread executor; different drives have different
threads and so burn in parallel. Media changes (udev events, Load, autoload) bump a
generation counter that a job "waiting for blank medium" sleeps on: no polling.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from burnd.burn.device import open_exclusive
from burnd.devices.media import DriveSnapshot, snapshot
from burnd.drive import OpticalDrive
from burnd.emu import FaultPlan, VirtualBurner
from burnd.emu.backing import SIDECAR_SUFFIX
from burnd.errors import BurndError
from burnd.scsi.sense import NoMedium
from burnd.scsi.sgio import SgIoTransport
from burnd.scsi.transport import Transport

log = logging.getLogger("burnd.devices")

READY_WAIT = 30.0


@dataclass(frozen=True, slots=True)
class VirtualSpec:
    """How to (re)create a virtual burner's discs: kind, size in blocks, backing file."""

    media: str
    size: int | None
    backing: Path
    autoload: bool = False
    faults: tuple[str, ...] = ()


class ManagedDrive:
    """A drive under burnd's care. ``burner`` for a virtual one (commands go through
    ``transport`` when given: a robot bay's tray sensor); else ``nodes[0]`` is the node
    commands go to (the /dev/sg node when there is one, so the kernel's sr lock does not
    serialise drives), opened per use so the exclusive open of a burn never meets our own fd."""

    def __init__(self, drive_id: str, *, burner: VirtualBurner | None = None, nodes: tuple[str, ...] = (),
                 group: str = "", virtual: VirtualSpec | None = None, sys_name: str = "",
                 transport: Transport | None = None) -> None:
        self.id = drive_id
        self.nodes = nodes
        self.group = group
        self.virtual = virtual
        self.sys_name = sys_name
        self.burner = burner
        commands = transport or burner
        self._virtual_drive = OpticalDrive(commands) if commands is not None else None
        self.executor = ThreadPoolExecutor(1, thread_name_prefix=f"drive-{drive_id}")
        self.snapshot = DriveSnapshot()
        self._changed = threading.Condition()
        self._generation = 0

    @contextmanager
    def session(self, exclusive: bool = False) -> Iterator[OpticalDrive]:
        """An OpticalDrive for one piece of work (exclusive: a burn's O_EXCL open)."""
        if self._virtual_drive is not None:
            yield self._virtual_drive
        elif exclusive:
            with open_exclusive(self.nodes[0]) as drive:
                yield drive
        else:
            transport = SgIoTransport.open(self.nodes[0])
            try:
                yield OpticalDrive(transport)
            finally:
                transport.close()

    # ------------------------------------------------------------------ on the drive thread

    def refresh(self) -> DriveSnapshot:
        """Read identity, profiles, medium and speeds; a drive that cannot answer shows no medium."""
        try:
            with self.session() as drive:
                self.snapshot = self._read(drive)
        except BurndError as exc:
            log.warning("%s: cannot read the drive's state: %s", self.id, exc)
            self.snapshot = DriveSnapshot(identity=self.snapshot.identity, profiles=self.snapshot.profiles)
        return self.snapshot

    @staticmethod
    def _read(drive: OpticalDrive) -> DriveSnapshot:
        identity = drive.identify()
        profiles = [p.name for p in drive.profiles()]
        try:
            drive.wait_ready(timeout=READY_WAIT)
        except NoMedium:
            pass
        report = drive.media_report()
        speeds = drive.write_speeds() if report.present else []
        return snapshot(identity, profiles, report, speeds)

    def eject(self) -> None:
        """Unlock and open the tray; an autoloading virtual burner then takes a new blank disc."""
        with self.session() as drive:
            drive.unlock()
            drive.eject()
        if self.virtual is not None and self.virtual.autoload:
            self.insert_blank(self.virtual.media)
        self.media_changed()

    def load(self, media: str | None = None) -> None:
        """Close the tray, or (virtual burners) put a new blank medium of kind ``media`` in."""
        if media is not None:
            if self.virtual is None:
                raise NotVirtual(f"{self.id} is a real drive; only a person can put a disc in it — "
                                 f"drop the media option")
            self.insert_blank(media)
        else:
            with self.session() as drive:
                drive.load()
        self.media_changed()

    def insert_blank(self, media: str) -> None:
        """Replace the virtual disc with a new blank one (its old backing file is deleted)."""
        burner, spec = self.burner, self.virtual
        assert burner is not None and spec is not None
        burner.remove_medium()
        remove_backing(spec)
        burner.insert(media, backing=str(spec.backing), capacity=spec.size)

    def wait_for_writable(self, since: int, cancel: threading.Event) -> None:
        """Block until a medium change after generation ``since`` brings a blank/overwritable disc."""
        while not cancel.is_set():
            since = self._next_change(since, cancel)
            if not cancel.is_set() and self.refresh().writable:
                return

    def _next_change(self, since: int, cancel: threading.Event) -> int:
        with self._changed:
            self._changed.wait_for(lambda: self._generation != since or cancel.is_set())
            return self._generation

    # ------------------------------------------------------------------ any thread

    def announce(self, sysfs: str = "/sys") -> None:
        """Make the kernel send a "change" uevent for a real drive after burnd changed its disc:
        nothing else does (reference §6.3), and udisks/desktops only look again on an event."""
        if not self.sys_name:
            return
        try:
            Path(sysfs, "block", self.sys_name, "uevent").write_text("change")
        except OSError as exc:
            log.warning("%s: cannot announce the media change to udev: %s", self.id, exc)

    @property
    def generation(self) -> int:
        with self._changed:
            return self._generation

    def media_changed(self) -> None:
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def wake(self) -> None:
        """Wake waiters (cancel) without claiming a media change."""
        with self._changed:
            self._changed.notify_all()

    def close(self) -> None:
        self.wake()
        self.executor.shutdown(wait=True)
        if self.burner is not None:
            self.burner.close()


class NotVirtual(BurndError):
    dbus_name = "NotVirtual"


def virtual_drive(drive_id: str, spec: VirtualSpec, group: str = "") -> ManagedDrive:
    """A ManagedDrive over a VirtualBurner whose disc lives in ``spec.backing`` (kept across restarts)."""
    spec.backing.parent.mkdir(parents=True, exist_ok=True)
    burner = VirtualBurner(media=spec.media, backing=str(spec.backing), capacity=spec.size, name=drive_id,
                           busy_seconds=0.05, faults=FaultPlan.parse(spec.faults))
    return ManagedDrive(drive_id, burner=burner, group=group, virtual=spec)


def remove_backing(spec: VirtualSpec) -> None:
    """Delete a virtual disc's block file and state sidecar."""
    for path in (spec.backing, Path(str(spec.backing) + SIDECAR_SUFFIX)):
        path.unlink(missing_ok=True)
