"""Fixtures: a private bus per module, burnd processes on it, small generated images."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.daemon.harness import Burnd, Client, PrivateBus, require_bus_tools
from tests.daemon.images import make_iso


@pytest.fixture(scope="module")
def world() -> Iterator[Path]:
    """A world-readable temp dir (the `nobody` client reads its scripts and images there)."""
    directory = Path(tempfile.mkdtemp(prefix="burnd-daemon-test-"))
    os.chmod(directory, 0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def bus(world: Path) -> Iterator[PrivateBus]:
    require_bus_tools()
    private = PrivateBus(world / "bus")
    yield private
    private.stop()


@pytest.fixture
def start_burnd(bus: PrivateBus, tmp_path: Path) -> Iterator[Callable[..., Burnd]]:
    started: list[Burnd] = []

    def start(*args: str, state: Path | None = None) -> Burnd:
        daemon = Burnd(bus, state or tmp_path / "state", *args).start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


@pytest.fixture(scope="module")
def iso(world: Path) -> Path:
    return make_iso(world / "small.iso", 200 * 1024)


def run(coro_fn: Callable[[Client], Any], address: str) -> Any:
    """Run ``coro_fn(client)`` on a fresh loop with a fresh connection."""
    async def main() -> Any:
        client = await Client.connect(address)
        try:
            return await coro_fn(client)
        finally:
            client.close()
    return asyncio.run(main())
