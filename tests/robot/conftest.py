"""A robot simulator on a real pty with virtual burners in its bays, and a driver opened on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from burnd.drive import OpticalDrive
from burnd.emu import FaultPlan, VirtualBurner
from burnd.robot.base import Robot
from burnd.robot.config import open_robot, parse_robot
from burnd.robot.sim import Mechanics, RobotSim
from tests.fixtures.robot_images import write_image

DISC_BLOCKS = 1200
"""CD-R capacity of every simulated blank (2.3 MiB): room for the 1 MiB test image."""
IMAGE_BYTES = 1 << 20
BAYS = {"generic": 1, "rimage-ras13": 4, "aleratec-apls": 3, "primera-composer": 2}
OPTIONS: dict[str, dict[str, object]] = {"primera-composer": {"reject_slot": "J"}}
SIM_OPTIONS: dict[str, dict[str, str]] = {"primera-composer": {"reject_slot": "J"}}
FAST_SERIAL = {"timeout": 0.3, "motion_timeout": 0.6, "retries": 1}


@dataclass
class Rig:
    sim: RobotSim
    mech: Mechanics
    robot: Robot
    drives: list[OpticalDrive]
    burners: list[VirtualBurner]


@pytest.fixture
def image(tmp_path: Path) -> Path:
    return write_image(tmp_path / "image.bin", IMAGE_BYTES)


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    """``make_rig(protocol, blanks=5, burner_faults={bay: [rules]}, **mechanics_kwargs)``."""
    rigs: list[Rig] = []

    def make(protocol: str, blanks: int = 5, burner_faults: dict[int, list[str]] | None = None,
             **mech_options: object) -> Rig:
        faults = burner_faults or {}
        bays = BAYS[protocol]
        burners = [VirtualBurner(None, name=f"{protocol}-bay{i}", busy_seconds=0.01,
                                 faults=FaultPlan.parse(faults.get(i, []))) for i in range(bays)]
        discs = tmp_path / f"discs-{len(rigs)}"
        discs.mkdir()
        mech = Mechanics(burners, blanks, discs, capacity=DISC_BLOCKS, **mech_options)  # type: ignore[arg-type]
        sim = RobotSim(protocol, mech, **SIM_OPTIONS.get(protocol, {}))
        config = parse_robot({"name": "r1", "protocol": protocol, "port": sim.port,
                              "drives": [f"/dev/sr{i}" for i in range(bays)], "serial": FAST_SERIAL,
                              "options": OPTIONS.get(protocol, {})})
        robot = open_robot(config)
        rig = Rig(sim, mech, robot, [OpticalDrive(s) for s in mech.bays], burners)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.robot.close()
        rig.sim.close()
