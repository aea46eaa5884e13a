"""Virtual robots: a simulated robot on a pty whose bays hold virtual burners, inside burnd.

What virtual burners are to drives, virtual robots are to autoloaders: a machine without a
robot can run, demo and script every robot feature, and the daemon's robot code path is the
real one — the driver talks to the simulator through the kernel's tty layer, and the bays are
drives burnd manages like any other.

    [[virtual_robot]]
    name = "tower"               # required; its drives are tower_bay0, tower_bay1, ...
    protocol = "rimage-ras13"    # default generic
    bays = 2                     # default 1 (at most what the protocol serves)
    media = "cd-r"               # the blanks in the input bin
    size = 1200                  # blocks per blank (default: the medium's capacity)
    blanks = 25                  # discs in the input bin at start
    bin_capacity = 108           # discs each bin holds
    reject_capacity = 108
    move_seconds = 0.0           # how long one arm motion takes
    faults = ["jam after 4"]     # burnd.robot.sim actions applied at start
    bay_faults = [[], ["write: 3/0C/00 x1"]]   # burnd.emu fault rules per bay
    [virtual_robot.serial]       # optional overrides, as for [[robot]]
    motion_timeout = 3.0

A simulator answers at once, so its serial timeouts default to seconds, not the minutes a
real arm may need: a jam (which a Rimage unit reports only as "busy" until the motion
timeout) shows within ``motion_timeout`` (default 3 s plus ten motions' ``move_seconds``).

The simulator's bins live in memory: a restart starts with a full input bin and empty
accept/reject bins (the disc files of the previous run are deleted).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from burnd.emu import MEDIA_KINDS, FaultPlan, FaultPlanError, VirtualBurner
from burnd.robot.base import Bin
from burnd.robot.config import NAME, PROTOCOLS, RobotConfig, RobotConfigError
from burnd.robot.serialport import SerialSettings
from burnd.robot.sim import Mechanics, RobotSim, TraySensor, parse_action

PRIMERA_REJECT_SLOT = "J"
"""The simulated Composer's reject position (its sheet names none, so both ends agree on one)."""
KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str, "protocol": str, "bays": int, "media": str, "size": int, "blanks": int, "bin_capacity": int,
    "reject_capacity": int, "move_seconds": (int, float), "faults": list, "bay_faults": list, "serial": dict}
SIM_TIMEOUT = 2.0
"""Seconds a simulator may take to answer a query (it answers in microseconds)."""
SIM_MOTION_TIMEOUT = 3.0


@dataclass(frozen=True, slots=True)
class VirtualRobotConfig:
    name: str
    protocol: str = "generic"
    bays: int = 1
    media: str = "cd-r"
    size: int | None = None
    blanks: int = 25
    bin_capacity: int = 108
    reject_capacity: int | None = None
    move_seconds: float = 0.0
    faults: tuple[str, ...] = ()
    bay_faults: tuple[tuple[str, ...], ...] = ()
    serial: tuple[tuple[str, Any], ...] = ()
    """Serial setting overrides (a tuple of pairs, so the config stays hashable)."""

    def drive_ids(self) -> tuple[str, ...]:
        return tuple(f"{self.name}_bay{bay}" for bay in range(self.bays))


def parse_virtual_robots(entries: object, where: str = "virtual_robot") -> tuple[VirtualRobotConfig, ...]:
    if not isinstance(entries, list):
        raise RobotConfigError(f"{where} must be an array of tables ([[virtual_robot]])")
    robots = tuple(parse_virtual_robot(entry, f"{where} #{n + 1}") for n, entry in enumerate(entries))
    names = [r.name for r in robots]
    if len(set(names)) != len(names):
        raise RobotConfigError(f"virtual robot names must be unique, got {names}")
    return robots


def parse_virtual_robot(table: object, where: str) -> VirtualRobotConfig:
    """One ``[[virtual_robot]]`` table, checked (pure: nothing is created)."""
    if not isinstance(table, dict):
        raise RobotConfigError(f"{where} must be a table")
    for key, value in table.items():
        kind = KEYS.get(key)
        if kind is None:
            raise RobotConfigError(f"{where}: unknown key {key!r}; known: {', '.join(sorted(KEYS))}")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise RobotConfigError(f"{where}: {key} has the wrong type ({type(value).__name__})")
    name = table.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise RobotConfigError(f"{where}: name is required: 1-64 letters, digits or _")
    where = f"virtual robot {name}"
    config = VirtualRobotConfig(
        name, table.get("protocol", "generic"), table.get("bays", 1), table.get("media", "cd-r"), table.get("size"),
        table.get("blanks", 25), table.get("bin_capacity", 108), table.get("reject_capacity"),
        float(table.get("move_seconds", 0.0)), tuple(table.get("faults", ())),
        tuple(tuple(rules) if isinstance(rules, list) else rules for rules in table.get("bay_faults", ())),
        tuple(table.get("serial", {}).items()))
    _check(config, where)
    return config


