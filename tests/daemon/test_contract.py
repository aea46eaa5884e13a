"""The live service's introspection equals dbus/org.burnd.Burnd1.xml, the contract."""

from __future__ import annotations

import os

from dbus_fast.introspection import Node

from tests.daemon.conftest import run
from tests.daemon.harness import REPO, ROOT
from tests.virtual.conftest import needs_loop

OBJECTS = {"org.burnd.Burnd1.Manager": ROOT, "org.burnd.Burnd1.Drive": f"{ROOT}/drives/virtual0",
           "org.burnd.Burnd1.Robot": f"{ROOT}/robots/vrobot0"}


def shape(node: Node, name: str) -> dict:
    """Names and types of everything; out-argument and signal-argument names are documentation
    (dbus-fast does not publish them), so only their types count."""
    interface = next(i for i in node.interfaces if i.name == name)
    return {
        "methods": {m.name: ([(a.name, a.signature) for a in m.in_args], [a.signature for a in m.out_args])
                    for m in interface.methods},
        "properties": {p.name: (p.signature, p.access.value) for p in interface.properties},
        "signals": {s.name: [a.signature for a in s.args] for s in interface.signals},
    }


@needs_loop
def test_live_introspection_matches_the_contract(start_burnd, bus, iso):
    start_burnd("--virtual-burner", "bd-r:4000", "--virtual-robot", "generic")
    contract = Node.parse((REPO / "dbus" / "org.burnd.Burnd1.xml").read_text())

    async def introspect(c):
        job = await c.write("virtual0", iso)
        await c.finished(job)
        fd = os.open(iso, os.O_RDONLY)
        try:
            attached = await c.call(ROOT, "org.burnd.Burnd1.Manager", "AttachImage", "ha{sv}", [0, {}], [fd])
        finally:
            os.close(fd)
        paths = {**OBJECTS, "org.burnd.Burnd1.Job": job, "org.burnd.Burnd1.VirtualDrive": attached}
        try:
            return {name: await c.call(path, "org.freedesktop.DBus.Introspectable", "Introspect")
                    for name, path in paths.items()}
        finally:
            await c.call(attached, "org.burnd.Burnd1.VirtualDrive", "Detach", "a{sv}", [{}])

    live = run(introspect, bus.address)
    assert {i.name for i in contract.interfaces} == set(live)
    for name, xml in live.items():
        assert shape(Node.parse(xml), name) == shape(contract, name), name
