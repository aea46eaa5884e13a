"""A private dbus-daemon with the project's policy, a burnd process on it, and a small client.

The bus config mirrors the system bus (method calls denied by default, root allowed) and
includes dbus/org.burnd.Burnd1.conf, so the policy under test is the one burnd ships.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "dbus" / "org.burnd.Burnd1.conf"
NAME = "org.burnd.Burnd1"
ROOT = "/org/burnd/Burnd1"
TERMINAL = {"succeeded", "failed", "cancelled", "interrupted"}

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <policy user="root">
    <allow send_destination="*"/>
    <allow own="*"/>
  </policy>
  <include>{policy}</include>
  <limit name="max_completed_connections">1000</limit>
  <limit name="max_connections_per_user">1000</limit>
  <limit name="max_replies_per_connection">5000</limit>
</busconfig>
"""


def require_bus_tools() -> None:
    """Skip, saying what to install, when the machine cannot run a private bus."""
    import shutil

    import pytest

    for tool in ("dbus-daemon", "busctl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian packages dbus-daemon, systemd)")


class PrivateBus:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o755)
        self.socket = directory / "bus.sock"
        config = directory / "bus.conf"
        config.write_text(BUS_CONFIG.format(socket=self.socket, policy=POLICY))
        self.process = subprocess.Popen(["dbus-daemon", "--config-file", str(config), "--nofork", "--print-address"],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.address = self.process.stdout.readline().strip()
        assert self.address.startswith("unix:"), self.address

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class Burnd:
    """``python -m burnd`` on the private bus; ``kill()`` is kill -9. ``launcher`` is what the
    command line is run under (e.g. ``unshare -m`` for a mount namespace of its own)."""

    launcher: tuple[str, ...] = ()

    def __init__(self, bus: PrivateBus, state_dir: Path, *args: str) -> None:
        self.bus = bus
        self.state_dir = state_dir
        self.args = args
        self.log = state_dir.parent / f"{state_dir.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> Burnd:
        self.process = subprocess.Popen(
            [*self.launcher, sys.executable, "-m", "burnd", "--bus", self.bus.address, "--state-dir",
             str(self.state_dir), *self.args], stderr=open(self.log, "ab"), cwd=REPO)
        deadline = time.monotonic() + timeout
        while not name_owned(self.bus.address):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"burnd did not start: {self.log.read_text()}")
            time.sleep(0.05)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def name_owned(address: str) -> bool:
    """Asks the bus daemon only (``busctl status`` also inspects the owner's process, which
    fails inside the VM guest's chroot)."""
    result = subprocess.run(["busctl", f"--address={address}", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                             "org.freedesktop.DBus", "NameHasOwner", "s", NAME], capture_output=True, text=True)
    return result.stdout.strip() == "b true"


class Client:
    """A dbus-fast client connection with the calls the tests need."""

    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus
        self._done: dict[str, asyncio.Future[tuple[bool, str]]] = {}
        bus.add_message_handler(self._signal)

    @classmethod
    async def connect(cls, address: str) -> Client:
        return cls(await MessageBus(bus_address=address, negotiate_unix_fd=True).connect())

    async def call(self, path: str, interface: str, member: str, signature: str = "", body: list[Any] | None = None,
                   fds: list[int] | None = None) -> Any:
        reply = await self.bus.call(Message(destination=NAME, path=path, interface=interface, member=member,
                                            signature=signature, body=body or [], unix_fds=fds or []))
        assert reply is not None
        if reply.message_type is MessageType.ERROR:
            raise CallError(reply.error_name or "", reply.body[0] if reply.body else "")
        return reply.body[0] if len(reply.body) == 1 else reply.body

    async def get(self, path: str, interface: str, name: str) -> Any:
        value = await self.call(path, "org.freedesktop.DBus.Properties", "Get", "ss", [interface, name])
        return value.value

    async def drive(self, name: str, prop: str) -> Any:
        return await self.get(f"{ROOT}/drives/{name}", "org.burnd.Burnd1.Drive", prop)

    async def job(self, path: str, prop: str) -> Any:
        return await self.get(path, "org.burnd.Burnd1.Job", prop)

    async def watch(self, path: str) -> None:
        """Subscribe to a job's Completed before it can fire (call before submitting, or race-free after)."""
        await self.call_bus("AddMatch", "s", [f"type='signal',interface='org.burnd.Burnd1.Job',path='{path}'"])

    async def call_bus(self, member: str, signature: str, body: list[Any]) -> Any:
        reply = await self.bus.call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                                            interface="org.freedesktop.DBus", member=member, signature=signature,
                                            body=body))
        assert reply is not None and reply.message_type is MessageType.METHOD_RETURN, reply
        return reply.body

    def _signal(self, msg: Message) -> None:
        if msg.message_type is MessageType.SIGNAL and msg.member == "Completed" and msg.path:
            future = self._done.setdefault(msg.path, asyncio.get_running_loop().create_future())
            if not future.done():
                future.set_result((msg.body[0], msg.body[1]))

    async def write(self, drive: str, image: Path, **options: Any) -> str:
        return await self.submit(drive, "Write", image, **options)

    async def submit(self, drive: str, member: str, file: Path | None = None, **options: Any) -> str:
        path, interface = f"{ROOT}/drives/{drive}", "org.burnd.Burnd1.Drive"
        if file is None:
            return await self.call(path, interface, member, "a{sv}", [{k: _variant(v) for k, v in options.items()}])
        return await self.call_with_file(path, interface, member, file, os.O_RDWR if member == "Rip" else os.O_RDONLY,
                                         **options)

    async def call_with_file(self, path: str, interface: str, member: str, file: Path, flags: int = os.O_RDONLY,
                             **options: Any) -> Any:
        """``member(h fd, a{sv} options)`` with ``file`` opened here, as a client does."""
        fd = os.open(file, flags)
        try:
            return await self.call(path, interface, member, "ha{sv}", [0, {k: _variant(v) for k, v in options.items()}],
                                   [fd])
        finally:
            os.close(fd)

    async def finished(self, path: str, timeout: float = 60) -> dict[str, Any]:
        """Wait for the job to end (Completed signal, or already terminal); its properties."""
        await self.watch(path)
        future = self._done.setdefault(path, asyncio.get_running_loop().create_future())
        if await self.job(path, "State") not in TERMINAL:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        props = await self.call(path, "org.freedesktop.DBus.Properties", "GetAll", "s", ["org.burnd.Burnd1.Job"])
        return {k: _plain(v.value) for k, v in props.items()}

    async def run(self, drive: str, member: str, file: Path | None = None, **options: Any) -> dict[str, Any]:
        return await self.finished(await self.submit(drive, member, file, **options))

    def close(self) -> None:
        self.bus.disconnect()


class CallError(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def _variant(value: Any) -> Variant:
    if isinstance(value, bool):
        return Variant("b", value)
    if isinstance(value, int):
        return Variant("u", value)
    return Variant("s", value)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v.value if isinstance(v, Variant) else v) for k, v in value.items()}
    return value
