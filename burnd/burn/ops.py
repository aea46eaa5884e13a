"""The drive commands a burn is made of, with the retry and polling policy of reference §4.4.

Each function sends one logical operation through an :class:`~burnd.drive.OpticalDrive` and
returns when the drive has finished it: Immed commands (BLANK, FORMAT, SYNCHRONIZE CACHE,
CLOSE) are followed by TEST UNIT READY polling that forwards the drive's progress indicator.
Only wait-and-retry sense (``RetryLater``: long write in progress, operation in progress) is
retried; everything else propagates as the ``burnd.scsi.sense`` exception.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable

from burnd.burn.errors import MediumMissing
from burnd.drive import MediaReport, OpticalDrive
from burnd.scsi import mmc
from burnd.errors import DeviceError
from burnd.scsi.sense import AbortedCommand, IllegalRequest, NoMedium, RetryLater, ScsiError
from burnd.scsi.transport import Direction

if TYPE_CHECKING:
    from burnd.burn import plan as p

log = logging.getLogger("burnd.burn")

LONG_TIMEOUT = 3600.0
"""libburn's limit for close/sync; blank and format may take longer (full BLANK of a DVD-RW)."""
FORMAT_TIMEOUT = 18_000.0
WRITE_TIMEOUT = 200.0
RETRY_MAX_SLEEP = 0.5
WRITE_RETRY_MAX_SLEEP = 0.025
ABORTED_RETRIES = 3

Sleep = Callable[[float], None]


def retrying(drive: OpticalDrive, cdb: bytes, direction: Direction, data: bytes | memoryview | None = None,
             *, timeout: float = 30.0, budget: float = LONG_TIMEOUT, write: bool = False,
             sleep: Sleep = time.sleep) -> None:
    """Issue ``cdb`` until it is accepted, sleeping while the drive answers wait-and-retry.

    WRITE retries start at once and grow by 2 ms up to 25 ms (libburn); other commands sleep
    100 ms more per attempt up to 500 ms. ``budget`` seconds bound the whole loop. A command
    the drive or its link aborted (key B, or 08h communication failures) never executed, so
    it is reissued at once, at most ``ABORTED_RETRIES`` times. Unit attentions are not
    retried: mid-burn they mean the drive lost its settings or the disc changed.
    """
    deadline = time.monotonic() + budget
    attempt = aborted = 0
    while True:
        try:
            drive.execute(cdb, direction, data, timeout)
            return
        except AbortedCommand:
            aborted += 1
            if aborted > ABORTED_RETRIES:
                raise
            continue
        except RetryLater:
            if time.monotonic() >= deadline:
                raise
            attempt += 1
            if write:
                sleep(min(0.002 * (attempt - 1), WRITE_RETRY_MAX_SLEEP))
            else:
                sleep(min(0.1 * attempt, RETRY_MAX_SLEEP))


def ready_report(drive: OpticalDrive, purpose: str = "a writable disc") -> MediaReport:
    """Wait until the drive is ready, then report its medium; MediumMissing when it is empty."""
    missing = f"there is no disc in {drive.name} — insert {purpose} and close the tray"
    try:
        drive.wait_ready(timeout=60.0)
    except NoMedium:
        raise MediumMissing(missing) from None
    report = drive.media_report()
    if not report.present or report.profile is None:
        raise MediumMissing(missing)
    return report


def immed(drive: OpticalDrive, cdb: bytes, data: bytes | None = None, *, wait: float = LONG_TIMEOUT,
          on_progress: Callable[[float], None] | None = None, poll: float = 0.2) -> None:
    """An Immed command, then TEST UNIT READY polling until the drive is done."""
    retrying(drive, cdb, Direction.TO_DEVICE if data else Direction.NONE, data, budget=wait)
    drive.wait_ready(timeout=wait, poll=poll, on_progress=on_progress)


def blank(drive: OpticalDrive, full: bool, on_progress: Callable[[float], None] | None = None,
          poll: float = 0.2) -> None:
    kind = mmc.BlankType.FULL if full else mmc.BlankType.MINIMAL
    immed(drive, mmc.blank(kind, immed=True), wait=FORMAT_TIMEOUT, on_progress=on_progress, poll=poll)


def format_unit(drive: OpticalDrive, step: p.Format, on_progress: Callable[[float], None] | None = None,
                poll: float = 0.2) -> None:
    params = mmc.format_unit_parameters(step.blocks, step.format_type, step.subtype, step.type_parameter,
                                        immed=True)
    immed(drive, mmc.format_unit(), params, wait=FORMAT_TIMEOUT, on_progress=on_progress, poll=poll)


