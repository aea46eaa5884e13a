"""tgt (the Linux SCSI target daemon) as a writable burner we did not write.

tgt's MMC emulation turns an empty backing file into a blank DVD+R. It is served over iSCSI on
127.0.0.1 only, with a private control port so parallel runs and a system tgtd do not collide.
``tgtd -f`` ignores SIGTERM while targets exist, so it is stopped with SIGKILL by the PID we
started — never by name.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TARGET_IQN = "iqn.2024-01.test.burnd:burner"
CONTROL_SOCKET_DIR = Path("/var/run/tgtd")
READY_TIMEOUT = 10.0
MAX_CONTROL_PORT = 32767  # tgtd refuses larger -C values


class TgtUnavailable(RuntimeError):
    """tgt is not installed or cannot run here."""


def missing_tools() -> list[str]:
    return [t for t in ("tgtd", "tgtadm") if shutil.which(t) is None]


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _free_control_port() -> int:
    for _ in range(100):
        port = random.randint(20000, MAX_CONTROL_PORT)
        if not (CONTROL_SOCKET_DIR / f"socket.{port}").exists():
            return port
    raise TgtUnavailable(f"no free tgtd control port: {CONTROL_SOCKET_DIR} is full of sockets")


def _tgtadm(control: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["tgtadm", "-C", str(control), "--lld", "iscsi", *args], capture_output=True, text=True
    )


@contextmanager
def tgt_burner(backing: Path, log: Path) -> Iterator[str]:
    """Serve ``backing`` as an MMC LUN (device-type cd); yields the iscsi:// URL for QEMU.

    An empty ``backing`` is a blank DVD+R; tgtd's output goes to ``log``.
    """
    missing = missing_tools()
    if missing:
        raise TgtUnavailable(f"missing {', '.join(missing)} (Debian package tgt, deps/apt/vm.txt)")
    port, control = _free_tcp_port(), _free_control_port()
    with open(log, "w") as log_file:
        daemon = subprocess.Popen(
            ["tgtd", "-f", "-C", str(control), "--iscsi", f"portal=127.0.0.1:{port}"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        _configure(control, backing, daemon, log)
        yield f"iscsi://127.0.0.1:{port}/{TARGET_IQN}/1"
    finally:
        if daemon.poll() is None:
            os.kill(daemon.pid, signal.SIGKILL)
            daemon.wait()
        for leftover in (f"socket.{control}", f"socket.{control}.lock"):
            (CONTROL_SOCKET_DIR / leftover).unlink(missing_ok=True)


def _configure(control: int, backing: Path, daemon: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while _tgtadm(control, "--mode", "target", "--op", "show").returncode != 0:
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise TgtUnavailable(f"tgtd did not come up: {log.read_text()[-1000:]}")
        time.sleep(0.05)
    steps = [
        ("--mode", "target", "--op", "new", "--tid", "1", "-T", TARGET_IQN),
        ("--mode", "logicalunit", "--op", "new", "--tid", "1", "--lun", "1",
         "-b", str(backing), "--device-type", "cd"),
        ("--mode", "target", "--op", "bind", "--tid", "1", "-I", "ALL"),
    ]
    for step in steps:
        done = _tgtadm(control, *step)
        if done.returncode != 0:
            raise TgtUnavailable(f"tgtadm {' '.join(step)} failed: {done.stderr.strip()}")
