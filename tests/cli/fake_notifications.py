"""A stand-in for the desktop's notification server: owns org.freedesktop.Notifications on the
bus given as argv[1] and prints every Notify call as one JSON line (then flushes)."""

from __future__ import annotations

import asyncio
import json
import sys

from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, method


class Notifications(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.freedesktop.Notifications")
        self.count = 0

    @method()
    def Notify(self, app: "s", replaces: "u", icon: "s", summary: "s", body: "s", actions: "as",  # noqa: F821
               hints: "a{sv}", timeout: "i") -> "u":  # noqa: F821
        self.count += 1
        print(json.dumps({"app": app, "summary": summary, "body": body, "urgency": hints["urgency"].value}),
              flush=True)
        return self.count


async def main(address: str) -> None:
    bus = await MessageBus(bus_address=address).connect()
    bus.export("/org/freedesktop/Notifications", Notifications())
    await bus.request_name("org.freedesktop.Notifications")
    print("ready", flush=True)
    await bus.wait_for_disconnect()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
