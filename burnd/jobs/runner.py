"""Run one job on its drive's thread by calling the burn engine; report progress as dicts.

A runner knows the job's kind and options and nothing of D-Bus: it turns engine progress
events into property changes (``Phase``, ``Bytes`` ...) handed to ``report``, which the
queue forwards to the event loop. Engine exceptions propagate unchanged; the queue maps them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable

from burnd import burn as engine
from burnd.burn.progress import ProgressEvent
from burnd.devices.drive import ManagedDrive
from burnd.drive import OpticalDrive
from burnd.errors import BadImage
from burnd.scsi.mmc import BLOCK_SIZE

WAITING_FOR_BLANK = "waiting for blank medium"
HASH_CHUNK = 1 << 20

Report = Callable[[dict[str, Any]], None]


@dataclass
class JobContext:
    drive: ManagedDrive
    kind: str
    options: dict[str, Any]
    file: BinaryIO | None
    """The image (write/verify) or the output (rip: its /proc/self/fd path is in ``out_path``)."""
    cancel: threading.Event
    report: Report
    first_copy: int = 1
    out_path: str | None = None


def progress_changes(event: ProgressEvent) -> dict[str, Any]:
    """One engine progress event as Job property values."""
    now = time.time()
    eta = event.eta
    return {
        "Phase": event.phase.value,
        "Bytes": event.done,
        "TotalBytes": event.total,
        "Progress": event.fraction,
        "Rate": event.rate,
        "ExpectedEndTime": int((now + eta) * 1e6) if eta is not None else 0,
        "BufferFill": event.fifo_fill if event.fifo_fill is not None else 0.0,
    }


def run(ctx: JobContext) -> dict[str, Any]:
    """Do the job; its Result dict on success."""
    runner = {"write": _write, "verify": _verify, "blank": _blank, "format": _format, "rip": _rip}[ctx.kind]
    return runner(ctx)


def _progress(ctx: JobContext) -> Callable[[ProgressEvent], None]:
    return lambda event: ctx.report(progress_changes(event))


def burn_options(options: dict[str, Any]) -> engine.BurnOptions:
    return engine.BurnOptions(
        multisession=options.get("multisession", False), simulate=options.get("simulate", False),
        speed_kbps=options.get("speed") or None, finalize=options.get("finalize"),
        overwrite=options.get("blank_first", False), verify=options.get("verify", True))


def check_hash(image: BinaryIO, expected: str, cancel: threading.Event, report: Report) -> None:
    """Refuse an image whose SHA-256 is not ``expected``, before the disc is touched."""
    report({"Phase": "checking image"})
    digest = hashlib.sha256()
    image.seek(0)
    buffer = bytearray(HASH_CHUNK)
    while (got := image.readinto(buffer)) and not cancel.is_set():
        digest.update(memoryview(buffer)[:got])
    image.seek(0)
    if cancel.is_set():
        raise engine.Cancelled("cancelled while checking the image; nothing was written")
    if digest.hexdigest() != expected.lower():
        raise BadImage(f"the image's SHA-256 is {digest.hexdigest()}, not the expected {expected.lower()}; it is "
                       f"not the file you meant or it is damaged — nothing was written; download it again")


def _write(ctx: JobContext) -> dict[str, Any]:
    assert ctx.file is not None
    options = burn_options(ctx.options)
    expected = ctx.options.get("expected_sha256")
    if expected:
        check_hash(ctx.file, expected, ctx.cancel, ctx.report)
    discs = ctx.options.get("copies", 1)
    results: list[engine.BurnResult] = []
    for index in range(discs):
        ctx.report({"Copy": ctx.first_copy + index})
        if index:
            _swap_disc(ctx)
        ctx.file.seek(0)
        with ctx.drive.session(exclusive=True) as drive:
            results.append(engine.burn(drive, ctx.file, options, progress=_progress(ctx), cancel=ctx.cancel))
    if ctx.options.get("eject", False):
        ctx.report({"Phase": "ejecting"})
        ctx.drive.eject()
    last = results[-1]
    return {"sha256": last.sha256, "blocks_written": last.blocks_written, "start_lba": last.start_lba,
            "verified": last.verified, "simulated": last.simulated, "bytes": last.image_bytes,
            "copies_done": len(results)}


def _swap_disc(ctx: JobContext) -> None:
    """Eject the finished disc and wait (no polling) for a blank one."""
    ctx.report({"Phase": "ejecting"})
    since = ctx.drive.generation
    ctx.drive.eject()
    if ctx.drive.generation != since and ctx.drive.refresh().writable:
        return
    ctx.report({"Phase": WAITING_FOR_BLANK})
    ctx.drive.wait_for_writable(ctx.drive.generation, ctx.cancel)
    if ctx.cancel.is_set():
        raise engine.Cancelled("cancelled while waiting for a blank disc; the copies before it are complete")


def _verify(ctx: JobContext) -> dict[str, Any]:
    assert ctx.file is not None
    with ctx.drive.session() as drive:
        found = engine.verify(drive, ctx.file, start_lba=ctx.options.get("start_lba", 0),
                              size=ctx.options.get("size"), progress=_progress(ctx), cancel=ctx.cancel)
    return {"sha256": found.sha256, "start_lba": found.start_lba, "bytes": found.size, "verified": True}


def _medium(ctx: JobContext, action: Callable[[OpticalDrive], Any]) -> dict[str, Any]:
    with ctx.drive.session(exclusive=True) as drive:
        report = action(drive)
    return {"media": report.profile.name if report.profile else "", "free_bytes": report.free_blocks * BLOCK_SIZE}


def _blank(ctx: JobContext) -> dict[str, Any]:
    fast = not ctx.options.get("full", False)
    return _medium(ctx, lambda drive: engine.blank(drive, fast, progress=_progress(ctx)))


def _format(ctx: JobContext) -> dict[str, Any]:
    return _medium(ctx, lambda drive: engine.format_medium(
        drive, spare_areas=ctx.options.get("spare_areas"),
        restricted_overwrite=ctx.options.get("restricted_overwrite", False),
        force=ctx.options.get("force", False), progress=_progress(ctx)))


def _rip(ctx: JobContext) -> dict[str, Any]:
    assert ctx.out_path is not None
    size = ctx.options.get("size")
    blocks = -(-size // BLOCK_SIZE) if size else None
    with ctx.drive.session() as drive:
        result = engine.rip(drive, ctx.out_path, blocks=blocks, progress=_progress(ctx), cancel=ctx.cancel)
    return {"sha256": result.sha256, "bytes": result.blocks * BLOCK_SIZE,
            "bad_ranges": [[first, count] for first, count in result.bad_runs]}
