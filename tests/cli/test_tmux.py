"""The progress bar on a real terminal: burnctl runs inside tmux and the screen is read back
with capture-pane — the bar while the job waits between copies, then the final line alone."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Daemon, burnctl_argv, cli_env

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (Debian package tmux)")
WIDTH = 110


class Tmux:
    def __init__(self, name: str) -> None:
        self.socket = name

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True).stdout

    def screen(self) -> list[str]:
        return [line.rstrip() for line in self("capture-pane", "-p", "-J", "-t", "cli").splitlines() if line.strip()]

    def wait_for(self, check: Callable[[list[str]], bool], timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen never showed it: {screen}")
            time.sleep(0.1)


@pytest.fixture
def tmux():
    server = Tmux(f"burnctl-test-{os.getpid()}")
    yield server
    subprocess.run(["tmux", "-L", server.socket, "kill-server"], capture_output=True)


def test_progress_bar_then_final_line(daemon: Daemon, iso: Path, tmux: Tmux):
    daemon.burner("tmuxed", "bd-r")
    env = cli_env()
    command = " ".join(["env", f"PYTHONPATH={shlex.quote(env['PYTHONPATH'])}",
                        *map(shlex.quote, burnctl_argv("--bus", daemon.address, "write", str(iso), "tmuxed",
                                                       "--copies", "2")),
                        "; echo EXIT=$?; sleep 60"])
    tmux("new-session", "-d", "-s", "cli", "-x", str(WIDTH), "-y", "12", command)
    try:
        check_screens(daemon, tmux)
    finally:  # a job left waiting for a blank disc would outlive the test
        for job in daemon.cli("jobs", "--active", "--json").json()["jobs"]:
            daemon.cli("cancel", job["id"])


def check_screens(daemon: Daemon, tmux: Tmux) -> None:
    assert tmux("display-message", "-p", "-t", "cli", "#{window_width}").strip() == str(WIDTH)
    waiting = tmux.wait_for(lambda s: any(line.startswith("waiting for blank medi") for line in s))
    bar = next(line for line in waiting if line.startswith("waiting for blank medi"))
    assert "[" in bar and "]" in bar and "copy 2/2" in bar and "fifo" in bar
    filled = bar[bar.index("[") + 1:bar.index("]")]
    assert filled.count("█") == len(filled)  # the first copy is complete: a full bar
    assert len(waiting) == 1  # redrawn in place: one line, not a scroll of them
    assert daemon.cli("load", "tmuxed", "--media", "bd-r").code == 0
    final = tmux.wait_for(lambda s: any(line.startswith("EXIT=") for line in s))
    assert final[-1] == "EXIT=0"
    assert final[-2].startswith("write succeeded on tmuxed: 348 KiB (sha256 ")
    assert not any("[" in line and "█" in line for line in final)  # the bar was cleared before the result


def test_no_color_and_plain_lines_without_a_terminal(daemon: Daemon, iso: Path):
    daemon.burner("piped", "bd-r")
    result = daemon.cli("write", str(iso), "piped")
    assert "\x1b" not in result.out and "█" not in result.out
    assert all(":" in line for line in result.out.splitlines())
