"""burnctl as a real process: a runner with PYTHONPATH covering clients/, and (for the daemon
verbs) a private bus with burnd on it, from tests/daemon's harness."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "clients"
if str(CLIENTS) not in sys.path:  # until burnctl is installed by the package-dir mapping
    sys.path.insert(0, str(CLIENTS))


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(CLIENTS), str(REPO)]), **extra)
    env.pop("BURNCTL_BUS", None)
    env.pop("NO_COLOR", None)
    return env | extra


def burnctl_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "burnctl", *args]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_burnctl(*args: str, bus: str | None = None, timeout: float = 60, **env: str) -> Result:
    argv = burnctl_argv(*(["--bus", bus] if bus else []), *args)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=cli_env(**env), cwd=REPO,
                          stdin=subprocess.DEVNULL)
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def burnctl() -> Callable[..., Result]:
    return run_burnctl


@pytest.fixture(scope="module")
def world() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="burnctl-test-"))
    os.chmod(directory, 0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@dataclass
class Daemon:
    """A private bus with one burnd on it; ``cli`` runs burnctl against it."""

    address: str
    world: Path

    def cli(self, *args: str, **kw: Any) -> Result:
        return run_burnctl(*args, bus=self.address, **kw)

    def burner(self, name: str, media: str, blocks: int = 4000, *extra: str) -> str:
        result = self.cli("virtual", "create", media, "--name", name, "--size", str(blocks), *extra)
        assert result.code == 0, result.err
        return name


@pytest.fixture(scope="module")
def daemon(world: Path) -> Iterator[Daemon]:
    from tests.daemon.harness import Burnd, PrivateBus, require_bus_tools

    require_bus_tools()

    bus = PrivateBus(world / "bus")
    burnd = Burnd(bus, world / "state").start()
    try:
        yield Daemon(bus.address, world)
    finally:
        burnd.stop()
        bus.stop()


@pytest.fixture(scope="module")
def iso(world: Path) -> Path:
    from tests.daemon.images import make_iso

    return make_iso(world / "small.iso", 300 * 1024)


class Lines:
    """A process's output stream read on a thread, so a test waits for a line with a timeout
    instead of hanging when the line never comes."""

    def __init__(self, stream: Any) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def next(self, timeout: float = 30) -> str:
        line = self._queue.get(timeout=timeout)
        if line is None:
            raise EOFError(f"the stream ended; it said: {''.join(self.seen)!r}")
        self.seen.append(line)
        return line

    def until(self, predicate: Callable[[str], bool], timeout: float = 30) -> str:
        while True:
            line = self.next(timeout)
            if predicate(line):
                return line
