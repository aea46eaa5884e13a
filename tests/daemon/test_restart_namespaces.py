"""A restart as under systemd: each burnd start in a mount namespace of its own.

The unit's ProtectSystem=strict and PrivateTmp=yes give every start a new mount namespace, so
the FUSE view behind a translated attachment, mounted by the first start, is invisible to the
next. Here the first burnd runs under ``unshare -m --propagation private`` and the second in the
test's namespace; the attachment must come back as an object, read right and detach cleanly,
and one whose view server died must be cleaned up with a log line."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from burnd.virtual import registry
from tests.daemon.conftest import run
from tests.daemon.harness import Burnd, Client
from tests.daemon.loops import release_leftovers
from tests.daemon.test_attach import attach, bound, detach, managed, properties, read_device
from tests.fixtures.cdimages import base_iso, single_bincue
from tests.virtual.conftest import needs_fuse, needs_loop
from tests.virtual.test_recover_namespaces import serving, wait_exit

pytestmark = [needs_loop, needs_fuse]


class NamespacedBurnd(Burnd):
    """burnd started in a private mount namespace of its own, as the systemd unit starts it."""

    launcher = ("unshare", "-m", "--propagation", "private")


@pytest.fixture
def first_start(bus, tmp_path: Path) -> Iterator[tuple[Path, str, int]]:
    """A raw BIN/CUE attached by a burnd in its own mount namespace, which then stopped:
    (state dir, VirtualDrive path, view server pid). Whatever is left is released after the test."""
    state = tmp_path / "state"
    folder = tmp_path / "images"
    folder.mkdir()
    cue = single_bincue(folder, "MODE1/2352")
    first = NamespacedBurnd(bus, state).start()
    try:
        path = run(lambda c: attach(c, cue), bus.address)
    finally:
        first.stop()
    [record] = registry.load(str(state / "virtual"))
    try:
        assert not os.path.ismount(record.view_mount)  # the premise: mounted only over there
        yield state, path, record.view_pid
    finally:
        if serving(record.view_pid):
            os.kill(record.view_pid, signal.SIGKILL)
            wait_exit(record.view_pid)
        left = release_leftovers((str(tmp_path),))
        assert not left, f"the test left loop devices / view mounts behind: {left}"


def test_the_next_start_readopts_a_view_from_another_namespace(start_burnd, bus, first_start):
    state, path, server = first_start
    start_burnd(state=state)

    async def after(c: Client):
        listed = await managed(c)
        props = await properties(c, path)
        data = read_device(props["Device"], len(base_iso()) + 4096)
        await detach(c, path)
        return listed, props, data

    listed, props, data = run(after, bus.address)
    assert listed == {path} and props["View"] == "translated"
    assert data == base_iso()
    assert not bound(props["Device"])
    assert not serving(server)  # Detach ended the server in the other namespace


def test_the_next_start_cleans_up_after_a_dead_view_server(start_burnd, bus, first_start):
    state, path, server = first_start
    device = os.path.basename(path)
    os.kill(server, signal.SIGKILL)
    assert wait_exit(server)
    second = start_burnd(state=state)
    assert run(managed, bus.address) == set()
    assert not bound(f"/dev/{device}")
    prefix = f"<4>burnd: virtual drives: {device}:"
    warnings = [line for line in second.log.read_text().splitlines() if line.startswith(prefix)]
    assert len(warnings) == 1 and f"server pid {server} has exited" in warnings[0] and warnings[0].endswith("detached")
    assert registry.load(str(state / "virtual")) == []
