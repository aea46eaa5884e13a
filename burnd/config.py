"""burnd's settings: a TOML file where every key has a default, so no file at all works too.

    state_dir = "/var/lib/burnd"
    bus = "system"                  # system, session or a D-Bus address
    group = "cdrom"                 # members may call methods (root always may)
    shutdown_timeout = 600          # seconds a running burn may take to finish on SIGTERM
    media_poll_msecs = 2000         # kernel media polling for managed drives where it is off
    job_history = 1000              # ended jobs kept as D-Bus objects (all stay in the database)
    [[virtual_burner]]
    media = "bd-r"                  # any burnd.emu kind
    size = 20000                    # blocks (default: the medium's real capacity)
    backing = "/var/lib/burnd/v0.img"
    name = "vburner0"
    group = "copies"
    autoload = true                 # a new blank medium after every eject
    faults = ["sync: 2/04/08 x3"]   # burnd.emu.faults rules, for demos and tests
    [[auto_attach]]                 # attach images automatically: see burnd.virtual.autoattach
    name = "inbox"
    folder = "/srv/iso-inbox"
    glob = "*.iso"
    [[robot]]                       # a disc robot on a serial port: see burnd.robot.config
    name = "tower"
    protocol = "rimage-ras13"
    port = "/dev/ttyUSB0"
    drives = ["/dev/sr1", "/dev/sr0"]
    [[virtual_robot]]               # a simulated one with virtual burners: see burnd.robot.virtual
    name = "vtower"
    protocol = "generic"

Unknown keys are errors (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from burnd.emu import MEDIA_KINDS, FaultPlan, FaultPlanError
from burnd.errors import ConfigError
from burnd.robot.config import RobotConfig, parse_robots
from burnd.robot.virtual import VirtualRobotConfig, parse_virtual_robots
from burnd.virtual.autoattach import Rule, parse_rules

DEFAULT_PATH = "/etc/burnd/burnd.toml"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,64}$")


@dataclass(frozen=True, slots=True)
class VirtualBurnerConfig:
    media: str
    size: int | None = None
    backing: str | None = None
    name: str | None = None
    group: str = ""
    autoload: bool = False
    faults: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Config:
    state_dir: str = "/var/lib/burnd"
    bus: str = "system"
    group: str = "cdrom"
    shutdown_timeout: float = 600.0
    media_poll_msecs: int = 2000
    job_history: int = 1000
    virtual_burners: tuple[VirtualBurnerConfig, ...] = field(default=())
    auto_attach: tuple[Rule, ...] = field(default=())
    robots: tuple[RobotConfig, ...] = field(default=())
    virtual_robots: tuple[VirtualRobotConfig, ...] = field(default=())


def parse_virtual_burner_flag(text: str) -> VirtualBurnerConfig:
    """``MEDIA[:SIZE]`` from ``--virtual-burner`` (SIZE in 2048-byte blocks)."""
    media, _, size = text.partition(":")
    return virtual_burner({"media": media, **({"size": _int_text(size, text)} if size else {})}, "--virtual-burner")


def _int_text(value: str, whole: str) -> int:
    try:
        return int(value, 0)
    except ValueError:
        raise ConfigError(f"--virtual-burner {whole}: {value!r} is not a block count; write MEDIA:BLOCKS, "
                          f"e.g. bd-r:20000") from None


def virtual_burner(table: dict[str, object], where: str) -> VirtualBurnerConfig:
    """One ``[[virtual_burner]]`` table (or CreateVirtualBurner's arguments), checked."""
    allowed = {"media": str, "size": int, "backing": str, "name": str, "group": str, "autoload": bool,
               "faults": list}
    _check_keys(table, allowed, where)
    media = table.get("media")
    if media not in MEDIA_KINDS:
        raise ConfigError(f"{where}: media {media!r} is not a medium burnd can emulate; use one of "
                          f"{', '.join(MEDIA_KINDS)}")
    size = table.get("size")
    if size is not None and size <= 0:  # type: ignore[operator]
        raise ConfigError(f"{where}: size must be a positive number of 2048-byte blocks, not {size}")
    faults = tuple(str(rule) for rule in table.get("faults", []))  # type: ignore[attr-defined]
    try:
        FaultPlan.parse(faults)
    except FaultPlanError as exc:
        raise ConfigError(f"{where}: {exc}; see burnd/emu/faults.py for the rule grammar") from None
    name = table.get("name")
    if name is not None and not NAME_PATTERN.match(str(name)):
        raise ConfigError(f"{where}: name {name!r} must be 1-64 letters, digits or underscores")
    return VirtualBurnerConfig(media=str(media), size=size, backing=table.get("backing"),  # type: ignore[arg-type]
                               name=name, group=str(table.get("group", "")),  # type: ignore[arg-type]
                               autoload=bool(table.get("autoload", False)), faults=faults)


def _check_keys(table: dict[str, object], allowed: dict[str, type], where: str) -> None:
    for key, value in table.items():
        kind = allowed.get(key)
        if kind is None:
            raise ConfigError(f"{where}: unknown setting {key!r}; known: {', '.join(sorted(allowed))}")
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{where}: {key} must be a {kind.__name__}, not {type(value).__name__}")


def parse(text: str, where: str = "config") -> Config:
    """A Config from TOML text; raises ConfigError naming the bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML ({exc}); fix the syntax") from None
    rules = parse_rules(data.pop("auto_attach", []), f"{where}: auto_attach")
    robots = parse_robots(data.pop("robot", []), f"{where}: robot")
    virtual_robots = parse_virtual_robots(data.pop("virtual_robot", []), f"{where}: virtual_robot")
    burners = data.pop("virtual_burner", [])
    if not isinstance(burners, list):
        raise ConfigError(f"{where}: virtual_burner must be an array of tables ([[virtual_burner]])")
    _check_keys(data, {"state_dir": str, "bus": str, "group": str, "shutdown_timeout": float,
                       "media_poll_msecs": int, "job_history": int}, where)
    config = Config(**{k: (float(v) if k == "shutdown_timeout" else v) for k, v in data.items()})
    return replace(config, auto_attach=rules, robots=robots, virtual_robots=virtual_robots,
                   virtual_burners=tuple(virtual_burner(table, f"{where}: virtual_burner #{n + 1}")
                                         for n, table in enumerate(burners)))


def load(path: str | None) -> Config:
    """The file at ``path`` (the default path may be missing; an explicit one may not)."""
    target = Path(path or DEFAULT_PATH)
    try:
        text = target.read_text()
    except FileNotFoundError:
        if path is None:
            return Config()
        raise ConfigError(f"the configuration file {target} does not exist; create it or drop --config") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {target}: {exc.strerror}") from None
    return parse(text, str(target))
