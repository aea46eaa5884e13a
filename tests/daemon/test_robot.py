"""Robots over D-Bus: burnd with a virtual robot (a simulator on a real pty whose bays are
virtual burners burnd manages), batches as Jobs, pauses on robot faults, drives held."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.clients_common import needs_dbus_python, run_as_nobody
from tests.daemon.conftest import run
from tests.daemon.harness import ROOT, CallError, Client

ROBOT = f"{ROOT}/robots/tower"
ROBOT_IFACE = "org.burnd.Burnd1.Robot"
ERROR = "org.burnd.Burnd1.Error."


def robot_config(tmp_path: Path, blanks: int = 10, move_seconds: float = 0.0, bay_faults: str = "[]") -> Path:
    config = tmp_path / "burnd.toml"
    config.write_text(f"""
[[virtual_robot]]
name = "tower"
protocol = "rimage-ras13"
bays = 2
size = 1200
blanks = {blanks}
move_seconds = {move_seconds}
bay_faults = {bay_faults}
""")
    return config


async def robot_prop(client: Client, name: str) -> Any:
    return await client.get(ROBOT, ROBOT_IFACE, name)


async def robot_write(client: Client, image: Path, **options: Any) -> str:
    return await client.call_with_file(ROBOT, ROBOT_IFACE, "Write", image, **options)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def disc_prefixes_equal(state: Path, image: Path) -> int:
    """How many of the robot's disc files start with the image's bytes."""
    data = image.read_bytes()
    discs = sorted((state / "robots" / "tower").glob("disc-*.img"))
    return sum(1 for disc in discs if disc.read_bytes()[:len(data)] == data)


def test_a_batch_burns_every_copy_and_rejects_the_bad_burn(start_burnd, bus, iso, tmp_path):
    daemon = start_burnd("--config", str(robot_config(tmp_path, bay_faults='[[], ["write: 3/0C/00 x1"]]')))

    async def scenario(client: Client) -> dict[str, Any]:
        assert await client.get(ROOT, "org.burnd.Burnd1.Manager", "Robots") == [ROBOT]
        assert await robot_prop(client, "Drives") == [f"{ROOT}/drives/tower_bay0", f"{ROOT}/drives/tower_bay1"]
        assert await robot_prop(client, "Virtual") is True
        assert await robot_prop(client, "State") == "idle"
        status = await client.call(ROBOT, ROBOT_IFACE, "QueryStatus", "a{sv}", [{}])
        assert status["ready"].value is True
        job = await robot_write(client, iso, copies=4)
        assert await client.job(job, "Kind") == "robot-write"
        assert await client.job(job, "Robot") == ROBOT
        assert await client.job(job, "Drive") == "/"
        props = await client.finished(job)
        props["bins"] = {k: v.value for k, v in (await robot_prop(client, "Bins")).items()}
        props["robot_state"] = await robot_prop(client, "State")
        props["bay_busy"] = await client.drive("tower_bay0", "Busy")
        return props

    props = run(scenario, bus.address)
    assert props["State"] == "succeeded", props
    assert props["Result"]["accepted"] == 4 and props["Result"]["rejected"] == 1
    discs = props["Discs"]
    assert len(discs) == 5 and sum(d["accepted"].value for d in discs) == 4
    bad = [d for d in discs if not d["accepted"].value]
    assert bad[0]["drive"].value == "tower_bay1" and bad[0]["error_name"].value.startswith(ERROR)
    assert props["bins"] == {"input": 5, "accept": 4, "reject": 1}
    assert props["robot_state"] == "idle" and props["bay_busy"] is False
    assert disc_prefixes_equal(daemon.state_dir, iso) == 4


def test_the_robots_drives_take_no_other_job_during_a_batch(start_burnd, bus, iso, tmp_path):
    start_burnd("--config", str(robot_config(tmp_path, move_seconds=0.05)))

    async def scenario(client: Client) -> None:
        batch = await robot_write(client, iso, copies=3)
        await until(lambda: _equals(client.drive("tower_bay0", "CurrentJob"), batch))
        assert await client.drive("tower_bay0", "Busy") is True
        ordinary = await client.submit("tower_bay0", "Blank")
        await until(lambda: _has_disc(client, batch))
        assert await client.job(ordinary, "State") == "queued"
        with pytest.raises(CallError) as busy:
            await robot_write(client, iso, copies=1)
        assert busy.value.name == ERROR + "DriveBusy" and "batch job" in busy.value.message
        assert (await client.finished(batch))["State"] == "succeeded"
        ended = await client.finished(ordinary)
        assert ended["StartTime"] > 0

    run(scenario, bus.address)


def test_a_jam_pauses_the_batch_until_the_operator_clears_it(start_burnd, bus, iso, tmp_path):
    start_burnd("--config", str(robot_config(tmp_path, move_seconds=0.02)))

    async def scenario(client: Client) -> None:
        await client.call(ROBOT, ROBOT_IFACE, "Simulate", "sa{sv}", ["jam after 5", {}])
        batch = await robot_write(client, iso, copies=3)
        await until(lambda: _equals(robot_prop(client, "State"), "paused"))
        assert await robot_prop(client, "ErrorName") == ERROR + "RobotJammed"
        assert await client.job(batch, "Phase") == "paused"
        assert await client.job(batch, "ErrorName") == ERROR + "RobotJammed"
        await client.call(ROBOT, ROBOT_IFACE, "Simulate", "sa{sv}", ["clear jam", {}])
        await client.call(ROBOT, ROBOT_IFACE, "Resume", "a{sv}", [{}])
        props = await client.finished(batch)
        assert props["State"] == "succeeded" and props["Result"]["accepted"] == 3, props
        assert props["ErrorName"] == ""
        with pytest.raises(CallError) as idle:
            await client.call(ROBOT, ROBOT_IFACE, "Resume", "a{sv}", [{}])
        assert idle.value.name == ERROR + "NotPausable"

    run(scenario, bus.address)


def test_an_input_bin_that_runs_out_fails_the_batch_with_what_was_made(start_burnd, bus, iso, tmp_path):
    start_burnd("--config", str(robot_config(tmp_path, blanks=2)))

    async def scenario(client: Client) -> dict[str, Any]:
        return await client.finished(await robot_write(client, iso, copies=3))

    props = run(scenario, bus.address)
    assert props["State"] == "failed"
    assert props["ErrorName"] == ERROR + "InputBinEmpty"
    assert "2 of 3 copies accepted" in props["ErrorMessage"] and "remaining 1 copy" in props["ErrorMessage"]
    assert props["Result"]["accepted"] == 2 and props["Result"]["input_exhausted"] is True


def test_a_silent_robot_fails_the_batch_and_shows_offline_until_it_answers(start_burnd, bus, iso, tmp_path):
    start_burnd("--config", str(robot_config(tmp_path)))

    async def scenario(client: Client) -> None:
        await client.call(ROBOT, ROBOT_IFACE, "Simulate", "sa{sv}", ["silent", {}])
        props = await client.finished(await robot_write(client, iso, copies=1))
        assert props["ErrorName"] == ERROR + "RobotNotResponding", props
        assert await robot_prop(client, "State") == "offline"
        assert await robot_prop(client, "ErrorName") == ERROR + "RobotNotResponding"
        await client.call(ROBOT, ROBOT_IFACE, "Simulate", "sa{sv}", ["answer", {}])
        await client.call(ROBOT, ROBOT_IFACE, "QueryStatus", "a{sv}", [{}])
        assert await robot_prop(client, "State") == "idle"
        assert await client.drive("tower_bay0", "Busy") is False

    run(scenario, bus.address)


def test_cancel_ends_the_batch_and_frees_the_drives(start_burnd, bus, iso, tmp_path):
    start_burnd("--config", str(robot_config(tmp_path, move_seconds=0.05)))

    async def scenario(client: Client) -> None:
        batch = await robot_write(client, iso, copies=5)
        await until(lambda: _has_disc(client, batch))
        await client.call(batch, "org.burnd.Burnd1.Job", "Cancel", "a{sv}", [{}])
        props = await client.finished(batch)
        assert props["State"] == "cancelled" and props["ErrorName"] == ERROR + "Cancelled"
        assert 1 <= props["Result"]["accepted"] < 5
        assert await robot_prop(client, "State") == "idle"
        assert await robot_prop(client, "CurrentJob") == "/"
        assert await client.drive("tower_bay1", "Busy") is False

    run(scenario, bus.address)


def test_kill_9_mid_batch_leaves_an_interrupted_job_with_its_discs(start_burnd, bus, iso, tmp_path):
    config = str(robot_config(tmp_path, move_seconds=0.05))
    daemon = start_burnd("--config", config)

    async def start(client: Client) -> str:
        batch = await robot_write(client, iso, copies=20)
        await until(lambda: _has_disc(client, batch))
        return batch

    batch = run(start, bus.address)
    daemon.kill()
    start_burnd("--config", config, state=daemon.state_dir)

    async def after(client: Client) -> dict[str, Any]:
        return await client.finished(batch)

    props = run(after, bus.address)
    assert props["State"] == "interrupted"
    assert props["Result"]["accepted"] >= 1 and len(props["Result"]["discs"]) >= 1


@needs_dbus_python
def test_nobody_may_not_write_with_a_robot(start_burnd, bus, world, iso, tmp_path):
    start_burnd("--config", str(robot_config(tmp_path)))
    client = f"""
import dbus, os, sys
bus = dbus.bus.BusConnection(sys.argv[1])
robot = dbus.Interface(bus.get_object("org.burnd.Burnd1", "{ROBOT}"), "{ROBOT_IFACE}")
fd = os.open("{iso}", os.O_RDONLY)
try:
    robot.Write(dbus.types.UnixFd(fd), {{"copies": dbus.UInt32(1)}})
except dbus.DBusException as exc:
    print(exc.get_dbus_name())
"""
    out = run_as_nobody(world, "robot_client.py", client, bus.address)
    assert out.stdout.strip() == "org.freedesktop.DBus.Error.AccessDenied", out


async def _equals(value: Awaitable[Any], expected: Any) -> bool:
    return await value == expected


async def _has_disc(client: Client, job: str) -> bool:
    return len(await client.job(job, "Discs")) > 0
