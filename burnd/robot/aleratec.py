"""Aleratec Auto Publisher LS (three drives, 200 discs), after the techtangents wiki and
pyDiscRip's AutoPublisherLS driver.

9600 8E1 with DTR held low; commands are ``C<nn>D<nn>[N<nnnn>]`` lines ending in LF. The robot
echoes the command's prefix when a command ends; motions send progress lines ``T<nn>D1`` …
``T<nn>D4`` first and end with a line holding the prefix and a status, ``S04`` or ``S08``.
A malformed or refused command gets the line ``S01C01E00I11111000O11111111``.

Used: ``C08D9n1``/``C08D9n2`` calibration check (``PARAM02D1`` in the answer = uncalibrated),
``C01D00`` … ``C09d<k>n<v>`` … ``C01D03`` calibration, ``C01D01`` clear alarm, ``C05D01``
steppers on, ``C02D01`` home, ``C03D0<drive>N000<hopper>`` load, ``C04D0<drive>N000<hopper>``
unload. Hoppers 1–3 are the spindles; hopper 5 is the reject spindle (pyDiscRip: "for reject
unloads only").

Unsure in the reference, decided here (verify on a real unit):
- the final line's exact form: taken as prefix + status (``C03S04``); the driver only
  requires the prefix and the status to be in it, as pyDiscRip does;
- S04/S08: on load S04 = disc placed, S08 = the hopper was empty; on unload S04 = disc
  removed, S08 = the drive was empty (the reference table's reading; pyDiscRip's comments on
  C04 say the opposite, on C10 the same);
- there is no bin sensor: the robot cannot report an empty accept hopper or a full reject
  spindle; the batch's configured bin capacities guard them;
- a motion that sent progress lines and then nothing for ``motion_timeout`` is reported as a
  jam (the arm stopped mid-way); no line at all is "not responding";
- per-unit calibration values (``calibration = ["c09d1n4", …]``) are configuration: without
  them an uncalibrated unit is refused, not calibrated with someone else's numbers.
"""

from __future__ import annotations

import re
import time
from typing import Any

from burnd.robot.base import (
    Bin,
    InputBinEmpty,
    Robot,
    RobotError,
    RobotJammed,
    RobotNotResponding,
    RobotProtocolError,
    RobotStatus,
    TrayNotOpen,
    take_options,
)
from burnd.robot.serialport import SerialLink, SerialSettings

DEFAULT_SERIAL = SerialSettings(baudrate=9600, parity="E", dtr=False)
ERROR_LINE = "S01C01E00I11111000O11111111"
UNCALIBRATED = "PARAM02D1"
CALIBRATION_VALUE = re.compile(r"^[cC]09[dD]\d{1,2}[nN]-?\d{1,6}$")


class RobotNeedsCalibration(RobotError):
    dbus_name = "RobotNeedsCalibration"


def command_prefix(line: str) -> str:
    """The part of a command its replies echo: ``C03`` of ``C03D01N0001``."""
    return line[:3].upper()


