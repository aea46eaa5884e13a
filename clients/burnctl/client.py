"""The daemon side of burnctl: one dbus-fast connection, plain-Python values out of variants,
D-Bus errors turned into :class:`DaemonError` (whose exit code the table decides)."""

from __future__ import annotations

import os
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from burnctl.exitcodes import CliError, Exit, exit_for

NAME = "org.burnd.Burnd1"
ROOT = "/org/burnd/Burnd1"
MANAGER = "org.burnd.Burnd1.Manager"
DRIVE = "org.burnd.Burnd1.Drive"
JOB = "org.burnd.Burnd1.Job"
VIRTUAL_DRIVE = "org.burnd.Burnd1.VirtualDrive"
ROBOT = "org.burnd.Burnd1.Robot"
PROPS = "org.freedesktop.DBus.Properties"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
BUS_ENV = "BURNCTL_BUS"

START_HINT = ("start it with `systemctl start burnd` (system bus), or run a development instance with "
              "`python -m burnd --bus session` and pass `--bus session`")


class DaemonError(CliError):
    """A failed call: the D-Bus error name, the daemon's message, the exit code."""

    def __init__(self, name: str, message: str, code: Exit | None = None) -> None:
        super().__init__(message, code if code is not None else exit_for(name))
        self.name = name


def unreachable(bus: str, why: str) -> DaemonError:
    return DaemonError("org.freedesktop.DBus.Error.ServiceUnknown",
                       f"burnd is not reachable on the {bus} bus ({why}); {START_HINT}", Exit.UNREACHABLE)


def plain(value: Any) -> Any:
    """Variants and nested containers as plain Python values (JSON-ready)."""
    if isinstance(value, Variant):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def variant(value: Any) -> Variant:
    """An option value with the type burnd's a{sv} options expect (b, u, t for big sizes, s, as)."""
    if isinstance(value, list):
        return Variant("as", [str(v) for v in value])
    if isinstance(value, bool):
        return Variant("b", value)
    if isinstance(value, int):
        return Variant("u" if 0 <= value < 1 << 32 else "t", value)
    return Variant("s", str(value))


def options(**values: Any) -> dict[str, Variant]:
    """An a{sv} from keyword arguments, leaving out those that are None (daemon defaults)."""
    return {key: variant(value) for key, value in values.items() if value is not None}


def bus_choice(requested: str | None) -> str:
    return requested or os.environ.get(BUS_ENV) or "system"


class Daemon:
    """A connection to burnd; ``async with Daemon.connect(bus)``."""

    def __init__(self, bus: MessageBus, label: str) -> None:
        self.bus = bus
        self.label = label

    @classmethod
    async def connect(cls, bus: str) -> Daemon:
        """Connect and make sure someone owns (or can be activated as) org.burnd.Burnd1."""
        try:
            if bus in ("system", "session"):
                kind = BusType.SYSTEM if bus == "system" else BusType.SESSION
                connection = await MessageBus(bus_type=kind, negotiate_unix_fd=True).connect()
            else:
                connection = await MessageBus(bus_address=bus, negotiate_unix_fd=True).connect()
        except (OSError, ValueError) as exc:
            raise unreachable(bus, f"cannot connect to the bus: {exc}") from exc
        except Exception as exc:  # dbus-fast raises its own errors for auth and address problems
            raise unreachable(bus, f"cannot connect to the bus: {type(exc).__name__}: {exc}") from exc
        daemon = cls(connection, bus)
        try:
            await daemon.get(ROOT, MANAGER, "Version")
        except DaemonError as exc:
            daemon.close()
            if exc.code is Exit.UNREACHABLE:
                raise unreachable(bus, "no process owns org.burnd.Burnd1") from exc
            raise
        return daemon

    def close(self) -> None:
        self.bus.disconnect()

    async def __aenter__(self) -> Daemon:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    async def call(self, path: str, interface: str, member: str, signature: str = "",
                   body: list[Any] | None = None, fds: list[int] | None = None) -> Any:
        """One method call; the single return value (or the list of them), as plain values."""
        reply = await self.bus.call(Message(destination=NAME, path=path, interface=interface, member=member,
                                            signature=signature, body=body or [], unix_fds=fds or []))
        if reply is None:
            raise DaemonError("org.freedesktop.DBus.Error.NoReply", "burnd did not answer")
        if reply.message_type is MessageType.ERROR:
            message = reply.body[0] if reply.body else reply.error_name or ""
            raise DaemonError(reply.error_name or "", message)
        body = plain(reply.body)
        return body[0] if len(body) == 1 else body

    async def get(self, path: str, interface: str, name: str) -> Any:
        return await self.call(path, PROPS, "Get", "ss", [interface, name])

    async def get_all(self, path: str, interface: str) -> dict[str, Any]:
        return await self.call(path, PROPS, "GetAll", "s", [interface])

    async def objects(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every exported object (drives and jobs) with its properties, in one round trip."""
        return await self.call(ROOT, OBJECT_MANAGER, "GetManagedObjects")

    async def add_match(self, rule: str) -> None:
        reply = await self.bus.call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                                            interface="org.freedesktop.DBus", member="AddMatch", signature="s",
                                            body=[rule]))
        if reply is None or reply.message_type is MessageType.ERROR:
            raise DaemonError("org.freedesktop.DBus.Error.MatchRuleInvalid", f"cannot watch {rule}")
