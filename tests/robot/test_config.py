"""``[[robot]]`` entries: defaults per protocol, overrides, and every refusal."""

from __future__ import annotations

from typing import Any

import pytest

from burnd.errors import ConfigError
from burnd.robot.config import PROTOCOLS, RobotConfigError, parse_robot, parse_robots


def entry(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "tower", "protocol": "rimage-ras13", "port": "/dev/ttyUSB0",
                            "drives": ["/dev/sr1", "/dev/sr0"]}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_protocol_defaults_apply() -> None:
    config = parse_robot(entry())
    assert config.drives == ("/dev/sr1", "/dev/sr0")
    assert (config.serial.baudrate, config.serial.parity, config.serial.rtscts) == (38400, "N", True)
    aleratec = parse_robot(entry(protocol="aleratec-apls"))
    assert (aleratec.serial.baudrate, aleratec.serial.parity, aleratec.serial.dtr) == (9600, "E", False)
    assert parse_robot(entry(protocol="primera-composer")).serial.baudrate == 14400
    assert parse_robot(entry(protocol="generic", drives=["/dev/sr0"])).serial.describe() == "9600 8N1"


def test_serial_overrides_and_capacities() -> None:
    config = parse_robot(entry(serial={"baudrate": 19200, "timeout": 2.5, "retries": 0}, reject_capacity=25,
                               options={"reject_bin": 0, "accept_bin": 3, "input_bins": [1, 2]}))
    assert (config.serial.baudrate, config.serial.timeout, config.serial.retries) == (19200, 2.5, 0)
    assert config.serial.rtscts is True
    assert config.reject_capacity == 25 and config.accept_capacity is None
    assert config.options == {"reject_bin": 0, "accept_bin": 3, "input_bins": [1, 2]}


@pytest.mark.parametrize(("changes", "complaint"), [
    ({"colour": "red"}, "unknown key"),
    ({"name": "a b"}, "letters, digits"),
    ({"protocol": "nimbie"}, "unknown protocol"),
    ({"port": None}, "port is required"),
    ({"drives": []}, "distinct device paths"),
    ({"drives": ["/dev/sr0", "/dev/sr0"]}, "distinct device paths"),
    ({"drives": [f"/dev/sr{i}" for i in range(5)]}, "at most 4"),
    ({"serial": {"baud": 9600}}, "unknown serial setting"),
    ({"serial": {"parity": "X"}}, "parity"),
    ({"serial": {"timeout": 0}}, "positive"),
    ({"options": {"reject_slot": "J"}}, "unknown option"),
    ({"options": {"accept_bin": "2"}}, "must be a int"),
    ({"options": {"accept_bin": 0}}, "distinct"),
    ({"reject_capacity": 0}, "positive number"),
    ({"protocol": "primera-composer", "options": {"reject_slot": "R"}}, "one letter"),
    ({"protocol": "aleratec-apls", "options": {"reject_hopper": 4}}, "hoppers"),
    ({"protocol": "aleratec-apls", "options": {"calibration": ["d1n4"]}}, "c09d12n1356"),
])
def test_bad_entries_are_refused_with_the_reason(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(RobotConfigError, match=complaint):
        parse_robot(entry(**changes))


def test_a_drive_in_two_robots_is_refused() -> None:
    with pytest.raises(ConfigError, match="more than one robot"):
        parse_robots([entry(), entry(name="other", drives=["/dev/sr0"])])


def test_names_are_unique() -> None:
    with pytest.raises(RobotConfigError, match="unique"):
        parse_robots([entry(), entry(drives=["/dev/sr5"])])


def test_every_protocol_is_registered() -> None:
    assert sorted(PROTOCOLS) == ["aleratec-apls", "generic", "primera-composer", "rimage-ras13"]
    assert [c.max_drives for _, c in sorted(PROTOCOLS.items())] == [3, 1, 2, 4]
