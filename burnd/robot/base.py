"""The Robot interface every autoloader driver implements, and the robot error states.

A robot moves discs between bins and drive trays; it never opens or closes a tray (the host
does, with START STOP UNIT) and it does not know which /dev/sr* sits in which bay — the
configuration maps bay numbers to drives. Drivers number bays from 0 here and translate to
their protocol's numbering themselves.

The error classes are the states a batch pauses on. Each has its own ``dbus_name`` so a
client can tell "refill the input bin" from "open the lid and free the arm" without parsing
text; :attr:`RobotError.raw` keeps the robot's own answer for the log.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from burnd.errors import BurndError


class Bin(str, enum.Enum):
    INPUT = "input"
    ACCEPT = "accept"
    REJECT = "reject"


class RobotError(BurndError):
    """Base of the robot errors: the robot did not do what it was told."""

    dbus_name = "RobotError"

    def __init__(self, message: str, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw


class RobotJammed(RobotError):
    """A motion started but did not finish, or the robot reports a mechanical fault."""

    dbus_name = "RobotJammed"


class InputBinEmpty(RobotError):
    dbus_name = "InputBinEmpty"


class RejectBinFull(RobotError):
    dbus_name = "RejectBinFull"


class AcceptBinFull(RobotError):
    dbus_name = "AcceptBinFull"


class RobotNotResponding(RobotError):
    """Nothing (or only part of a reply) came back over the serial line in time."""

    dbus_name = "RobotNotResponding"


class RobotDoorOpen(RobotError):
    dbus_name = "RobotDoorOpen"


class TrayNotOpen(RobotError):
    """The robot found no open drive tray to put a disc into, or no disc in the tray."""

    dbus_name = "RobotTrayProblem"


class RobotProtocolError(RobotError):
    """An answer the driver does not understand: wrong protocol, wrong serial settings, or a
    firmware that differs from the documented command set."""

    dbus_name = "RobotProtocolError"


class RobotUnsupported(RobotError):
    """The robot's documented command set has no way to do what was asked."""

    dbus_name = "RobotUnsupported"


def bin_full_error(target: Bin, robot: str, raw: str = "") -> RobotError:
    """The error for a full accept or reject bin, telling the operator what to empty."""
    cls = RejectBinFull if target is Bin.REJECT else AcceptBinFull
    return cls(f"robot {robot}: the {target.value} bin is full — empty it, then resume the batch", raw)


@dataclass(frozen=True, slots=True)
class RobotStatus:
    """What the robot says about itself. ``bins`` holds counts the robot can measure (None
    where it cannot: most robots have no bin sensors); ``detail`` is a person-readable state."""

    ready: bool
    detail: str
    bins: dict[Bin, int | None] = field(default_factory=dict)
    raw: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"ready": self.ready, "detail": self.detail, "raw": self.raw,
                "bins": {b.value: n for b, n in self.bins.items()}}


class Robot(ABC):
    """One disc robot on one serial link. Not thread-safe: callers serialise motions (a robot
    has one arm); :class:`burnd.robot.batch.Batch` holds a lock around every call."""

    protocol: ClassVar[str] = ""
    max_drives: ClassVar[int] = 1

    def __init__(self, name: str, drives: int) -> None:
        if not 1 <= drives <= self.max_drives:
            raise ValueError(f"robot {name}: the {self.protocol} protocol drives 1..{self.max_drives} bays, "
                             f"not {drives}")
        self.name = name
        self.drives = drives

    @abstractmethod
    def init(self) -> None:
        """Sign on, clear alarms, home or calibrate: what the robot needs before moving discs."""

    @abstractmethod
    def status(self) -> RobotStatus:
        ...

    @abstractmethod
    def load(self, bay: int) -> None:
        """Move a blank disc from the input bin into bay ``bay``'s open tray.
        Raises InputBinEmpty when there is none."""

    @abstractmethod
    def unload(self, bay: int, target: Bin) -> None:
        """Move the disc in bay ``bay``'s open tray to the accept or reject bin."""

    @abstractmethod
    def close(self) -> None:
        """Release the serial port."""

    def check_bay(self, bay: int) -> None:
        if not 0 <= bay < self.drives:
            raise ValueError(f"robot {self.name} has bays 0..{self.drives - 1}, not {bay}")


def take_options(protocol: str, options: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with ``options``; an unknown key or a value of the wrong type is a
    ValueError (a typo in the configuration must not fall back to a default silently)."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        known = ", ".join(sorted(defaults)) or "none"
        raise ValueError(f"unknown option(s) {', '.join(unknown)} for the {protocol} protocol (known: {known})")
    merged = dict(defaults)
    for key, value in options.items():
        default = defaults[key]
        if default is not None and not isinstance(value, type(default)):
            raise ValueError(f"option {key} of the {protocol} protocol must be a {type(default).__name__}, "
                             f"not {value!r}")
        merged[key] = value
    return merged
