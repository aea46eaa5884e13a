"""``burnctl notify`` shows a notification when the user's job waits for a blank disc and when
it ends — checked against a fake notification server on the private bus."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import REPO, Daemon, Lines, burnctl_argv, cli_env


def test_notifications_for_blank_disc_and_completion(daemon: Daemon, iso: Path):
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fake_notifications.py")), daemon.address],
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    agent = subprocess.Popen(burnctl_argv("--bus", daemon.address, "-v", "notify", "--session-bus", daemon.address),
                             stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=cli_env())
    try:
        notices, said = Lines(server.stdout), Lines(agent.stderr)
        assert notices.next().strip() == "ready"
        said.until(lambda line: "waiting for job events" in line)
        daemon.burner("notified", "bd-r")
        started = daemon.cli("write", str(iso), "notified", "--copies", "2", "--detach")
        assert started.code == 0
        blank = json.loads(notices.next())
        assert blank["summary"] == "Insert a blank disc" and "notified" in blank["body"] and blank["urgency"] == 2
        assert daemon.cli("load", "notified", "--media", "bd-r").code == 0  # a fresh blank disc: the second copy runs
        done = json.loads(notices.next())
        assert done["app"] == "burnctl" and done["summary"] == "Disc job finished"
        assert done["body"].startswith("write succeeded on notified")
        agent.send_signal(signal.SIGINT)
        assert agent.wait(30) == 0
    finally:
        for process in (agent, server):
            if process.poll() is None:
                process.kill()
            process.wait(10)
