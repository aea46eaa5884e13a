"""Pure reply parsing and encoding of the protocol modules, and the serial link's behaviour."""

from __future__ import annotations

import os
import threading
import tty

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burnd.robot import aleratec, generic, rimage
from burnd.robot.base import (
    InputBinEmpty,
    RobotError,
    RobotJammed,
    RobotNotResponding,
    RobotProtocolError,
)
from burnd.robot.serialport import SerialLink, SerialSettings


def test_generic_status_codes() -> None:
    assert generic.parse_status(b"22") == 22
    with pytest.raises(RobotProtocolError):
        generic.parse_status(b"X")
    assert isinstance(generic.status_error("r", "load", 18), RobotJammed)
    assert isinstance(generic.status_error("r", "load", 22), InputBinEmpty)
    kodak = generic.status_error("r", "load", 0)
    assert isinstance(kodak, InputBinEmpty) and "5 or fewer" in str(kodak)
    other = generic.status_error("r", "drop into reject", 0)
    assert type(other) is RobotError and other.raw == "E 00"


def test_rimage_frames() -> None:
    assert rimage.command("!e1C") == b"\x1b!e1C"
    assert rimage.parse_reply(b"\x1b!f11C\x04") == "!f11C"
    assert rimage.parse_status("!e1007000C") == 7
    assert rimage.parse_value("!f01036000C") == 36000
    with pytest.raises(RobotProtocolError):
        rimage.parse_reply(b"!f11C\x04")
    with pytest.raises(RobotProtocolError):
        rimage.parse_status("!e10C")


def test_rimage_bin_level_readings() -> None:
    assert rimage.count_from_value(36000) == 0
    assert rimage.count_from_value(rimage.NO_VALUE) is None
    assert rimage.count_from_value(10) == rimage.BIN_CAPACITY


@settings(max_examples=60, deadline=None)
@given(st.integers(0, rimage.BIN_CAPACITY))
def test_rimage_bin_level_round_trip(count: int) -> None:
    assert rimage.count_from_value(rimage.value_for_count(count)) == count


def test_aleratec_prefix() -> None:
    assert aleratec.command_prefix("c08D9n1") == "C08"
    assert aleratec.command_prefix("C03D01N0001") == "C03"


@pytest.fixture
def pty_pair():  # type: ignore[no-untyped-def]
    master, slave = os.openpty()
    tty.setraw(master)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def test_query_is_resent_while_unanswered(pty_pair) -> None:  # type: ignore[no-untyped-def]
    master, port = pty_pair
    link = SerialLink(port, SerialSettings(parity="E", dtr=False, timeout=0.2, retries=2))

    def answer_second_query() -> None:
        first = os.read(master, 16)
        second = os.read(master, 16)
        os.write(master, b"OK\n")
        seen.extend([first, second])

    seen: list[bytes] = []
    helper = threading.Thread(target=answer_second_query)
    helper.start()
    assert link.query(b"?", lambda t: link.read_until(b"\n", t)) == b"OK\n"
    helper.join()
    assert seen == [b"?", b"?"]
    link.close()


def test_silence_names_the_settings_and_the_partial_reply(pty_pair) -> None:  # type: ignore[no-untyped-def]
    master, port = pty_pair
    link = SerialLink(port, SerialSettings(baudrate=38400, rtscts=True, timeout=0.1, retries=0))
    os.write(master, b"\x1b!f1")
    with pytest.raises(RobotNotResponding, match="38400 8N1 RTS/CTS") as caught:
        link.read_until(b"\x04", 0.1)
    assert caught.value.raw == "\x1b!f1"
    link.close()


def test_a_missing_port_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RobotError, match="cannot open the robot's serial port"):
        SerialLink(str(tmp_path / "ttyUSB9"), SerialSettings())
