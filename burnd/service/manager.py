"""The Manager object and the Service that ties D-Bus objects to the queue and the drives.

Service implements the queue's QueueEvents (and the batches' RobotEvents): a job added,
changed or finished becomes an exported Job object, a throttled PropertiesChanged, a Completed
signal; a drive or robot whose state changed republishes its properties.
"""

from __future__ import annotations

import collections
import os
from typing import Any, Protocol, TypeVar

from dbus_fast.aio import MessageBus
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method

import burnd
from burnd.devices.drive import ManagedDrive
from burnd.devices.robot import ManagedRobot
from burnd.jobs import options as opts
from burnd.jobs.batches import ROBOT_WRITE, BatchJobs
from burnd.jobs.errors import NoSuchDrive, NoSuchGroup
from burnd.jobs.files import check_image_fd, fd_path
from burnd.jobs.options import check
from burnd.jobs.queue import JobQueue, LiveJob
from burnd.service import INTERFACE
from burnd.service.auth import Authority
from burnd.service.drive import DriveInterface, drive_path
from burnd.service.errors import dbus_errors
from burnd.service.job import JobInterface
from burnd.service.robot import RobotInterface
from burnd.service.virtual import AttachedImages

R = PropertyAccess.READ
Published = TypeVar("Published", DriveInterface, RobotInterface)


class VirtualBurners(Protocol):
    """What the daemon does for CreateVirtualBurner / RemoveVirtualBurner."""

    async def create_virtual(self, media: str, options: dict[str, Any]) -> ManagedDrive: ...
    async def remove_virtual(self, drive_id: str) -> None: ...


class Service:
    """Owns the exported objects. The queue reports to the service and the service submits to
    the queue, so the daemon creates the service first and hands it the queue (``attach``)."""

    def __init__(self, bus: MessageBus, authority: Authority, burners: VirtualBurners, history: int = 1000) -> None:
        self.bus = bus
        self.authority = authority
        self.burners = burners
        self.history = history
        self._ended: collections.deque[int] = collections.deque()
        self._queue: JobQueue | None = None
        self._batches: BatchJobs | None = None
        self.drives: dict[str, DriveInterface] = {}
        self.robots: dict[str, RobotInterface] = {}
        self.jobs: dict[int, JobInterface] = {}
        self.images: AttachedImages | None = None
        self.manager = ManagerInterface(self)

    def attach(self, queue: JobQueue, batches: BatchJobs) -> None:
        self._queue = queue
        self._batches = batches

    @property
    def queue(self) -> JobQueue:
        assert self._queue is not None, "Service.attach(queue, batches) first"
        return self._queue

    @property
    def batches(self) -> BatchJobs:
        assert self._batches is not None, "Service.attach(queue, batches) first"
        return self._batches

    # ------------------------------------------------------------------ drives

    def add_drive(self, drive: ManagedDrive) -> DriveInterface:
        return self._export(DriveInterface(drive, self), self.drives, drive.id, "Drives")

    def remove_drive(self, drive_id: str) -> None:
        interface = self.drives.pop(drive_id, None)
        if interface is not None:
            self.bus.unexport(interface.path, interface)
            self.manager.emit_properties_changed({"Drives": self.manager.Drives})

    def drive_changed(self, drive: ManagedDrive) -> None:
        _republish(self.drives, drive.id)

    # ------------------------------------------------------------------ robots

    def add_robot(self, robot: ManagedRobot) -> RobotInterface:
        return self._export(RobotInterface(robot, self), self.robots, robot.name, "Robots")

    def robot_changed(self, robot: ManagedRobot) -> None:
        _republish(self.robots, robot.name)

    def _export(self, interface: Published, table: dict[str, Published], key: str, listing: str) -> Published:
        """Publish a new object and tell clients the Manager's ``listing`` property grew."""
        table[key] = interface
        interface.publish()
        self.bus.export(interface.path, interface)
        self.manager.emit_properties_changed({listing: getattr(self.manager, listing)})
        return interface

    def find_drive(self, name: str) -> DriveInterface:
        """By Id, by object path, or by device node (symlinks such as /dev/disk/by-id resolved)."""
        if name in self.drives:
            return self.drives[name]
        for interface in self.drives.values():
            if name == interface.path:
                return interface
        real = os.path.realpath(name) if name.startswith("/dev/") else None
        for interface in self.drives.values():
            nodes = interface.drive.nodes
            if name in nodes or (real is not None and real in {os.path.realpath(n) for n in nodes}):
                return interface
        raise NoSuchDrive(f"no drive {name!r} is managed by burnd; list them with the Manager's Drives property "
                          f"(busctl introspect org.burnd.Burnd1 /org/burnd/Burnd1)")

    # ------------------------------------------------------------------ jobs

    async def submit(self, drive_id: str, kind: str, fd: int | None, options: dict[str, Any], copy: int = 1,
                     copies: int | None = None) -> str:
        """Authorize the caller, commit the job, return its path; ``fd`` is closed on refusal."""
        try:
            caller = await self.authority.require(f"{kind} on a drive")
        except BaseException:
            if fd is not None:
                os.close(fd)
            raise
        total = copies if copies is not None else options.get("copies", 1)
        path = fd_path(fd) if fd is not None else None
        job = self.queue.submit(drive_id, kind, options, fd, path, caller.uid, caller.gid, caller.groups,
                                copy, total)
        return self.jobs[job.id].path

    def job_added(self, job: LiveJob) -> None:
        runner = self.batches if job.record.kind == ROBOT_WRITE else self.queue
        interface = JobInterface(job, runner, self.authority)
        self.jobs[job.id] = interface
        self.bus.export(interface.path, interface)
        if job.record.terminal:
            self._retire(job.id)

    def job_changed(self, job: LiveJob, changes: dict[str, Any]) -> None:
        interface = self.jobs.get(job.id)
        if interface is not None:
            interface.changed(changes)

    def job_finished(self, job: LiveJob, success: bool, message: str) -> None:
        interface = self.jobs.get(job.id)
        if interface is not None:
            interface.complete(success, message)
            self._retire(job.id)

    def _retire(self, job_id: int) -> None:
        """Keep the newest ``history`` ended jobs exported; older ones live on in the store only."""
        self._ended.append(job_id)
        while len(self._ended) > self.history:
            old = self._ended.popleft()
            interface = self.jobs.pop(old, None)
            if interface is not None:
                self.bus.unexport(interface.path, interface)
            self.queue.forget(old)


