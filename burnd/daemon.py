"""Wiring: the bus, the store and queue, the drives (virtual and udev), signals, shutdown.

Start order matters for clients: every object is exported and every queued job is back in
its queue before the bus name is requested, so the first caller sees a complete daemon.
Robots come after the drives: a virtual robot brings its own (virtual burners in its bays).
Attached images (VirtualDrive objects) stay attached when burnd stops and are re-adopted
at the next start.
SIGTERM stops new work and waits for running jobs (``shutdown_timeout``); a second signal
or the timeout cancels them and marks them interrupted. Robot batches load no new disc and
end as interrupted once the discs in their drives are done. The engine unlocks the tray on
every exit path, so no drive is left locked.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
from pathlib import Path
from typing import Any

from dbus_fast import AuthError, BusType, DBusError, RequestNameReply
from dbus_fast.aio import MessageBus

from burnd.config import Config, ConfigError, VirtualBurnerConfig, virtual_burner
from burnd.devices import udev
from burnd.devices.drive import ManagedDrive, VirtualSpec, remove_backing, virtual_drive
from burnd.devices.robot import ManagedRobot
from burnd.errors import BurndError, DeviceBusy
from burnd.jobs.batches import BatchJobs
from burnd.jobs.errors import InvalidOption, NoSuchDrive
from burnd.jobs.queue import JobQueue
from burnd.jobs.store import JobStore, StoredBurner
from burnd.service import BUS_NAME, ROOT_PATH
from burnd.service.auth import Authority, note_sender
from burnd.service.manager import Service
from burnd.robot.virtual import VirtualRobot, VirtualRobotConfig
from burnd.service.virtual import AttachedImages
from burnd.virtual.watch import AutoAttacher

log = logging.getLogger("burnd")


class StartupError(BurndError):
    """burnd cannot start: its bus, its name or its state directory is unavailable."""

    dbus_name = "StartupFailed"


def connect_args(bus: str) -> dict[str, Any]:
    if bus == "system":
        return {"bus_type": BusType.SYSTEM}
    if bus == "session":
        return {"bus_type": BusType.SESSION}
    return {"bus_address": bus}


class Daemon:
    def __init__(self, config: Config, extra_burners: tuple[VirtualBurnerConfig, ...] = (),
                 extra_robots: tuple[VirtualRobotConfig, ...] = ()) -> None:
        self.config = config
        self.extra_burners = extra_burners
        self.extra_robots = extra_robots
        self.state_dir = Path(config.state_dir)
        self.drives: dict[str, ManagedDrive] = {}
        self.robots: dict[str, ManagedRobot] = {}
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        self._watch: udev.UdevWatch | None = None
        self._auto: AutoAttacher | None = None

    # ------------------------------------------------------------------ main

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self.store = JobStore(self.state_dir / "jobs.sqlite")
        except (OSError, sqlite3.Error) as exc:
            raise StartupError(f"cannot use the state directory {self.state_dir} ({exc}); create it writable for "
                               f"burnd or pass --state-dir") from None
        try:
            self.bus = await MessageBus(negotiate_unix_fd=True, **connect_args(self.config.bus)).connect()
        except (OSError, DBusError, AuthError) as exc:
            raise StartupError(f"cannot connect to the {self.config.bus} bus ({exc}); start dbus, or pick another "
                               f"bus with --bus session|system|ADDRESS") from None
        self.bus.add_message_handler(note_sender)
        self.service = Service(self.bus, Authority(self.bus, self.config.group), self, self.config.job_history)
        self.queue = JobQueue(self.store, self.drives.get, self.service, loop)
        self.batches = BatchJobs(self.queue, lambda name: self.service.find_drive(name).drive, self.service, loop)
        self.service.attach(self.queue, self.batches)
        self.bus.export(ROOT_PATH, self.service.manager)
        await self._start_virtual_drives(loop)
        for job in self.queue.recover(self.config.job_history):
            self.service.job_added(job)
        await self._add_virtual_burners()
        await self._add_robots()
        self._start_udev(loop)
        reply = await self.bus.request_name(BUS_NAME)
        if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
            raise StartupError(f"another process owns {BUS_NAME} on this bus; stop it (systemctl stop burnd) first")
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._signal)
        log.info("burnd ready on the %s bus with %d drive(s)", self.config.bus, len(self.drives))
        await self._stop.wait()
        await self._shutdown()

    def _signal(self) -> None:
        if self._stop.is_set():
            log.warning("second signal: interrupting running jobs")
            self._force.set()
        else:
            log.info("stopping: no new jobs; running jobs finish first (signal again to interrupt them)")
            self._stop.set()

    async def _shutdown(self) -> None:
        timeout = self.config.shutdown_timeout
        await asyncio.gather(self.batches.shutdown(timeout, self._force), self.queue.shutdown(timeout, self._force))
        if self._watch is not None:
            self._watch.stop()
        if self._auto is not None:
            await asyncio.to_thread(self._auto.stop)
        for drive in list(self.drives.values()):
            await asyncio.get_running_loop().run_in_executor(None, drive.close)
        for robot in self.robots.values():
            await asyncio.to_thread(robot.close)
        self.bus.disconnect()
        await self.bus.wait_for_disconnect()
        self.store.close()
        log.info("burnd stopped")

    # ------------------------------------------------------------------ attached images

    async def _start_virtual_drives(self, loop: asyncio.AbstractEventLoop) -> None:
        """Re-adopt the images attached before a restart (they outlive burnd on purpose: a
        mounted image must not vanish because the daemon was upgraded or crashed), then apply
        the ``auto_attach`` rules."""
        images = AttachedImages(self.bus, self.service.authority, str(self.state_dir / "virtual"), self.config.group,
                                loop)
        recovery = await asyncio.to_thread(images.drives.recover)
        for line in recovery.cleaned:
            log.warning("virtual drives: %s", line)
        self.service.images = images
        images.adopt()
        if self.config.auto_attach:
            auto = AutoAttacher(images.drives, self.config.auto_attach)
            try:
                await asyncio.to_thread(auto.start)
            except (OSError, ImportError) as exc:
                log.warning("auto_attach rules are off: cannot watch devices, mounts or folders (%s)", exc)
                return
            self._auto = auto

    # ------------------------------------------------------------------ drives

    async def add_drive(self, drive: ManagedDrive) -> ManagedDrive:
        self.drives[drive.id] = drive
        await asyncio.get_running_loop().run_in_executor(drive.executor, drive.refresh)
        self.service.add_drive(drive)
        self.queue.start_worker(drive)
        return drive

    async def drop_drive(self, drive_id: str) -> ManagedDrive | None:
        drive = self.drives.pop(drive_id, None)
        if drive is None:
            return None
        await self.queue.stop_worker(drive_id)
        self.service.remove_drive(drive_id)
        await asyncio.get_running_loop().run_in_executor(None, drive.close)
        return drive

    def _spec(self, name: str, burner: VirtualBurnerConfig) -> VirtualSpec:
        backing = Path(burner.backing) if burner.backing else self.state_dir / "virtual" / f"{name}.img"
        return VirtualSpec(burner.media, burner.size, backing, burner.autoload, burner.faults)

    async def _add_virtual_burners(self) -> None:
        configured = [(b.name or f"vburner{n}", b) for n, b in enumerate(self.config.virtual_burners)]
        flagged = [(b.name or f"virtual{n}", b) for n, b in enumerate(self.extra_burners)]
        stored = [(s.name, VirtualBurnerConfig(s.media, s.size, None, s.name, s.group, s.autoload, s.faults))
                  for s in self.store.burners()]
        for name, burner in configured + flagged + stored:
            if name in self.drives:
                log.warning("virtual burner %s is defined twice; the first definition wins", name)
                continue
            await self.add_drive(virtual_drive(name, self._spec(name, burner), burner.group))

    # ------------------------------------------------------------------ robots

    async def _add_robots(self) -> None:
        """Virtual robots first (each with a virtual burner per bay), then the configured ones; a
        robot's drives are looked up when a batch starts, so real ones may appear later."""
        for config in self.config.virtual_robots + self.extra_robots:
            if config.name in self.robots or any(d in self.drives for d in config.drive_ids()):
                log.warning("virtual robot %s clashes with another robot or drive name; skipped", config.name)
                continue
            virtual = await asyncio.to_thread(VirtualRobot, config, self.state_dir / "robots" / config.name)
            for drive_id, sensor in zip(config.drive_ids(), virtual.bays):
                spec = VirtualSpec(config.media, config.size, self.state_dir / "robots" / f"{drive_id}.manual.img")
                await self.add_drive(ManagedDrive(drive_id, burner=sensor.burner, transport=sensor, virtual=spec))
            self._add_robot(ManagedRobot(virtual.robot_config, virtual))
        for robot in self.config.robots:
            if robot.name in self.robots:
                log.warning("robot %s is defined twice; the first definition wins", robot.name)
                continue
            self._add_robot(ManagedRobot(robot))

    def _add_robot(self, robot: ManagedRobot) -> None:
        self.robots[robot.name] = robot
        self.service.add_robot(robot)

    async def create_virtual(self, media: str, options: dict[str, Any]) -> ManagedDrive:
        try:
            burner = virtual_burner({"media": media, **options}, "CreateVirtualBurner")
        except ConfigError as exc:
            raise InvalidOption(str(exc)) from None
        name = burner.name or next(f"vb{n}" for n in range(len(self.drives) + 1) if f"vb{n}" not in self.drives)
        if name in self.drives:
            raise InvalidOption(f"a drive named {name!r} exists already; choose another name or remove it first")
        spec = self._spec(name, burner)
        remove_backing(spec)
        drive = await self.add_drive(virtual_drive(name, spec, burner.group))
        self.store.add_burner(StoredBurner(name, burner.media, burner.size, burner.group, burner.autoload,
                                           burner.faults))
        return drive

    async def remove_virtual(self, drive_id: str) -> None:
        drive = self.drives.get(drive_id)
        if drive is None or drive.virtual is None:
            raise NoSuchDrive(f"{drive_id} is not a virtual burner; only virtual burners can be removed")
        if self.queue.queued_on(drive_id):
            raise DeviceBusy(f"{drive_id} has queued or running jobs; cancel them first, then remove it")
        await self.drop_drive(drive_id)
        self.store.remove_burner(drive_id)
        remove_backing(drive.virtual)

    # ------------------------------------------------------------------ udev

    def _start_udev(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._watch = udev.UdevWatch(lambda event: loop.create_task(self._uevent(event)),
                                         wanted=lambda sys_name: bool(udev.SR_NAME.match(sys_name)))
            found = udev.enumerate_optical(self._watch.context)
        except (OSError, ImportError) as exc:
            log.warning("no udev/sysfs access (%s); only virtual burners are available", exc)
            return
        for drive in found:
            loop.create_task(self._add_real(drive))
        self._watch.start(loop)

    async def _add_real(self, found: udev.FoundDrive) -> None:
        drive_id = udev.drive_id(found.sys_name, found.serial)
        if drive_id in self.drives:
            return
        udev.enable_media_polling(found.sys_name, self.config.media_poll_msecs)
        nodes = tuple(n for n in (found.sg_node, found.node) if n) + found.links
        await self.add_drive(ManagedDrive(drive_id, nodes=nodes, sys_name=found.sys_name))

    async def _uevent(self, event: udev.UEvent) -> None:
        if not udev.is_optical(event.sys_name, event.properties):
            return
        log.debug("uevent %s %s %s", event.action, event.sys_name,
                  " ".join(f"{k}={v}" for k, v in event.properties.items() if k.startswith("DISK_")))
        drive = next((d for d in self.drives.values() if d.sys_name == event.sys_name), None)
        if event.action == "remove" and drive is not None:
            await self.drop_drive(drive.id)
        elif event.action == "add" and drive is None and self._watch is not None:
            for found in udev.enumerate_optical(self._watch.context):
                if found.sys_name == event.sys_name:
                    await self._add_real(found)
        elif event.action == "change" and drive is not None:
            drive.media_changed()
            await asyncio.get_running_loop().run_in_executor(drive.executor, drive.refresh)
            self.service.drive_changed(drive)
