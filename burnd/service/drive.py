"""The Drive object: a ManagedDrive's snapshot as properties; methods queue jobs.

Methods only check the caller, the options and the fd, then hand over to the queue (jobs)
or the drive's thread (Eject, Load): no drive logic lives here.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any, Callable

from dbus_fast.service import PropertyAccess, dbus_property, method

from burnd.devices.drive import ManagedDrive
from burnd.emu import MEDIA_KINDS
from burnd.errors import DeviceBusy
from burnd.jobs import options as opts
from burnd.jobs.errors import InvalidOption
from burnd.jobs.files import check_image_fd
from burnd.jobs.options import check
from burnd.jobs.runner import WAITING_FOR_BLANK
from burnd.service import DRIVES_PATH, INTERFACE
from burnd.service.errors import dbus_errors
from burnd.service.published import PublishedInterface
from burnd.service.job import job_path
from burnd.service.values import variant_dict

if TYPE_CHECKING:
    from burnd.service.manager import Service

R = PropertyAccess.READ


def drive_path(drive_id: str) -> str:
    return f"{DRIVES_PATH}/{drive_id}"


class DriveInterface(PublishedInterface):
    def __init__(self, drive: ManagedDrive, service: Service) -> None:
        super().__init__(INTERFACE + ".Drive")
        self.drive = drive
        self.path = drive_path(drive.id)
        self._service = service

    def values(self) -> dict[str, Any]:
        """Every changeable property's current value (what PropertiesChanged compares)."""
        snap = self.drive.snapshot
        running = self._service.queue.running_on(self.drive.id)
        return {"Profiles": list(snap.profiles), "MediaType": snap.media_type, "MediaState": snap.media_state,
                "Capacity": snap.capacity, "FreeBytes": snap.free_bytes, "Sessions": snap.sessions,
                "Tracks": [variant_dict(t) for t in snap.tracks], "WriteSpeeds": list(snap.write_speeds),
                "Busy": running is not None, "CurrentJob": job_path(running.id) if running else "/",
                "Vendor": self.Vendor, "Model": self.Model, "Revision": self.Revision, "Serial": self.Serial}

    # ------------------------------------------------------------------ properties

    def _identity(self, field: str) -> str:
        identity = self.drive.snapshot.identity
        return getattr(identity, field) if identity is not None else ""

    @dbus_property(access=R)
    def Id(self) -> "s":
        return self.drive.id

    @dbus_property(access=R)
    def Vendor(self) -> "s":
        return self._identity("vendor")

    @dbus_property(access=R)
    def Model(self) -> "s":
        return self._identity("model")

    @dbus_property(access=R)
    def Revision(self) -> "s":
        return self._identity("revision")

    @dbus_property(access=R)
    def Serial(self) -> "s":
        return self._identity("serial")

    @dbus_property(access=R)
    def DeviceNodes(self) -> "as":
        return list(self.drive.nodes)

    @dbus_property(access=R)
    def Virtual(self) -> "b":
        return self.drive.virtual is not None

    @dbus_property(access=R)
    def Group(self) -> "s":
        return self.drive.group

    @dbus_property(access=R)
    def Profiles(self) -> "as":
        return list(self.drive.snapshot.profiles)

    @dbus_property(access=R)
    def MediaType(self) -> "s":
        return self.drive.snapshot.media_type

    @dbus_property(access=R)
    def MediaState(self) -> "s":
        return self.drive.snapshot.media_state

    @dbus_property(access=R)
    def Capacity(self) -> "t":
        return self.drive.snapshot.capacity

    @dbus_property(access=R)
    def FreeBytes(self) -> "t":
        return self.drive.snapshot.free_bytes

    @dbus_property(access=R)
    def Sessions(self) -> "u":
        return self.drive.snapshot.sessions

    @dbus_property(access=R)
    def Tracks(self) -> "aa{sv}":
        return [variant_dict(t) for t in self.drive.snapshot.tracks]

    @dbus_property(access=R)
    def WriteSpeeds(self) -> "au":
        return list(self.drive.snapshot.write_speeds)

    @dbus_property(access=R)
    def Busy(self) -> "b":
        return self._service.queue.running_on(self.drive.id) is not None

    @dbus_property(access=R)
    def CurrentJob(self) -> "o":
        running = self._service.queue.running_on(self.drive.id)
        return job_path(running.id) if running else "/"

    # ------------------------------------------------------------------ methods

    @method()
    @dbus_errors
    async def Write(self, image: "h", options: "a{sv}") -> "o":
        return await self._file_job("write", image, options, opts.WRITE)

    @method()
    @dbus_errors
    async def Verify(self, image: "h", options: "a{sv}") -> "o":
        return await self._file_job("verify", image, options, opts.VERIFY)

    @method()
    @dbus_errors
    async def Rip(self, out: "h", options: "a{sv}") -> "o":
        return await self._file_job("rip", out, options, opts.RIP)

    @method()
    @dbus_errors
    async def Blank(self, options: "a{sv}") -> "o":
        return await self._service.submit(self.drive.id, "blank", None, check(options, opts.BLANK, "Blank"))

    @method()
    @dbus_errors
    async def Format(self, options: "a{sv}") -> "o":
        return await self._service.submit(self.drive.id, "format", None, check(options, opts.FORMAT, "Format"))

    async def _file_job(self, kind: str, fd: int, options: dict[str, Any], spec: dict[str, type]) -> str:
        """Own ``fd`` from here on: it is closed on every refusal, else by the job."""
        try:
            checked = check(options, spec, kind.capitalize())
            if kind == "rip":
                os.fstat(fd)
            else:
                check_image_fd(fd)
        except BaseException:
            os.close(fd)
            raise
        return await self._service.submit(self.drive.id, kind, fd, checked)

    @method()
    @dbus_errors
    async def Eject(self, options: "a{sv}"):
        check(options, opts.EJECT, "Eject")
        await self._mechanics("eject the tray", self.drive.eject)

    @method()
    @dbus_errors
    async def Load(self, options: "a{sv}"):
        media = check(options, opts.LOAD, "Load").get("media")
        if media is not None and media not in MEDIA_KINDS:
            raise InvalidOption(f"Load option media {media!r} is not a medium burnd can emulate; use one of "
                                f"{', '.join(MEDIA_KINDS)}")
        await self._mechanics("load a disc", lambda: self.drive.load(media))

    async def _mechanics(self, action: str, work: Callable[[], None]) -> None:
        """Run tray work on the drive's thread — or, while its job waits for a blank disc (and
        so holds that thread), on another one: that is how the waited-for disc gets in."""
        await self._service.authority.require(action)
        running = self._service.queue.running_on(self.drive.id)
        loop = asyncio.get_running_loop()
        if running is None:
            await loop.run_in_executor(self.drive.executor, work)
            await loop.run_in_executor(self.drive.executor, self.drive.refresh)
            self.publish()
        elif running.props.get("Phase") == WAITING_FOR_BLANK:
            await loop.run_in_executor(None, work)
        else:
            raise DeviceBusy(f"{self.drive.id} is running job {running.id}; wait for it to end or cancel it, "
                             f"then {action}")
