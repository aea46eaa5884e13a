"""The Job object: properties mirror the queue's LiveJob; PropertiesChanged at most 10/s.

A robot-write batch is a Job too: its Robot is set and its Drive is "/" (it uses all the
robot's drives), Discs lists its discs, and Cancel goes to the batches instead of the queue.
While a batch is paused by a robot fault, ErrorName/ErrorMessage say why (the props carry
that transient error; the record only ever holds the job's final one).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method, signal

from burnd.jobs import options as opts
from burnd.errors import NotAuthorized
from burnd.jobs.options import check
from burnd.jobs.batches import ROBOT_WRITE
from burnd.jobs.queue import LiveJob
from burnd.jobs.store import QUEUED, RUNNING
from burnd.service import DRIVES_PATH, INTERFACE, JOBS_PATH, ROBOTS_PATH
from burnd.service.auth import Authority, may_cancel
from burnd.service.errors import dbus_errors
from burnd.service.values import variant_dict

MIN_INTERVAL = 0.1
"""Seconds between two PropertiesChanged of one job: ≤ 10 per second."""

R = PropertyAccess.READ


def job_path(job_id: int) -> str:
    return f"{JOBS_PATH}/{job_id}"


class Canceller(Protocol):
    """Whoever runs the job: the queue, or the batches for a robot-write job."""

    def cancel(self, job: LiveJob) -> None: ...


class JobInterface(ServiceInterface):
    def __init__(self, job: LiveJob, runner: Canceller, authority: Authority) -> None:
        super().__init__(INTERFACE + ".Job")
        self.job = job
        self.path = job_path(job.id)
        self._runner = runner
        self._authority = authority
        self._pending: dict[str, Any] = {}
        self._last_emit = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ change emission

    def changed(self, changes: dict[str, Any]) -> None:
        self._pending.update(changes)
        if self._timer is not None:
            return
        wait = self._last_emit + MIN_INTERVAL - time.monotonic()
        if wait <= 0:
            self.flush()
        else:
            self._timer = asyncio.get_running_loop().call_later(wait, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        out = {name: _wire(name, value) for name, value in pending.items()}
        if "State" in pending:
            out["Cancelable"] = self.Cancelable
        self._last_emit = time.monotonic()
        self.emit_properties_changed(out)

    def complete(self, success: bool, message: str) -> None:
        self.flush()
        self.Completed(success, message)

    # ------------------------------------------------------------------ D-Bus

    @dbus_property(access=R)
    def Kind(self) -> "s":
        return self.job.record.kind

    @property
    def _batch(self) -> bool:
        return self.job.record.kind == ROBOT_WRITE

    @dbus_property(access=R)
    def Drive(self) -> "o":
        return "/" if self._batch else f"{DRIVES_PATH}/{self.job.record.drive}"

    @dbus_property(access=R)
    def Robot(self) -> "o":
        return f"{ROBOTS_PATH}/{self.job.record.drive}" if self._batch else "/"

    @dbus_property(access=R)
    def State(self) -> "s":
        return self.job.record.state

    @dbus_property(access=R)
    def Phase(self) -> "s":
        return self.job.props["Phase"]

    @dbus_property(access=R)
    def Progress(self) -> "d":
        return float(self.job.props["Progress"])

    @dbus_property(access=R)
    def Bytes(self) -> "t":
        return int(self.job.props["Bytes"])

    @dbus_property(access=R)
    def TotalBytes(self) -> "t":
        return int(self.job.props["TotalBytes"])

    @dbus_property(access=R)
    def Rate(self) -> "d":
        return float(self.job.props["Rate"])

    @dbus_property(access=R)
    def StartTime(self) -> "t":
        started = self.job.record.started
        return int(started * 1e6) if started else 0

    @dbus_property(access=R)
    def ExpectedEndTime(self) -> "t":
        return int(self.job.props["ExpectedEndTime"])

    @dbus_property(access=R)
    def BufferFill(self) -> "d":
        return float(self.job.props["BufferFill"])

    @dbus_property(access=R)
    def Copy(self) -> "u":
        return int(self.job.props["Copy"])

    @dbus_property(access=R)
    def Copies(self) -> "u":
        return self.job.record.copies

    @dbus_property(access=R)
    def Discs(self) -> "aa{sv}":
        return [variant_dict(disc) for disc in self.job.props.get("Discs", ())]

    @dbus_property(access=R)
    def Result(self) -> "a{sv}":
        return variant_dict(self.job.record.result)

    @dbus_property(access=R)
    def ErrorName(self) -> "s":
        return self.job.props.get("ErrorName", self.job.record.error_name)

    @dbus_property(access=R)
    def ErrorMessage(self) -> "s":
        return self.job.props.get("ErrorMessage", self.job.record.error_message)

    @dbus_property(access=R)
    def StartedByUID(self) -> "u":
        return self.job.record.uid

    @dbus_property(access=R)
    def Cancelable(self) -> "b":
        return self.job.record.state in (QUEUED, RUNNING)

    @method()
    @dbus_errors
    async def Cancel(self, options: "a{sv}"):
        check(options, opts.NONE, "Cancel")
        caller = await self._authority.require("cancel jobs")
        if not may_cancel(caller, self.job.record.uid):
            raise NotAuthorized(f"job {self.job.id} belongs to uid {self.job.record.uid}; only its owner or root "
                                f"may cancel it")
        self._runner.cancel(self.job)

    @signal()
    def Completed(self, success: bool, message: str) -> "bs":
        return [success, message]


_INT_PROPS = {"Bytes", "TotalBytes", "ExpectedEndTime", "StartTime", "Copy"}
_FLOAT_PROPS = {"Progress", "Rate", "BufferFill"}


def _wire(name: str, value: Any) -> Any:
    if name == "Result":
        return variant_dict(value)
    if name == "Discs":
        return [variant_dict(disc) for disc in value]
    if name in _INT_PROPS:
        return int(value)
    if name in _FLOAT_PROPS:
        return float(value)
    return value
