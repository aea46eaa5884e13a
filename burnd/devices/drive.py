"""ManagedDrive: one drive burnd looks after, real or virtual, with its own worker thread.

OpticalDrive is not thread-safe, so every command to a drive — property refreshes, eject, a
whole burn — runs on the drive's single-thread executor; different drives have different
threads and so burn in parallel. Media changes (udev events, Load, autoload) bump a
generation counter that a job "waiting for blank medium" sleeps on: no polling.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from burnd.devices.media import DriveSnapshot, snapshot
from burnd.drive import OpticalDrive
from burnd.emu import VirtualBurner
from burnd.emu.backing import SIDECAR_SUFFIX
from burnd.errors import BurndError
from burnd.scsi.sense import NoMedium
from burnd.scsi.transport import Transport

log = logging.getLogger("burnd.devices")

READY_WAIT = 30.0


class NoMediumInserted(BurndError):
    dbus_name = "MediumMissing"


@dataclass(frozen=True, slots=True)
class VirtualSpec:
    """How to (re)create a virtual burner's discs: kind, size in blocks, backing file."""

    media: str
    size: int | None
    backing: Path
    autoload: bool = False


class ManagedDrive:
    def __init__(self, drive_id: str, transport: Transport, *, nodes: tuple[str, ...] = (), group: str = "",
                 virtual: VirtualSpec | None = None) -> None:
        self.id = drive_id
        self.nodes = nodes
        self.group = group
        self.virtual = virtual
        self.transport = transport
        self.optical = OpticalDrive(transport)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix=f"drive-{drive_id}")
        self.snapshot = DriveSnapshot()
        self._changed = threading.Condition()
        self._generation = 0

    @property
    def burner(self) -> VirtualBurner | None:
        return self.transport if isinstance(self.transport, VirtualBurner) else None

    # ------------------------------------------------------------------ on the drive thread

    def refresh(self) -> DriveSnapshot:
        """Read identity, profiles, medium and speeds; a drive that cannot answer shows no medium."""
        drive = self.optical
        try:
            identity = drive.identify()
            profiles = [p.name for p in drive.profiles()]
            try:
                drive.wait_ready(timeout=READY_WAIT)
            except NoMedium:
                pass
            report = drive.media_report()
            speeds = drive.write_speeds() if report.present else []
            self.snapshot = snapshot(identity, profiles, report, speeds)
        except BurndError as exc:
            log.warning("%s: cannot read the drive's state: %s", self.id, exc)
            self.snapshot = DriveSnapshot(identity=self.snapshot.identity, profiles=self.snapshot.profiles)
        return self.snapshot

    def eject(self) -> None:
        """Unlock and open the tray; an autoloading virtual burner then takes a new blank disc."""
        self.optical.unlock()
        self.optical.eject()
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
            self.optical.load()
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
            with self._changed:
                self._changed.wait_for(lambda: self._generation != since or cancel.is_set())
                since = self._generation
            if cancel.is_set():
                return
            if self.refresh().writable:
                return

    # ------------------------------------------------------------------ any thread

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
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()


class NotVirtual(BurndError):
    dbus_name = "NotVirtual"


def virtual_drive(drive_id: str, spec: VirtualSpec, group: str = "") -> ManagedDrive:
    """A ManagedDrive over a VirtualBurner whose disc lives in ``spec.backing`` (kept across restarts)."""
    spec.backing.parent.mkdir(parents=True, exist_ok=True)
    burner = VirtualBurner(media=spec.media, backing=str(spec.backing), capacity=spec.size, name=drive_id,
                           busy_seconds=0.05)
    return ManagedDrive(drive_id, burner, group=group, virtual=spec)


def remove_backing(spec: VirtualSpec) -> None:
    """Delete a virtual disc's block file and state sidecar."""
    for path in (spec.backing, Path(str(spec.backing) + SIDECAR_SUFFIX)):
        path.unlink(missing_ok=True)
