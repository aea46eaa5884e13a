"""Open a real drive for a burn: exclusively (O_EXCL), and only if it is an MMC drive.

The daemon hands the result to :func:`burnd.burn.burn`; tests and the demo pass an
OpticalDrive over the emulator instead. An exclusive open fails while the disc is mounted or
another burner holds the drive (reference §1.6); like libburn, a busy drive is retried a few
times before giving up, since udev's probe after a media change holds it briefly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

from burnd.drive import OpticalDrive
from burnd.errors import DeviceBusy
from burnd.scsi.sgio import SgIoTransport


@contextmanager
def open_exclusive(path: str, *, attempts: int = 3, delay: float = 2.0,
                   sleep: Callable[[float], None] = time.sleep) -> Iterator[OpticalDrive]:
    """An OpticalDrive on ``path`` opened O_EXCL, identified (NotAnOpticalDrive otherwise),
    and closed when the block ends."""
    for attempt in range(1, attempts + 1):
        try:
            transport = SgIoTransport.open(path, exclusive=True)
            break
        except DeviceBusy:
            if attempt == attempts:
                raise
            sleep(delay)
    try:
        drive = OpticalDrive(transport)
        drive.identify()
        yield drive
    finally:
        transport.close()
