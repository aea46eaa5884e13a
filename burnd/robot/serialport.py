"""Per-robot serial settings and a framed, timed, retrying link over pyserial.

Robot families disagree on everything below the command set (9600 8N1; 9600 8E1 with DTR held
low; 38400 8N1 with RTS/CTS; 14400 8N1 with CR-terminated lines), so every setting is data
with the protocol's default and a per-robot override from the configuration.

Two timeouts: ``timeout`` bounds the wait for a reply to a query or for the first sign of
life after a motion command; ``motion_timeout`` bounds a whole motion (an arm can take tens
of seconds to swing to a bin). Only idempotent exchanges (queries) are resent on silence, at
most ``retries`` times: resending a motion whose reply was lost could move a second disc.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import serial

from burnd.robot.base import RobotError, RobotNotResponding

log = logging.getLogger("burnd.robot")

PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}
READ_SLICE = 0.05
"""Seconds per blocking read, so a long wait still notices its deadline promptly."""


class SerialOpenError(RobotError):
    dbus_name = "RobotPortError"


@dataclass(frozen=True, slots=True)
class SerialSettings:
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1
    rtscts: bool = False
    dtr: bool | None = None
    """Drive DTR to this level after opening; None leaves pyserial's default (asserted)."""
    timeout: float = 5.0
    motion_timeout: float = 120.0
    retries: int = 2

    def __post_init__(self) -> None:
        if self.parity not in PARITIES:
            raise ValueError(f"parity must be one of {', '.join(PARITIES)}, not {self.parity!r}")
        if self.bytesize not in (5, 6, 7, 8) or self.stopbits not in (1, 2):
            raise ValueError(f"unsupported framing {self.bytesize} data bits, {self.stopbits} stop bits")
        if self.timeout <= 0 or self.motion_timeout <= 0 or self.retries < 0:
            raise ValueError("timeouts must be positive and retries not negative")

    def merged(self, overrides: dict[str, Any]) -> SerialSettings:
        """These settings with configuration keys (same names as the fields) applied."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown serial setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return replace(self, **overrides)

    def describe(self) -> str:
        flow = " RTS/CTS" if self.rtscts else ""
        dtr = "" if self.dtr is None else f" DTR {'high' if self.dtr else 'low'}"
        return f"{self.baudrate} {self.bytesize}{self.parity}{self.stopbits}{flow}{dtr}"


Opener = Callable[..., "serial.Serial"]


class SerialLink:
    """One open serial port with deadline-bounded reads. Opened exclusively: two burnd robots
    configured on the same port would interleave commands."""

    def __init__(self, port: str, settings: SerialSettings, *, opener: Opener = serial.Serial) -> None:
        self.port = port
        self.settings = settings
        try:
            self._serial = opener(port=port, baudrate=settings.baudrate, bytesize=settings.bytesize,
                                  parity=PARITIES[settings.parity], stopbits=settings.stopbits,
                                  rtscts=settings.rtscts, timeout=READ_SLICE, write_timeout=settings.timeout,
                                  exclusive=True)
        except (serial.SerialException, OSError) as exc:
            raise SerialOpenError(f"cannot open the robot's serial port {port}: {exc} — check the `port` "
                                  f"setting, the cable, and that burnd may open it (group dialout)") from exc
        if settings.dtr is not None:
            self._set_dtr(settings.dtr)
        self._serial.reset_input_buffer()

    def _set_dtr(self, level: bool) -> None:
        """A pseudo-terminal has no modem lines (ENOTTY/EINVAL): that is logged, not fatal."""
        try:
            self._serial.dtr = level
        except (serial.SerialException, OSError) as exc:
            code = getattr(exc, "errno", None) or getattr(exc.__cause__, "errno", None)
            if code not in (errno.ENOTTY, errno.EINVAL):
                raise
            log.debug("%s has no modem control lines; DTR left alone", self.port)

    def write(self, data: bytes) -> None:
        log.debug("%s <- %r", self.port, data)
        try:
            self._serial.write(data)
            self._serial.flush()
        except serial.SerialTimeoutException as exc:
            raise RobotNotResponding(f"the robot on {self.port} did not take the command within "
                                     f"{self.settings.timeout:g} s (flow control held off) — check the "
                                     f"cable and that the robot is powered on") from exc

    def read_until(self, terminator: bytes, timeout: float) -> bytes:
        """Bytes up to and including ``terminator``; RobotNotResponding after ``timeout`` s
        (its ``raw`` holds what partial reply arrived)."""
        deadline = time.monotonic() + timeout
        got = bytearray()
        while not got.endswith(terminator):
            if time.monotonic() >= deadline:
                raise RobotNotResponding(
                    f"the robot on {self.port} did not answer within {timeout:g} s"
                    f"{' (partial reply ' + repr(bytes(got)) + ')' if got else ''} — check power, cable "
                    f"and serial settings ({self.settings.describe()})", raw=bytes(got).decode("latin-1"))
            chunk = self._serial.read(1)
            got += chunk
        log.debug("%s -> %r", self.port, bytes(got))
        return bytes(got)

    def read_exact(self, count: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        got = bytearray()
        while len(got) < count:
            if time.monotonic() >= deadline:
                raise RobotNotResponding(
                    f"the robot on {self.port} sent {len(got)} of {count} reply bytes within {timeout:g} s — "
                    f"check power, cable and serial settings ({self.settings.describe()})",
                    raw=bytes(got).decode("latin-1"))
            got += self._serial.read(count - len(got))
        log.debug("%s -> %r", self.port, bytes(got))
        return bytes(got)

    def query(self, command: bytes, read: Callable[[float], bytes]) -> bytes:
        """An idempotent exchange: resent up to ``retries`` times while the robot stays silent."""
        attempt = 0
        while True:
            self._serial.reset_input_buffer()
            self.write(command)
            try:
                return read(self.settings.timeout)
            except RobotNotResponding:
                if attempt >= self.settings.retries:
                    raise
                attempt += 1
                log.info("%s: no answer to %r; resending (%d/%d)", self.port, command, attempt,
                         self.settings.retries)

    def close(self) -> None:
        self._serial.close()
