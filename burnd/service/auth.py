"""Who is calling: the bus's own credentials for the sender, and what they may do.

The bus policy (dbus/org.burnd.Burnd1.conf) already keeps everyone but root and the
configured group away from methods; the daemon checks again, so a laxer policy on some
system never turns into a hole. The sender of the message being handled is put in a
ContextVar by a message handler that runs before dbus-fast dispatches the call (coroutine
methods copy the context when their task is created).
"""

from __future__ import annotations

import contextvars
import grp
import pwd
from collections import OrderedDict
from dataclasses import dataclass

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from burnd.errors import NotAuthorized

current_sender: contextvars.ContextVar[str] = contextvars.ContextVar("current_sender", default="")
CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class Caller:
    sender: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    pid: int


def note_sender(msg: Message) -> None:
    """Message handler: remember the sender of a method call (never handles the message)."""
    if msg.message_type is MessageType.METHOD_CALL:
        current_sender.set(msg.sender or "")


class Authority:
    def __init__(self, bus: MessageBus, group: str) -> None:
        self._bus = bus
        self.group = group
        try:
            self.group_id: int | None = grp.getgrnam(group).gr_gid
        except KeyError:
            self.group_id = None
        self._cache: OrderedDict[str, Caller] = OrderedDict()

    async def caller(self) -> Caller:
        """The current call's sender; unique names are never reused, so caching is safe."""
        sender = current_sender.get()
        cached = self._cache.get(sender)
        if cached is not None:
            return cached
        reply = await self._bus.call(Message(
            destination="org.freedesktop.DBus", path="/org/freedesktop/DBus", interface="org.freedesktop.DBus",
            member="GetConnectionCredentials", signature="s", body=[sender]))
        if reply is None or reply.message_type is MessageType.ERROR:
            raise NotAuthorized(f"the bus could not tell who {sender!r} is, so burnd refuses the call; retry")
        creds = reply.body[0]
        uid = creds["UnixUserID"].value
        groups = tuple(creds["UnixGroupIDs"].value) if "UnixGroupIDs" in creds else ()
        try:
            gid = pwd.getpwuid(uid).pw_gid
        except KeyError:
            gid = groups[0] if groups else uid
        caller = Caller(sender, uid, gid, groups, creds.get("ProcessID").value if "ProcessID" in creds else 0)
        self._cache[sender] = caller
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return caller

    async def require(self, action: str) -> Caller:
        """The caller, if root or a member of the configured group; NotAuthorized otherwise."""
        caller = await self.caller()
        if caller.uid == 0 or (self.group_id is not None and self.group_id in (caller.gid, *caller.groups)):
            return caller
        raise NotAuthorized(f"uid {caller.uid} may not {action}: only root and members of the group "
                            f"{self.group!r} may; ask an administrator to add you to it")


def may_cancel(caller: Caller, owner_uid: int) -> bool:
    return caller.uid == 0 or caller.uid == owner_uid
