"""The Robot object: a ManagedRobot's state as properties; Write starts a batch job.

Methods check the caller, the options and the fd, then hand over to the batches (Write,
Pause, Resume) or to the robot's own thread (QueryStatus, Simulate): no robot logic here.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from dbus_fast.service import PropertyAccess, dbus_property, method

from burnd.devices.drive import NotVirtual
from burnd.devices.robot import ManagedRobot
from burnd.jobs import options as opts
from burnd.jobs.errors import InvalidOption, NoSuchDrive
from burnd.jobs.files import check_image_fd, fd_path
from burnd.jobs.options import check
from burnd.service import INTERFACE, ROBOTS_PATH
from burnd.service.errors import dbus_errors
from burnd.service.published import PublishedInterface
from burnd.service.job import job_path
from burnd.service.values import variant_dict

if TYPE_CHECKING:
    from burnd.service.manager import Service

R = PropertyAccess.READ


def robot_path(name: str) -> str:
    return f"{ROBOTS_PATH}/{name}"


class RobotInterface(PublishedInterface):
    def __init__(self, robot: ManagedRobot, service: Service) -> None:
        super().__init__(INTERFACE + ".Robot")
        self.robot = robot
        self.path = robot_path(robot.name)
        self._service = service

    def values(self) -> dict[str, Any]:
        """Every changeable property's current value (what PropertiesChanged compares)."""
        robot = self.robot
        return {"State": robot.state, "Detail": robot.detail, "ErrorName": self.ErrorName,
                "Bins": self.Bins, "CurrentJob": self.CurrentJob, "Drives": self.Drives}

    # ------------------------------------------------------------------ properties

    @dbus_property(access=R)
    def Name(self) -> "s":
        return self.robot.name

    @dbus_property(access=R)
    def Protocol(self) -> "s":
        return self.robot.config.protocol

    @dbus_property(access=R)
    def Port(self) -> "s":
        return self.robot.config.port

    @dbus_property(access=R)
    def Virtual(self) -> "b":
        return self.robot.virtual is not None

    @dbus_property(access=R)
    def Drives(self) -> "ao":
        paths = []
        for name in self.robot.config.drives:
            try:
                paths.append(self._service.find_drive(name).path)
            except NoSuchDrive:
                paths.append("/")
        return paths

    @dbus_property(access=R)
    def State(self) -> "s":
        return self.robot.state

    @dbus_property(access=R)
    def Detail(self) -> "s":
        return self.robot.detail

    @dbus_property(access=R)
    def ErrorName(self) -> "s":
        return self.robot.error.dbus_error if self.robot.error is not None else ""

    @dbus_property(access=R)
    def Bins(self) -> "a{sv}":
        return variant_dict({b.value: n for b, n in self.robot.bins.items()})

    @dbus_property(access=R)
    def CurrentJob(self) -> "o":
        return job_path(self.robot.batch_job) if self.robot.batch_job is not None else "/"

    # ------------------------------------------------------------------ methods

    @method()
    @dbus_errors
    async def Write(self, image: "h", options: "a{sv}") -> "o":
        try:
            checked = check(options, opts.ROBOT_WRITE, "Robot.Write")
            check_image_fd(image)
            caller = await self._service.authority.require("write with a robot")
        except BaseException:
            os.close(image)
            raise
        job = self._service.batches.submit(self.robot, image, fd_path(image), checked, caller.uid, caller.gid,
                                           caller.groups)
        return job_path(job.id)

    @method()
    @dbus_errors
    async def QueryStatus(self, options: "a{sv}") -> "a{sv}":
        check(options, opts.NONE, "QueryStatus")
        await self._service.authority.require("ask a robot for its status")
        robot = self.robot
        if robot.batch_job is None:
            status = await asyncio.get_running_loop().run_in_executor(robot.executor, robot.query)
            self.publish()
            return variant_dict(status.to_dict())
        bins = {b.value: n for b, n in robot.bins.items()}
        return variant_dict({"ready": robot.error is None, "detail": robot.detail, "raw": "", "bins": bins})

    @method()
    @dbus_errors
    async def Pause(self, options: "a{sv}"):
        check(options, opts.NONE, "Pause")
        await self._service.authority.require("pause a robot")
        self._service.batches.pause(self.robot)

    @method()
    @dbus_errors
    async def Resume(self, options: "a{sv}"):
        check(options, opts.NONE, "Resume")
        await self._service.authority.require("resume a robot")
        self._service.batches.resume(self.robot)

    @method()
    @dbus_errors
    async def Simulate(self, action: "s", options: "a{sv}"):
        check(options, opts.NONE, "Simulate")
        await self._service.authority.require("operate a virtual robot")
        virtual = self.robot.virtual
        if virtual is None:
            raise NotVirtual(f"robot {self.robot.name} is a real robot; walk over to it instead")
        try:
            virtual.simulate(action)
        except ValueError as exc:
            raise InvalidOption(str(exc)) from None
        self.publish()
