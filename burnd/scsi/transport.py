"""The one interface between burnd and a drive: send a CDB, get status, sense and data back.

Two implementations exist — Linux SG_IO (``burnd.scsi.sgio``) and the software drive
(``burnd.emu``) — and nothing above this layer knows which it talks to. That is what lets the
test suite and the demo exercise exactly the code path a real burner uses.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, Union, runtime_checkable

Buffer = Union[bytearray, memoryview]
"""A caller-owned, writable (FROM_DEVICE) or readable (TO_DEVICE) data buffer."""

GOOD = 0x00
CHECK_CONDITION = 0x02
BUSY = 0x08
DRIVER_SENSE = 0x08


class Direction(enum.IntEnum):
    """Data direction, numbered as SG_IO's ``dxfer_direction`` so sgio can pass it through."""

    NONE = -1
    TO_DEVICE = -2
    FROM_DEVICE = -3


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What came back from one command.

    ``data`` is a view of the bytes the device actually transferred (FROM_DEVICE) over the
    caller's buffer — never a copy — and is only meaningful when ``ok`` is true: the sg driver
    may leave stale bytes in the buffer on a failed command.
    """

    status: int
    sense: bytes = b""
    host_status: int = 0
    driver_status: int = 0
    residual: int = 0
    duration: float = 0.0
    data: memoryview = memoryview(b"")

    @property
    def ok(self) -> bool:
        return (
            self.status == GOOD
            and self.host_status == 0
            and (self.driver_status & ~DRIVER_SENSE) == 0
        )

    @property
    def check_condition(self) -> bool:
        return self.status == CHECK_CONDITION and len(self.sense) > 0


@runtime_checkable
class Transport(Protocol):
    """Sends raw CDBs to one device.

    ``data`` is a caller-owned buffer (bytes-like for TO_DEVICE, writable for FROM_DEVICE), an
    int length (FROM_DEVICE only: the transport allocates the buffer), or None with
    Direction.NONE. ``timeout`` is in seconds. Transport failures that are not SCSI outcomes
    (device gone, ioctl refused) raise ``burnd.errors.DeviceError``; SCSI outcomes, including
    CHECK CONDITION, are returned for the caller to judge.
    """

    @property
    def name(self) -> str:
        """A human-readable name for messages: the device path or the virtual burner's name."""
        ...

    def execute(
        self,
        cdb: bytes,
        direction: Direction,
        data: Buffer | bytes | int | None = None,
        timeout: float = 30.0,
    ) -> CommandResult: ...

    def close(self) -> None: ...