def _republish(table: dict[str, Any], key: str) -> None:
    interface = table.get(key)
    if interface is not None:
        interface.publish()


class ManagerInterface(ServiceInterface):
    def __init__(self, service: Service) -> None:
        super().__init__(INTERFACE + ".Manager")
        self._service = service

    @dbus_property(access=R)
    def Version(self) -> "s":
        return burnd.__version__

    @dbus_property(access=R)
    def Drives(self) -> "ao":
        return sorted(interface.path for interface in self._service.drives.values())

    @dbus_property(access=R)
    def Robots(self) -> "ao":
        return sorted(interface.path for interface in self._service.robots.values())

    @method()
    @dbus_errors
    async def GetDriveByDevice(self, device: "s", options: "a{sv}") -> "o":
        check(options, opts.NONE, "GetDriveByDevice")
        return self._service.find_drive(device).path

    @method()
    @dbus_errors
    async def CreateVirtualBurner(self, media: "s", options: "a{sv}") -> "o":
        checked = check(options, opts.VIRTUAL, "CreateVirtualBurner")
        await self._service.authority.require("create virtual burners")
        drive = await self._service.burners.create_virtual(media, checked)
        return drive_path(drive.id)

    @method()
    @dbus_errors
    async def RemoveVirtualBurner(self, drive: "o", options: "a{sv}"):
        check(options, opts.NONE, "RemoveVirtualBurner")
        await self._service.authority.require("remove virtual burners")
        interface = self._service.find_drive(drive)
        await self._service.burners.remove_virtual(interface.drive.id)

    @method()
    @dbus_errors
    async def AttachImage(self, image: "h", options: "a{sv}") -> "o":
        assert self._service.images is not None, "the daemon sets Service.images before it requests the bus name"
        return await self._service.images.attach(image, options)

    @method()
    @dbus_errors
    async def WriteToGroup(self, group: "s", image: "h", options: "a{sv}") -> "ao":
        try:
            checked = check(options, opts.WRITE, "WriteToGroup")
            members = sorted((i.drive for i in self._service.drives.values() if group and i.drive.group == group),
                             key=lambda d: d.id)
            if not members:
                raise NoSuchGroup(f"no drive is in the group {group!r}; set group= on virtual burners or in the "
                                  f"configuration, or write to one drive with Drive.Write")
            copies = checked.pop("copies", len(members))
            check_image_fd(image)
            await self._service.authority.require("write to a drive group")
        except BaseException:
            os.close(image)
            raise
        try:
            return await self._spread(members, image, checked, copies)
        finally:
            os.close(image)

    async def _spread(self, members: list[ManagedDrive], image: int, options: dict[str, Any],
                      copies: int) -> list[str]:
        """One job per copy, each on the group drive with the least queued work."""
        queue = self._service.queue
        load = {d.id: queue.queued_on(d.id) for d in members}
        paths = []
        for copy in range(1, copies + 1):
            target = min(members, key=lambda d: (load[d.id], d.id))
            load[target.id] += 1
            paths.append(await self._service.submit(target.id, "write", os.dup(image), {**options, "copies": 1},
                                                    copy, copies))
        return paths