def _check(config: VirtualRobotConfig, where: str) -> None:
    cls = PROTOCOLS.get(config.protocol)
    if cls is None:
        raise RobotConfigError(f"{where}: unknown protocol {config.protocol!r}; use one of "
                               f"{', '.join(sorted(PROTOCOLS))}")
    if not 1 <= config.bays <= cls.max_drives:
        raise RobotConfigError(f"{where}: the {config.protocol} protocol serves 1..{cls.max_drives} bay(s), "
                               f"not {config.bays}")
    if config.media not in MEDIA_KINDS:
        raise RobotConfigError(f"{where}: media {config.media!r} is not a medium burnd can emulate; use one of "
                               f"{', '.join(MEDIA_KINDS)}")
    numbers = {"size": config.size, "blanks": config.blanks, "bin_capacity": config.bin_capacity,
               "reject_capacity": config.reject_capacity}
    for key, value in numbers.items():
        if value is not None and value < (0 if key == "blanks" else 1):
            raise RobotConfigError(f"{where}: {key} must be a positive number, not {value}")
    if config.move_seconds < 0:
        raise RobotConfigError(f"{where}: move_seconds must not be negative")
    if len(config.bay_faults) > config.bays or not all(isinstance(rules, tuple) and
                                                        all(isinstance(r, str) for r in rules)
                                                        for rules in config.bay_faults):
        raise RobotConfigError(f"{where}: bay_faults must list at most {config.bays} lists of fault rules, bay 0 "
                               f"first")
    if not all(isinstance(action, str) for action in config.faults):
        raise RobotConfigError(f"{where}: faults must list robot actions as strings")
    try:
        serial_settings(config)
        for action in config.faults:
            parse_action(action)
        for rules in config.bay_faults:
            FaultPlan.parse(rules)
    except (ValueError, TypeError, FaultPlanError) as exc:
        raise RobotConfigError(f"{where}: {exc}") from None


def serial_settings(config: VirtualRobotConfig) -> SerialSettings:
    """The protocol's framing with a simulator's timeouts, then the configured overrides
    (ValueError naming a bad one)."""
    fast = {"timeout": SIM_TIMEOUT, "motion_timeout": SIM_MOTION_TIMEOUT + 10 * config.move_seconds}
    return PROTOCOLS[config.protocol].default_serial.merged(fast).merged(dict(config.serial))


def parse_virtual_robot_flag(text: str, index: int) -> VirtualRobotConfig:
    """``--virtual-robot PROTOCOL[:BAYS[:BLANKS]]``, named vrobot<index>."""
    fields = text.split(":")
    table: dict[str, Any] = {"name": f"vrobot{index}", "protocol": fields[0]}
    for key, value in zip(("bays", "blanks"), fields[1:3]):
        if not value.isdigit():
            raise RobotConfigError(f"--virtual-robot {text}: {key} {value!r} is not a number; write "
                                   f"PROTOCOL[:BAYS[:BLANKS]], e.g. rimage-ras13:2:20")
        table[key] = int(value)
    if len(fields) > 3:
        raise RobotConfigError(f"--virtual-robot {text}: write PROTOCOL[:BAYS[:BLANKS]]")
    return parse_virtual_robot(table, f"--virtual-robot {text}")


class VirtualRobot:
    """The simulator of one ``[[virtual_robot]]``: its burners (one per bay, empty until the
    robot places a disc), their tray sensors (the transports burnd must use for the bays, so
    the robot sees the trays burnd opens), and the RobotConfig the daemon drives it with."""

    def __init__(self, config: VirtualRobotConfig, disc_dir: Path) -> None:
        shutil.rmtree(disc_dir, ignore_errors=True)
        disc_dir.mkdir(parents=True)
        self.config = config
        faults = list(config.bay_faults) + [()] * (config.bays - len(config.bay_faults))
        burners = [VirtualBurner(None, name=drive_id, busy_seconds=0.05, faults=FaultPlan.parse(rules))
                   for drive_id, rules in zip(config.drive_ids(), faults)]
        self.mech = Mechanics(burners, config.blanks, disc_dir, media=config.media, capacity=config.size,
                              bin_capacity=config.bin_capacity, reject_capacity=config.reject_capacity,
                              move_seconds=config.move_seconds)
        for action in config.faults:
            self.mech.inject(action)
        primera = config.protocol == "primera-composer"
        self.sim = RobotSim(config.protocol, self.mech, **({"reject_slot": PRIMERA_REJECT_SLOT} if primera else {}))
        self.robot_config = RobotConfig(config.name, config.protocol, self.sim.port, config.drive_ids(),
                                        serial_settings(config),
                                        {"reject_slot": PRIMERA_REJECT_SLOT} if primera else {})

    @property
    def bays(self) -> list[TraySensor]:
        return self.mech.bays

    def bins(self) -> dict[Bin, int]:
        """What is in each bin: a simulator can count what a real robot cannot."""
        with self.mech.lock:
            return {Bin.INPUT: len(self.mech.input), Bin.ACCEPT: len(self.mech.bins[Bin.ACCEPT]),
                    Bin.REJECT: len(self.mech.bins[Bin.REJECT])}

    def accepted_discs(self) -> list[str]:
        """Backing files of the discs in the accept bin, in the order they landed."""
        with self.mech.lock:
            return [disc.path for disc in self.mech.bins[Bin.ACCEPT]]

    def simulate(self, action: str) -> None:
        self.mech.inject(action)

    def close(self) -> None:
        self.sim.close()
