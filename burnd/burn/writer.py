"""Run a burn: gather facts, plan, lock the tray, execute the plan's steps, verify, unlock.

The write loop is the hot path: a reader thread fills the FIFO (:mod:`burnd.burn.fifo`) and
hashes; this thread slices each filled buffer into medium-aligned WRITE(10) chunks without
copying. Progress goes out at most ten times a second. Whatever happens — refusal, write error,
medium removed, drive gone, cancel — the tray is unlocked and the reader thread stopped before
``burn`` returns or raises; success is returned only after the closing commands (and the
verification, when asked for) succeeded.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import BinaryIO, Callable

from burnd.burn import ops
from burnd.burn import plan as p
from burnd.burn.errors import BurnError, BurnRefused, Cancelled, MediumMissing, WriteFailed
from burnd.burn.fifo import ImageFifo
from burnd.burn.grow import grow_volume, volume_space_size
from burnd.burn.blank import run_blank, run_format
from burnd.burn.progress import Phase, ProgressCallback, ProgressMeter, emit_phase
from burnd.burn.verify import verify_burn
from burnd.drive import MediaReport, OpticalDrive
from burnd.errors import BadImage, DeviceError
from burnd.scsi.mmc import BLOCK_SIZE
from burnd.scsi.sense import (
    BlankCheck,
    DataProtect,
    IllegalRequest,
    MediumError,
    NoMedium,
    ScsiError,
    UnitAttention,
)

log = logging.getLogger("burnd.burn")

FEATURE_INCREMENTAL = 0x0021
FIFO_UNIT = 1 << 20
"""Bytes per FIFO buffer: large reads and hashes, sliced into 32/64 KiB WRITEs."""


@dataclass(frozen=True, slots=True)
class BurnResult:
    plan: p.BurnPlan
    sha256: str
    md5: str | None
    image_bytes: int
    blocks_written: int
    start_lba: int
    verified: bool
    simulated: bool
    seconds: float
    report: MediaReport | None = None


def gather_facts(drive: OpticalDrive) -> p.MediumFacts:
    """Everything :func:`burnd.burn.plan.plan_burn` needs, read from the drive.

    Raises MediumMissing when the drive is empty. On formatted overwritable media, block 16
    tells whether a filesystem is there (and the ISO's size, for growing).
    """
    report = ops.ready_report(drive)
    incremental = False
    feature = drive.features().get(FEATURE_INCREMENTAL)
    if feature is not None:
        incremental = feature.current
    volume, has_data = None, False
    if report.overwritable and report.formatted is not False:
        try:
            block = drive.read_blocks(16, 1)
            volume = volume_space_size(block)
            has_data = volume is not None or any(block)
        except (MediumError, IllegalRequest, BlankCheck):
            pass
    formattable = ()
    try:
        formattable = drive.format_capacities().formattable
    except (IllegalRequest, MediumError):
        pass
    return p.MediumFacts(report, incremental=incremental, volume_blocks=volume, has_data=has_data,
                         formattable=formattable)


def image_size(image: BinaryIO) -> int:
    """Size of a seekable image (regular file, block device, in-memory buffer), from its start."""
    try:
        return image.seek(0, os.SEEK_END)
    finally:
        image.seek(0)


def prepare(drive: OpticalDrive, size: int, options: p.BurnOptions = p.BurnOptions()) -> p.BurnPlan:
    """The plan :func:`burn` would follow (a dry run: nothing is sent that changes the disc)."""
    drive.identify()
    return p.plan_burn(gather_facts(drive), size, options)


def multisession_info(drive: OpticalDrive) -> tuple[int, int]:
    """mkisofs ``-C a,b`` numbers for the next session: (start of the last session, next start).

    On a blank disc (0, 0); on overwritable media (16, growing start) as growisofs passes them.
    Refuses (like :func:`burn` would) a disc that cannot take another session.
    """
    plan = prepare(drive, BLOCK_SIZE, p.BurnOptions(multisession=True))
    previous = plan.previous_session if plan.previous_session is not None else 0
    return previous, plan.start_lba


def burn(drive: OpticalDrive, image: BinaryIO, options: p.BurnOptions = p.BurnOptions(), *,
         size: int | None = None, progress: ProgressCallback | None = None,
         cancel: threading.Event | None = None, poll: float = 0.2) -> BurnResult:
    """Burn ``image`` (a binary file positioned at its start) with the plan chosen for the medium.

    ``size`` defaults to the file's size. ``poll`` is the TEST UNIT READY interval while the
    drive works on an Immed command. Raises a BurnRefused before anything is written, or a
    BurnError (WriteFailed, VerifyMismatch, Cancelled) after.
    """
    started = time.monotonic()
    length = image_size(image) if size is None else size
    emit_phase(progress, Phase.PREPARING, length)
    plan = prepare(drive, length, options)
    log.info("%s: %s", drive.name, plan.describe())
    run = _Run(drive, plan, options, progress, cancel, poll)
    with ops.tray_locked(drive):
        run.execute(image)
        verified = False
        if options.verify and not plan.simulate:
            verify_burn(drive, image, plan.start_lba, length, run.sha256, progress=progress, cancel=cancel)
            verified = True
    after = _report_or_none(drive)
    return BurnResult(plan, run.sha256, run.md5, length, run.written, plan.start_lba, verified, plan.simulate,
                      time.monotonic() - started, after)


def _report_or_none(drive: OpticalDrive) -> MediaReport | None:
    try:
        return drive.media_report()
    except (ScsiError, DeviceError) as exc:
        log.warning("%s: no media report after the burn: %s", drive.name, exc)
        return None


class _Run:
    """One execution of a plan; holds what was written so errors can say so."""

    def __init__(self, drive: OpticalDrive, plan: p.BurnPlan, options: p.BurnOptions,
                 progress: ProgressCallback | None, cancel: threading.Event | None, poll: float) -> None:
        self.drive = drive
        self.plan = plan
        self.options = options
        self.progress = progress
        self.cancel = cancel or threading.Event()
        self.poll = poll
        self.written = 0
        self.sha256 = ""
        self.md5: str | None = None
        self.writing = False

    # ------------------------------------------------------------------ steps

    def execute(self, image: BinaryIO) -> None:
        checked = False
        for step in self.plan.steps:
            if not checked and not isinstance(step, (p.Blank, p.Format)):
                self._step(step, self._check_medium)
                checked = True
            if isinstance(step, p.WriteData):
                self._step(step, partial(self._write, step, image))
            else:
                self._step(step, partial(self._command, step))

    def _step(self, step: p.Step, action: Callable[[], None]) -> None:
        """Run ``action`` for ``step``, turning drive errors into a WriteFailed that says
        how far the burn got."""
        try:
            action()
        except (BurnError, BadImage):
            raise
        except (ScsiError, DeviceError) as exc:
            raise self._failure(step, exc) from exc

    def _command(self, step: p.Step) -> None:
        drive = self.drive
        if isinstance(step, p.Blank):
            run_blank(drive, step.full, self.progress, self.poll)
        elif isinstance(step, p.Format):
            run_format(drive, step, self.progress, self.poll)
        elif isinstance(step, p.SetSpeed):
            ops.set_speed(drive, step.kbps, cd=step.cd, end_lba=self.plan.start_lba + self.plan.free_blocks - 1)
        elif isinstance(step, p.WriteParameters):
            ops.set_write_parameters(drive, step)
        elif isinstance(step, p.SendCueSheet):
            ops.send_cue_sheet(drive, step.blocks)
        elif isinstance(step, p.ReserveTrack):
            ops.reserve_track(drive, step.blocks)
        elif isinstance(step, p.Sync):
            emit_phase(self.progress, Phase.CLOSING)
            ops.synchronize(drive, poll=self.poll)
        elif isinstance(step, p.CloseTrack):
            ops.close(drive, p.CloseFunction.TRACK, step.track, poll=self.poll)
        elif isinstance(step, p.CloseSession):
            ops.close(drive, step.function, poll=self.poll)
        elif isinstance(step, p.GrowVolume):
            grow_volume(drive, step.start, step.blocks)
            ops.synchronize(drive, poll=self.poll)

    def _check_medium(self) -> None:
        """After blanking/formatting and before any WRITE: is the disc what the plan assumed?"""
        if self.cancel.is_set():
            raise Cancelled("cancelled before writing; nothing was written")
        report = self.drive.media_report()
        if not report.present:
            raise MediumMissing(f"the disc left {self.drive.name} before writing — insert it again and retry")
        write = self.plan.write
        if report.overwritable:
            room = report.free_blocks - write.start
        else:
            track = next((t for t in reversed(report.tracks) if t.writable), None)
            if track is None or track.nwa != write.start:
                found = "none" if track is None else track.nwa
                raise BurnRefused(f"the disc's next writable address is {found}, not LBA {write.start} as "
                                  f"planned; it changed since it was examined — check the disc and retry")
            room = track.free_blocks
        if room < write.total_blocks:
            raise p.MediumTooSmall(f"after preparing the disc only {room} blocks are free, {write.total_blocks} "
                                   f"are needed — use a larger disc or a smaller image")

    # ------------------------------------------------------------------ write loop

    def _write(self, step: p.WriteData, image: BinaryIO) -> None:
        chunk = step.chunk_blocks
        chunk_bytes = chunk * BLOCK_SIZE
        unit = max(chunk_bytes, FIFO_UNIT // chunk_bytes * chunk_bytes)
        fifo = ImageFifo(image, self.plan.image_bytes, fifo_bytes=self.options.fifo_bytes, unit=unit,
                         md5=self.options.md5).start()
        meter = ProgressMeter(self.progress, Phase.WRITING, self.plan.image_bytes)
        zeros = memoryview(bytearray(chunk_bytes))
        self.writing = True
        try:
            if step.pregap:
                self._zeros(-step.pregap, step.pregap, chunk, zeros)
            lba = step.start
            end = step.start + step.total_blocks
            while (item := fifo.get()) is not None:
                self._stop_if_cancelled(lba, step)
                blocks = -(-item.length // BLOCK_SIZE)
                padded = min(-(-blocks // chunk) * chunk, end - lba)
                if padded * BLOCK_SIZE > item.length:
                    item.buffer[item.length:padded * BLOCK_SIZE] = bytes(padded * BLOCK_SIZE - item.length)
                view = memoryview(item.buffer)
                for first in range(0, padded, chunk):
                    count = min(chunk, padded - first)
                    ops.write(self.drive, lba, count, view[first * BLOCK_SIZE:(first + count) * BLOCK_SIZE])
                    lba += count
                    self.written += count
                fifo.recycle(item)
                if meter.due():
                    meter.update(item.offset + item.length, fifo_fill=fifo.fill,
                                 drive_buffer_fill=ops.buffer_fill(self.drive))
            self._zeros(lba, end - lba, chunk, zeros)
            meter.update(self.plan.image_bytes, force=True, fifo_fill=0.0)
        finally:
            fifo.close()
            self.writing = False
        self.sha256 = fifo.sha256.hexdigest()
        self.md5 = fifo.md5.hexdigest() if fifo.md5 is not None else None

    def _zeros(self, lba: int, blocks: int, chunk: int, zeros: memoryview) -> None:
        for first in range(0, blocks, chunk):
            count = min(chunk, blocks - first)
            ops.write(self.drive, lba + first, count, zeros[:count * BLOCK_SIZE])
            if lba + first >= 0:
                self.written += count

    def _stop_if_cancelled(self, lba: int, step: p.WriteData) -> None:
        if not self.cancel.is_set():
            return
        written = self.written
        closed = self._close_after_cancel()
        raise Cancelled(f"cancelled after writing {written} of {step.total_blocks} blocks (up to LBA {lba}); "
                        + closed, written)

    def _close_after_cancel(self) -> str:
        """Bring the disc to a readable state where the medium allows it; say what happened."""
        try:
            for step in self.plan.cancel_steps:
                self._command(step)
        except (ScsiError, DeviceError) as exc:
            return f"closing the disc afterwards failed ({exc}); it may be unreadable"
        if self.plan.strategy in (p.Strategy.SAO, p.Strategy.DAO):
            return "a reserved track cannot be closed short, so the disc is unusable — blank it if it is rewritable"
        if self.plan.strategy is p.Strategy.OVERWRITE:
            return "the disc holds a partial image; burn again to replace it"
        return "the track and session were closed, so what was written stays readable"

    # ------------------------------------------------------------------ failures

    def _failure(self, step: p.Step, exc: ScsiError | DeviceError) -> BurnError:
        lba = getattr(exc, "lba", None)
        what = type(step).__name__
        if self.writing or isinstance(step, p.WriteData):
            where = f" at LBA {lba}" if lba is not None else ""
            if isinstance(exc, NoMedium):
                cause = "the disc was removed while writing"
            elif isinstance(exc, UnitAttention):
                cause = "the drive was reset or the disc changed while writing"
            elif isinstance(exc, DeviceError):
                cause = "the drive disappeared while writing"
            elif isinstance(exc, DataProtect):
                cause = "the disc or drive is write-protected"
            else:
                cause = "the drive reported a write error"
            return WriteFailed(f"{cause}{where} after {self.written} blocks: {exc} — the disc is probably "
                               f"unusable; the burn did NOT succeed", lba, self.written)
        if self.written:
            return WriteFailed(f"all data was written but {what} failed: {exc} — the disc may be unreadable "
                               f"or left open; the burn did NOT succeed", lba, self.written)
        return WriteFailed(f"preparing the disc ({what}) failed before writing: {exc}", lba, 0)