class AleratecRobot(Robot):
    protocol = "aleratec-apls"
    max_drives = 3
    default_serial = DEFAULT_SERIAL

    def __init__(self, name: str, link: SerialLink, drives: int = 3, *, input_hopper: int = 1,
                 accept_hopper: int = 3, reject_hopper: int = 5, calibration: tuple[str, ...] = ()) -> None:
        super().__init__(name, drives)
        hoppers = (input_hopper, accept_hopper, reject_hopper)
        if len(set(hoppers)) != 3 or not all(h in (1, 2, 3, 5) for h in hoppers) or input_hopper == 5:
            raise ValueError(f"robot {name}: hoppers must be distinct, from 1, 2, 3 and 5 (5 only for "
                             f"rejects), got input {input_hopper}, accept {accept_hopper}, reject {reject_hopper}")
        bad = [v for v in calibration if not CALIBRATION_VALUE.match(v)]
        if bad:
            raise ValueError(f"robot {name}: calibration values must look like c09d12n1356, not {bad}")
        self._link = link
        self._input = input_hopper
        self._targets = {Bin.ACCEPT: accept_hopper, Bin.REJECT: reject_hopper}
        self._calibration = calibration

    @classmethod
    def create(cls, name: str, link: SerialLink, drives: int, options: dict[str, Any]) -> AleratecRobot:
        o = take_options(cls.protocol, options, {"input_hopper": 1, "accept_hopper": 3, "reject_hopper": 5,
                                                 "calibration": []})
        return cls(name, link, drives, input_hopper=o["input_hopper"], accept_hopper=o["accept_hopper"],
                   reject_hopper=o["reject_hopper"], calibration=tuple(o["calibration"]))

    # ------------------------------------------------------------------ exchanges

    def _exchange(self, line: str, *, motion: bool = False) -> tuple[str, list[str]]:
        """Send ``line``; read until the line that ends it. Returns (final line, progress lines)."""
        settings = self._link.settings
        self._link.write(line.encode("ascii") + b"\n")
        prefix = command_prefix(line)
        deadline = time.monotonic() + (settings.motion_timeout if motion else settings.timeout)
        progress: list[str] = []
        while True:
            try:
                raw = self._link.read_until(b"\n", max(deadline - time.monotonic(), 0.0))
            except RobotNotResponding as exc:
                if progress:
                    raise RobotJammed(f"robot {self.name}: {line} stopped after {progress[-1]} — the arm did not "
                                      f"finish; free it, then resume the batch", progress[-1]) from exc
                raise
            text = raw.decode("ascii", "replace").strip()
            if text == ERROR_LINE:
                raise RobotError(f"robot {self.name} refused {line} ({text}) — the unit raised an alarm; "
                                 f"check it, then resume", text)
            if "PARAM" in text or prefix in text:
                return text, progress
            if text.startswith("T"):
                progress.append(text)
                continue
            raise RobotProtocolError(f"robot {self.name}: unexpected line {text!r} after {line}", text)

    def _command(self, line: str) -> str:
        return self._exchange(line)[0]

    def _calibrated(self) -> bool:
        self._command("C08D9n1")
        return UNCALIBRATED not in self._command("C08D9n2")

    # ------------------------------------------------------------------ Robot

    def init(self) -> None:
        if not self._calibrated():
            if not self._calibration:
                raise RobotNeedsCalibration(
                    f"robot {self.name} reports it is not calibrated; set its calibration values "
                    f"(calibration = [\"c09d1n4\", …] from the unit's setup) in the robot's configuration")
            self._command("C01D00")
            for value in self._calibration:
                self._command(value)
            self._command("C01D03")
        self._command("C01D01")
        self._command("C05D01")
        self._exchange("C02D01", motion=True)

    def status(self) -> RobotStatus:
        calibrated = self._calibrated()
        return RobotStatus(calibrated, "calibrated" if calibrated else "needs calibration",
                           {Bin.INPUT: None, Bin.ACCEPT: None, Bin.REJECT: None})

    def load(self, bay: int) -> None:
        self.check_bay(bay)
        final, _ = self._exchange(f"C03D0{bay + 1}N000{self._input}", motion=True)
        if "S08" in final:
            self._command("C01D01")
            raise InputBinEmpty(f"robot {self.name}: hopper {self._input} is empty — fill it, then resume", final)
        if "S04" not in final:
            raise RobotProtocolError(f"robot {self.name}: load ended with {final!r}, neither S04 nor S08", final)

    def unload(self, bay: int, target: Bin) -> None:
        self.check_bay(bay)
        final, _ = self._exchange(f"C04D0{bay + 1}N000{self._targets[target]}", motion=True)
        if "S08" in final:
            self._command("C01D01")
            raise TrayNotOpen(f"robot {self.name}: drive {bay + 1} had no disc to unload — check the tray, then "
                              f"resume", final)
        if "S04" not in final:
            raise RobotProtocolError(f"robot {self.name}: unload ended with {final!r}, neither S04 nor S08", final)

    def close(self) -> None:
        self._link.close()
