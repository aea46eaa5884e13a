"""``burnctl notify``: a user-session agent that turns burnd's job signals into desktop
notifications (org.freedesktop.Notifications) — when one of the user's jobs ends, and when it
waits for a blank disc. Jobs of other users are none of its business."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from burnctl.client import JOB, PROPS, Daemon, plain
from burnctl.exitcodes import CliError, Exit
from burnctl.output import Output
from burnctl.views import job_view, result_line

NOTIFICATIONS = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
WAITING = "waiting for blank medium"
TITLES = {"succeeded": "Disc job finished", "failed": "Disc job failed", "cancelled": "Disc job cancelled",
          "interrupted": "Disc job interrupted"}


def completion_notice(job: dict[str, Any]) -> tuple[str, str, int]:
    """(summary, body, urgency) for a finished job; urgency 2 (critical) for failures."""
    state = job.get("state", "")
    return TITLES.get(state, "Disc job ended"), result_line(job), 1 if state in ("succeeded", "cancelled") else 2


def blank_notice(job: dict[str, Any]) -> tuple[str, str, int]:
    copy = f" for copy {job.get('copy')} of {job.get('copies')}" if job.get("copies", 1) > 1 else ""
    return "Insert a blank disc", f"Drive {job.get('drive', '')} is waiting for a blank disc{copy}.", 2


class Notifier:
    def __init__(self, daemon: Daemon, desktop: MessageBus, out: Output, uid: int) -> None:
        self.daemon = daemon
        self.desktop = desktop
        self.out = out
        self.uid = uid
        self._waiting: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.daemon.bus.add_message_handler(self._on_message)
        await self.daemon.add_match(f"type='signal',sender='org.burnd.Burnd1',interface='{JOB}',member='Completed'")
        await self.daemon.add_match(f"type='signal',sender='org.burnd.Burnd1',interface='{PROPS}',"
                                    f"member='PropertiesChanged',arg0='{JOB}'")

    def _on_message(self, msg: Message) -> None:
        if msg.message_type is not MessageType.SIGNAL or not msg.path or "/jobs/" not in msg.path:
            return
        if msg.member == "Completed":
            self._spawn(self._completed(msg.path))
        elif msg.member == "PropertiesChanged" and plain(msg.body[1]).get("Phase") == WAITING:
            self._spawn(self._needs_blank(msg.path))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mine(self, path: str) -> dict[str, Any] | None:
        job = job_view(path, await self.daemon.get_all(path, JOB))
        return job if job.get("started_by_uid") == self.uid else None

    async def _completed(self, path: str) -> None:
        self._waiting.discard(path)
        job = await self._mine(path)
        if job:
            await self.show(*completion_notice(job))

    async def _needs_blank(self, path: str) -> None:
        if path in self._waiting:
            return
        self._waiting.add(path)
        job = await self._mine(path)
        if job:
            await self.show(*blank_notice(job))

    async def show(self, summary: str, body: str, urgency: int) -> None:
        self.out.info(f"notify: {summary}: {body}")
        reply = await self.desktop.call(Message(
            destination=NOTIFICATIONS, path=NOTIFICATIONS_PATH, interface=NOTIFICATIONS, member="Notify",
            signature="susssasa{sv}i",
            body=["burnctl", 0, "media-optical", summary, body, [], {"urgency": Variant("y", urgency)}, -1]))
        if reply is None or reply.message_type is MessageType.ERROR:
            self.out.error(f"the desktop refused the notification: {reply.body[0] if reply and reply.body else ''}")


async def connect_desktop(address: str | None) -> MessageBus:
    try:
        if address:
            return await MessageBus(bus_address=address).connect()
        return await MessageBus(bus_type=BusType.SESSION).connect()
    except Exception as exc:
        raise CliError(f"cannot reach the session bus for notifications ({exc}); run `burnctl notify` inside "
                       "your desktop session", Exit.UNREACHABLE) from exc


async def run(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    """Run until SIGINT/SIGTERM or until burnd's bus goes away."""
    desktop = await connect_desktop(args.session_bus)
    notifier = Notifier(daemon, desktop, out, os.getuid())
    await notifier.start()
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    out.info("waiting for job events")
    gone = asyncio.ensure_future(daemon.bus.wait_for_disconnect())
    try:
        await asyncio.wait([stop, gone], return_when=asyncio.FIRST_COMPLETED)
    finally:
        desktop.disconnect()
    return Exit.UNREACHABLE if gone.done() and not stop.done() else Exit.OK
