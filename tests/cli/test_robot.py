"""burnctl's robot verbs and ``write --robot`` as real processes, against burnd with a virtual
robot: a Rimage RAS-13 simulator on a real pty whose two bays are virtual CD-R burners.

The headline batch is the issue's: 20 copies with 2 injected bad burns end with 20 verified
discs in the accept bin and 2 in the reject bin."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Daemon, Lines, burnctl_argv, cli_env
from tests.fixtures.robot_images import verified_discs

DISC_BLOCKS = 1200
BLANKS = 25
ROBOT_CONFIG = f"""
[[virtual_robot]]
name = "tower"
protocol = "rimage-ras13"
bays = 2
size = {DISC_BLOCKS}
blanks = {BLANKS}
bay_faults = [["write: 3/0C/00 x1"], ["write: 3/0C/00 x1"]]

[[virtual_robot]]
name = "slow"
protocol = "generic"
size = {DISC_BLOCKS}
blanks = 4
move_seconds = 0.05
"""


@pytest.fixture(scope="module")
def robots(world: Path) -> Iterator[Daemon]:
    from tests.daemon.harness import Burnd, PrivateBus, require_bus_tools

    require_bus_tools()
    config = world / "robots.toml"
    config.write_text(ROBOT_CONFIG)
    bus = PrivateBus(world / "robot-bus")
    burnd = Burnd(bus, world / "robot-state", "--config", str(config)).start()
    try:
        yield Daemon(bus.address, world)
    finally:
        burnd.stop()
        bus.stop()


def test_robot_list_and_status(robots: Daemon):
    text = robots.cli("robot", "list").out
    tower = next(line for line in text.splitlines() if line.startswith("tower"))
    assert "rimage-ras13" in tower and "idle" in tower and "tower_bay0,tower_bay1" in tower
    assert f"input {BLANKS}" in tower and "[virtual]" in tower
    assert robots.cli("robot", "list", "--names").out.split() == ["slow", "tower"]
    doc = robots.cli("robot", "list", "--json").json()
    assert doc["schema"] == "burnctl.robots/1"
    entry = next(r for r in doc["robots"] if r["id"] == "tower")
    assert entry["drives"] == ["tower_bay0", "tower_bay1"] and entry["bins"]["input"] == BLANKS
    status = robots.cli("robot", "status", "tower")
    assert status.code == 0, status.err
    assert "Ready:        yes" in status.out and "bay 1: tower_bay1" in status.out
    missing = robots.cli("robot", "status", "nosuch")
    assert missing.code == 11 and "tower" in missing.err


def test_twenty_copies_with_two_bad_burns(robots: Daemon, iso: Path, world: Path):
    result = robots.cli("write", str(iso), "--robot", "tower", "--copies", "20", timeout=300)
    assert result.code == 0, result.err
    assert "20 of 20 copies accepted, 2 rejected" in result.out
    disc_lines = [line for line in result.out.splitlines() if line.lstrip().startswith("disc ")]
    assert len(disc_lines) == 22, result.out
    assert sum("reject" in line for line in disc_lines) == 2
    doc = robots.cli("robot", "list", "--json").json()
    bins = next(r for r in doc["robots"] if r["id"] == "tower")["bins"]
    assert bins == {"input": BLANKS - 22, "accept": 20, "reject": 2}
    discs = sorted((world / "robot-state" / "robots" / "tower").glob("disc-*.img"))
    assert len(discs) == 22
    assert verified_discs(discs, iso, DISC_BLOCKS) == 20
    jobs = robots.cli("jobs", "--json").json()["jobs"]
    batch = next(j for j in jobs if j["kind"] == "robot-write")
    assert batch["robot"] == "tower" and batch["drive"] == "" and len(batch["discs"]) == 22


def test_an_input_bin_that_runs_out_exits_13(robots: Daemon, iso: Path):
    result = robots.cli("write", str(iso), "--robot", "tower", "--copies", "5", timeout=120)
    assert result.code == 13, (result.out, result.err)
    assert "InputBinEmpty" in result.err or "input bin" in result.err
    assert "put blanks in the input bin" in result.err


def test_a_jam_pauses_until_the_operator_resumes(robots: Daemon, iso: Path):
    assert robots.cli("robot", "simulate", "slow", "jam", "after", "3").code == 0
    argv = burnctl_argv("--bus", robots.address, "write", str(iso), "--robot", "slow", "--copies", "2")
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
                          stdin=subprocess.DEVNULL) as writer:
        errors = Lines(writer.stderr)
        paused = errors.until(lambda line: "batch paused" in line, timeout=60)
        assert "RobotJammed" in paused and "burnctl robot resume slow" in paused
        assert "paused" in robots.cli("robot", "status", "slow").out
        assert robots.cli("robot", "simulate", "slow", "clear", "jam").code == 0
        resumed = robots.cli("robot", "resume", "slow")
        assert resumed.code == 0, resumed.err
        out, _ = writer.communicate(timeout=120)
        assert writer.returncode == 0, (out, "".join(errors.seen))
    assert "2 of 2 copies accepted" in out


def test_robot_misuse_is_a_usage_error(robots: Daemon, iso: Path):
    clash = robots.cli("write", str(iso), "tower_bay0", "--robot", "tower")
    assert clash.code == 2 and "DRIVE" in clash.err
    unknown = robots.cli("write", str(iso), "--robot", "nosuch")
    assert unknown.code == 11 and "slow, tower" in unknown.err
    idle = robots.cli("robot", "resume", "tower")
    assert idle.code == 2 and "no batch running" in idle.err
    real = robots.cli("robot", "simulate", "tower", "fly")
    assert real.code == 2 and "unknown robot action" in real.err


# --- pure: what burnctl says about a batch ----------------------------------------------------

def test_a_batch_result_says_the_counts_once():
    from burnctl.views import batch_result_line

    disc = {"accepted": True}
    done = {"kind": "robot-write", "state": "succeeded", "robot": "tower", "copies": 2, "discs": [disc, disc],
            "result": {"accepted": 2, "rejected": 0, "input_exhausted": True}}
    assert batch_result_line(done) == ("robot-write succeeded on tower: 2 of 2 copies accepted, 0 rejected; the "
                                       "input bin is now empty")
    short = dict(done, state="failed", copies=3, error_message="2 of 3 copies accepted, 0 rejected — the input "
                 "bin ran out; put blanks in the input bin and write the remaining 1 copy")
    assert batch_result_line(short) == f"robot-write failed on tower: {short['error_message']}"
    jammed = dict(done, state="failed", copies=3, error_message="robot tower: the arm jammed")
    assert batch_result_line(jammed) == ("robot-write failed on tower: 2 of 3 copies accepted, 0 rejected: robot "
                                         "tower: the arm jammed")


def test_the_narrator_tells_each_disc_and_each_pause_once():
    from burnctl.batch import BatchNarrator

    narrator = BatchNarrator()
    disc = {"number": 1, "bay": 0, "drive": "tower_bay0", "accepted": True}
    props = {"Robot": "/org/burnd/Burnd1/robots/tower", "State": "running", "Phase": "running", "Discs": [disc]}
    assert [n.text for n in narrator.notes(props)] == ["disc 1 (bay 0, tower_bay0): accepted"]
    assert narrator.notes(props) == []
    paused = dict(props, Phase="paused", ErrorName="org.burnd.Burnd1.Error.RobotJammed", ErrorMessage="jammed")
    [note] = narrator.notes(paused)
    assert note.attention and "RobotJammed" in note.text and "burnctl robot resume tower" in note.text
    assert narrator.notes(paused) == []
    assert [n.text for n in narrator.notes(props)] == ["batch resumed"]