def set_speed(drive: OpticalDrive, kbps: int, cd: bool, end_lba: int) -> None:
    """SET CD SPEED on CD; SET STREAMING elsewhere, falling back to SET CD SPEED (§5.0 step 5)."""
    if not cd:
        descriptor = mmc.performance_descriptor(max(end_lba, 0), kbps, kbps)
        try:
            drive.execute(mmc.set_streaming(len(descriptor)), Direction.TO_DEVICE, descriptor)
            return
        except IllegalRequest:
            pass
    drive.execute(mmc.set_cd_speed(mmc.SPEED_MAX, min(kbps, mmc.SPEED_MAX)), Direction.NONE)


def set_write_parameters(drive: OpticalDrive, step: p.WriteParameters, bufe: bool = True) -> None:
    """MODE SELECT page 05h: the drive's current page with burnd's fields written into it."""
    page = drive.mode_page(mmc.PAGE_WRITE_PARAMETERS)
    current = mmc.parse_write_parameters(page)
    wanted = dataclasses.replace(
        current, bufe=bufe, test_write=step.test_write, write_type=int(step.write_type),
        multi_session=int(step.multisession), track_mode=step.track_mode,
        data_block_type=step.data_block_type, ls_valid=step.packet, fixed_packet=step.packet,
        link_size=16 if step.packet else 0, packet_size=16 if step.packet else 0,
        audio_pause=150 if step.write_type == mmc.WriteType.TAO else current.audio_pause,
    )
    body = mmc.mode_select_parameters(mmc.write_parameters_page(page, wanted))
    drive.execute(mmc.mode_select10(len(body)), Direction.TO_DEVICE, body)


def send_cue_sheet(drive: OpticalDrive, blocks: int) -> None:
    """One Mode 1 data track from LBA 0 with its 150-block pregap, then the lead-out (§5.2)."""
    data_form, pause_form, ctl = 0x10, 0x14, 0x41
    sheet = mmc.cue_sheet([
        mmc.CueEntry(ctl, 0, 0, pause_form, -150),
        mmc.CueEntry(ctl, 1, 0, data_form, -150),
        mmc.CueEntry(ctl, 1, 1, data_form, 0),
        mmc.CueEntry(ctl, mmc.LEAD_OUT_TRACK, 1, pause_form, blocks),
    ])
    drive.execute(mmc.send_cue_sheet(len(sheet)), Direction.TO_DEVICE, sheet)


def reserve_track(drive: OpticalDrive, blocks: int) -> None:
    drive.execute(mmc.reserve_track(blocks), Direction.NONE, timeout=WRITE_TIMEOUT)


def write(drive: OpticalDrive, lba: int, count: int, data: memoryview, sleep: Sleep = time.sleep) -> None:
    """WRITE(10) of ``count`` blocks, retried only while the drive's buffer is full (2/04/08)."""
    retrying(drive, mmc.write10(lba, count), Direction.TO_DEVICE, data, timeout=WRITE_TIMEOUT,
             budget=WRITE_TIMEOUT, write=True, sleep=sleep)


def synchronize(drive: OpticalDrive, poll: float = 0.2) -> None:
    immed(drive, mmc.synchronize_cache(immed=True), poll=poll)


def close(drive: OpticalDrive, function: mmc.CloseFunction, track: int = 0,
          on_progress: Callable[[float], None] | None = None, poll: float = 0.2) -> None:
    immed(drive, mmc.close_track_session(function, track, immed=True), on_progress=on_progress, poll=poll)


def buffer_fill(drive: OpticalDrive) -> float | None:
    """Drive buffer fill from READ BUFFER CAPACITY; None when the drive does not answer it."""
    try:
        data = drive.execute(mmc.read_buffer_capacity(12), Direction.FROM_DEVICE, 12).data
        return mmc.parse_buffer_capacity(bytes(data)).fill
    except (IllegalRequest, mmc.ParseError):
        return None


def lock(drive: OpticalDrive, locked: bool) -> None:
    drive.execute(mmc.prevent_allow_medium_removal(locked), Direction.NONE)


@contextmanager
def tray_locked(drive: OpticalDrive) -> Iterator[None]:
    """PREVENT MEDIUM REMOVAL for the block; the unlock is attempted on every exit path and a
    failing unlock (drive gone, disc pulled) is logged, never allowed to mask the real error."""
    lock(drive, True)
    try:
        yield
    finally:
        try:
            lock(drive, False)
        except (ScsiError, DeviceError) as exc:
            log.warning("%s: could not unlock the tray: %s", drive.name, exc)
