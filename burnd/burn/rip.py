"""Rip a data disc to an image file, honestly.

Reads in 64 KiB units; a unit that fails is re-read block by block, each block up to
``retries`` more times. A block that stays unreadable is written as zeros — the image must
keep every later block at its offset — but never silently: its LBA goes into the bad-sector
map beside the image (``<image>.badsectors``, one ``first_lba count`` run per line), into the
result, and into the summary. With no bad blocks no map file is left behind.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field

from burnd.burn import ops
from burnd.burn.errors import Cancelled
from burnd.burn.progress import Phase, ProgressCallback, ProgressMeter
from burnd.burn.verify import iso_volume_blocks
from burnd.drive import MediaReport, OpticalDrive
from burnd.scsi.mmc import BLOCK_SIZE
from burnd.scsi.sense import MediumError

READ_BLOCKS = 32
BAD_MAP_SUFFIX = ".badsectors"
CD_RUNOUT = 2


@dataclass(frozen=True, slots=True)
class RipResult:
    path: str
    blocks: int
    sha256: str
    bad_runs: tuple[tuple[int, int], ...] = field(default=())
    map_path: str | None = None

    @property
    def bad_blocks(self) -> int:
        return sum(count for _, count in self.bad_runs)

    def summary(self) -> str:
        size = self.blocks * BLOCK_SIZE
        head = f"{self.blocks} blocks ({size / 1e6:.1f} MB) read into {self.path}, SHA-256 {self.sha256}"
        if not self.bad_runs:
            return head + "; every block read correctly"
        return (f"{head}; {self.bad_blocks} block(s) UNREADABLE in {len(self.bad_runs)} run(s), stored as "
                f"zeros and listed in {self.map_path} — the image is incomplete")


def data_extent(report: MediaReport, trim_runout: bool = True) -> int:
    """Blocks worth reading: the end of the last recorded track, or the whole capacity of
    overwritable media.

    A CD track whose length only the TOC gives may end in a TAO run-out (2 unreadable blocks);
    ``trim_runout`` leaves them out. A pressed CD has none, so where a file system states its
    own size the caller bounds that size by the untrimmed end instead.
    """
    if report.overwritable or not report.tracks:
        return report.capacity_blocks
    recorded = [t for t in report.tracks if not t.blank]
    if not recorded:
        return 0
    last = recorded[-1]
    end = last.start + (last.size if last.last_recorded is None else last.last_recorded - last.start + 1)
    cd = report.profile is not None and report.profile.is_cd
    if trim_runout and cd and last.last_recorded is None:
        return max(end - CD_RUNOUT, last.start)
    return end


def _extent(drive: OpticalDrive, report: MediaReport) -> int:
    """The end of the ISO volume of the last session when there is one, else the recorded data.

    Bounded by the recorded data, so a volume size larger than what was burned never makes
    the rip read (and map as bad) blocks that were never written.
    """
    recorded = data_extent(report, trim_runout=False)
    last = max((t.start for t in report.tracks if not t.blank), default=0)
    for start in dict.fromkeys((last, 0)):
        blocks = iso_volume_blocks(drive, start)
        if blocks:
            return min(start + blocks, recorded) if recorded else start + blocks
    return data_extent(report)


class _BadMap:
    def __init__(self) -> None:
        self.runs: list[list[int]] = []

    def add(self, lba: int) -> None:
        if self.runs and self.runs[-1][0] + self.runs[-1][1] == lba:
            self.runs[-1][1] += 1
        else:
            self.runs.append([lba, 1])


def rip(drive: OpticalDrive, out_path: str, *, retries: int = 3, blocks: int | None = None,
        progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> RipResult:
    """Read the disc's data into ``out_path`` (created or truncated). ``blocks`` overrides the
    extent (default: the ISO volume, else the recorded area)."""
    report = ops.ready_report(drive, "the disc to rip")
    total = blocks if blocks is not None else _extent(drive, report)
    meter = ProgressMeter(progress, Phase.READING, total * BLOCK_SIZE)
    digest = hashlib.sha256()
    bad = _BadMap()
    buffer = bytearray(READ_BLOCKS * BLOCK_SIZE)
    map_path = out_path + BAD_MAP_SUFFIX
    with open(out_path, "wb") as out:
        for lba in range(0, total, READ_BLOCKS):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"rip cancelled after {lba} of {total} blocks; {out_path} is incomplete", lba)
            count = min(READ_BLOCKS, total - lba)
            try:
                data = drive.read_blocks(lba, count, buffer)
            except MediumError:
                data = _salvage(drive, lba, count, buffer, retries, bad)
            digest.update(data)
            out.write(data)
            meter.update((lba + count) * BLOCK_SIZE)
    meter.update(total * BLOCK_SIZE, force=True)
    runs = tuple((first, count) for first, count in bad.runs)
    if runs:
        with open(map_path, "w", encoding="ascii") as handle:
            handle.write("# unreadable blocks of the disc image beside this file (stored as zeros): "
                         "first LBA, count\n")
            handle.writelines(f"{first} {count}\n" for first, count in runs)
    elif os.path.exists(map_path):
        os.unlink(map_path)
    return RipResult(out_path, total, digest.hexdigest(), runs, map_path if runs else None)


def _salvage(drive: OpticalDrive, lba: int, count: int, buffer: bytearray, retries: int, bad: _BadMap) -> memoryview:
    """Block-by-block re-read of a failed unit; unreadable blocks become zeros and map entries."""
    view = memoryview(buffer)[:count * BLOCK_SIZE]
    for block in range(count):
        part = view[block * BLOCK_SIZE:(block + 1) * BLOCK_SIZE]
        for _ in range(retries + 1):
            try:
                drive.read_blocks(lba + block, 1, part)
                break
            except MediumError:
                continue
        else:
            part[:] = bytes(BLOCK_SIZE)
            bad.add(lba + block)
    return view
