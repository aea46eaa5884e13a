"""``[[robot]]`` entries of burnd.toml → RobotConfig, and a RobotConfig → an open Robot.

    [[robot]]
    name = "tower"                  # [A-Za-z0-9_], unique
    protocol = "rimage-ras13"       # generic, rimage-ras13, aleratec-apls, primera-composer
    port = "/dev/ttyUSB0"
    drives = ["/dev/sr1", "/dev/sr0"]   # bay 0, bay 1, ... (robots do not know their drives)
    accept_capacity = 100           # optional: discs the accept / reject bins hold, for
    reject_capacity = 25            # robots that cannot sense a full bin
    [robot.serial]                  # optional overrides of the protocol's defaults
    baudrate = 38400
    timeout = 5.0
    [robot.options]                 # protocol-specific, e.g. reject_slot for the Composer
    reject_bin = 3

Unknown keys are errors, as everywhere in burnd's configuration. Parsing is a pure function
over the dict tomllib gives; nothing is opened until :func:`open_robot`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from burnd.errors import ConfigError
from burnd.robot.aleratec import AleratecRobot
from burnd.robot.base import Robot
from burnd.robot.generic import GenericRobot
from burnd.robot.primera import PrimeraRobot
from burnd.robot.rimage import RimageRobot
from burnd.robot.serialport import SerialLink, SerialSettings

PROTOCOLS: dict[str, type[GenericRobot | RimageRobot | AleratecRobot | PrimeraRobot]] = {
    cls.protocol: cls for cls in (GenericRobot, RimageRobot, AleratecRobot, PrimeraRobot)
}
NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
KEYS = frozenset({"name", "protocol", "port", "drives", "serial", "options", "accept_capacity", "reject_capacity"})


class RobotConfigError(ConfigError):
    """A ``[[robot]]`` entry is wrong; the message names the entry and the key."""

    dbus_name = "BadRobotConfig"


@dataclass(frozen=True, slots=True)
class RobotConfig:
    name: str
    protocol: str
    port: str
    drives: tuple[str, ...]
    serial: SerialSettings
    options: dict[str, Any] = field(default_factory=dict)
    accept_capacity: int | None = None
    reject_capacity: int | None = None


def parse_robots(entries: object, where: str = "robot") -> tuple[RobotConfig, ...]:
    """Every ``[[robot]]`` table, checked; a name or a drive used twice is an error."""
    if not isinstance(entries, list):
        raise RobotConfigError(f"{where} must be an array of tables ([[robot]])")
    robots = tuple(parse_robot(entry, i) for i, entry in enumerate(entries))
    names = [r.name for r in robots]
    if len(set(names)) != len(names):
        raise RobotConfigError(f"robot names must be unique, got {names}")
    drives = [d for r in robots for d in r.drives]
    twice = sorted({d for d in drives if drives.count(d) > 1})
    if twice:
        raise RobotConfigError(f"drive(s) {', '.join(twice)} belong to more than one robot bay; each drive sits "
                               f"in one bay of one robot")
    return robots


def parse_robot(entry: dict[str, Any], index: int = 0) -> RobotConfig:
    where = f"[[robot]] #{index + 1}"
    if not isinstance(entry, dict):
        raise RobotConfigError(f"{where} must be a table")
    unknown = sorted(set(entry) - KEYS)
    if unknown:
        raise RobotConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}")
    name = _required(entry, "name", str, where)
    if not NAME.match(name):
        raise RobotConfigError(f"{where}: name {name!r} must be 1-64 letters, digits or _")
    where = f"robot {name}"
    protocol = _required(entry, "protocol", str, where)
    cls = PROTOCOLS.get(protocol)
    if cls is None:
        raise RobotConfigError(f"{where}: unknown protocol {protocol!r}; use one of {', '.join(sorted(PROTOCOLS))}")
    port = _required(entry, "port", str, where)
    drives = _required(entry, "drives", list, where)
    if not drives or not all(isinstance(d, str) and d for d in drives) or len(set(drives)) != len(drives):
        raise RobotConfigError(f"{where}: drives must list distinct device paths, bay 0 first")
    if len(drives) > cls.max_drives:
        raise RobotConfigError(f"{where}: the {protocol} protocol serves at most {cls.max_drives} drive(s), "
                               f"{len(drives)} are listed")
    serial = entry.get("serial", {})
    options = entry.get("options", {})
    if not isinstance(serial, dict) or not isinstance(options, dict):
        raise RobotConfigError(f"{where}: serial and options must be tables")
    try:
        settings = cls.default_serial.merged(serial)
        cls.create(name, _NoLink(), len(drives), dict(options))
    except (ValueError, TypeError) as exc:
        message = str(exc)
        raise RobotConfigError(message if message.startswith(where) else f"{where}: {message}") from exc
    capacities = {key: entry.get(key) for key in ("accept_capacity", "reject_capacity")}
    for key, value in capacities.items():
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise RobotConfigError(f"{where}: {key} must be a positive number of discs, not {value!r}")
    return RobotConfig(name, protocol, port, tuple(drives), settings, dict(options), **capacities)


def open_robot(config: RobotConfig) -> Robot:
    """Open the robot's serial port and build its driver (``init`` is the caller's call)."""
    cls = PROTOCOLS[config.protocol]
    return cls.create(config.name, SerialLink(config.port, config.serial), len(config.drives), dict(config.options))


def _required(entry: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = entry.get(key)
    if not isinstance(value, kind):
        raise RobotConfigError(f"{where}: {key} is required and must be a {kind.__name__}")
    return value


class _NoLink(SerialLink):
    """Stands in for the port while a configuration is only being checked: a driver's
    constructor validates its options without touching the link."""

    def __init__(self) -> None:
        pass
