"""Read back what was burned and prove it equals the image (reference §5.10).

Reads go through READ(10) over the transport (never the block device's page cache), in 64 KiB
units, for exactly the image's length — burnd's padding is excluded. Against a hash the
answer is yes/no; against an image file the comparison runs block by block so a mismatch
names the first bad LBA range. After a burn, :func:`verify_burn` hashes only and re-reads the
image just when the hashes differ, to locate the damage.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from typing import BinaryIO

from burnd.burn.errors import BurnRefused, Cancelled, VerifyMismatch
from burnd.burn.grow import volume_space_size
from burnd.burn.progress import Phase, ProgressCallback, ProgressMeter
from burnd.drive import OpticalDrive
from burnd.errors import BadImage
from burnd.image.source import fd_size
from burnd.scsi.mmc import BLOCK_SIZE
from burnd.scsi.sense import IllegalRequest, MediumError

READ_BLOCKS = 32


@dataclass(frozen=True, slots=True)
class VerifyResult:
    start_lba: int
    size: int
    sha256: str


def _chunks(start: int, size: int) -> list[tuple[int, int, int]]:
    """(lba, blocks, bytes of image data) per READ."""
    blocks = -(-size // BLOCK_SIZE)
    out = []
    for first in range(0, blocks, READ_BLOCKS):
        count = min(READ_BLOCKS, blocks - first)
        out.append((start + first, count, min(count * BLOCK_SIZE, size - first * BLOCK_SIZE)))
    return out


def _read(drive: OpticalDrive, lba: int, count: int, buffer: bytearray) -> memoryview:
    """One READ; when it fails, block-by-block reads name the first unreadable block (drives
    do not all put the failing LBA in the sense data)."""
    try:
        return drive.read_blocks(lba, count, buffer)
    except MediumError as exc:
        first = exc
    where = lba
    for where in range(lba, lba + count):
        try:
            drive.read_blocks(where, 1, memoryview(buffer)[(where - lba) * BLOCK_SIZE:])
        except MediumError as exc:
            first = exc
            break
    raise VerifyMismatch(f"the disc cannot be read at LBA {where} ({first.text}); the burn is bad — "
                         f"burn again, at a lower speed or on another disc", where, where) from first


def _cancelled(cancel: threading.Event | None, done: int) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"verification cancelled after {done} bytes (verifying does not change the disc); "
                        f"the disc is not known to be good")


def read_hash(drive: OpticalDrive, start: int, size: int, *, progress: ProgressCallback | None = None,
              cancel: threading.Event | None = None) -> str:
    """SHA-256 of ``size`` bytes of the disc from LBA ``start``."""
    digest = hashlib.sha256()
    buffer = bytearray(READ_BLOCKS * BLOCK_SIZE)
    meter = ProgressMeter(progress, Phase.VERIFYING, size)
    done = 0
    for lba, count, length in _chunks(start, size):
        _cancelled(cancel, done)
        digest.update(_read(drive, lba, count, buffer)[:length])
        done += length
        meter.update(done)
    meter.update(done, force=True)
    return digest.hexdigest()


def compare(drive: OpticalDrive, image: BinaryIO, start: int, size: int, *,
            progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> str:
    """Compare disc and image block by block; raises VerifyMismatch naming the first bad run."""
    digest = hashlib.sha256()
    disc_buf = bytearray(READ_BLOCKS * BLOCK_SIZE)
    image_buf = bytearray(READ_BLOCKS * BLOCK_SIZE)
    meter = ProgressMeter(progress, Phase.VERIFYING, size)
    image.seek(0)
    run: list[int] = []
    done = 0
    for lba, count, length in _chunks(start, size):
        _cancelled(cancel, done)
        disc = _read(drive, lba, count, disc_buf)[:length]
        theirs = memoryview(image_buf)[:length]
        got = image.readinto(theirs)
        if got != length:
            raise BadImage(f"the image ended after {done + (got or 0)} of {size} bytes while verifying; it "
                           f"changed since the burn — verify against the original file")
        digest.update(disc)
        if (disc != theirs or run) and _extend_bad_run(disc, theirs, lba, count, run):
            break
        done += length
        meter.update(done)
    if run:
        first, last = run
        raise VerifyMismatch(f"the disc differs from the image at LBA {first}–{last} (image byte "
                             f"{(first - start) * BLOCK_SIZE} on); the burn is bad — burn again, at a "
                             f"lower speed or on another disc", first, last)
    meter.update(done, force=True)
    return digest.hexdigest()


def _extend_bad_run(disc: memoryview, image: memoryview, lba: int, count: int, run: list[int]) -> bool:
    """Grow ``run`` ([first, last] bad LBA) over this chunk; True once a good block ends it."""
    for block in range(count):
        at = block * BLOCK_SIZE
        if disc[at:at + BLOCK_SIZE] != image[at:at + BLOCK_SIZE]:
            run[:] = [run[0] if run else lba + block, lba + block]
        elif run:
            return True
    return False


def verify_burn(drive: OpticalDrive, image: BinaryIO, start: int, size: int, sha256: str, *,
                progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> None:
    """After a burn: hash the disc; on a mismatch, compare with the image to locate it."""
    found = read_hash(drive, start, size, progress=progress, cancel=cancel)
    if found == sha256:
        return
    if image.seekable():
        compare(drive, image, start, size, cancel=cancel)
    raise VerifyMismatch(f"the disc's SHA-256 {found} differs from the image's {sha256}; the burn is bad — "
                         f"burn again, at a lower speed or on another disc")


def iso_volume_blocks(drive: OpticalDrive, start: int = 0) -> int | None:
    """The volume space size of the ISO 9660 descriptors at ``start`` + 16, if there are any.

    mkisofs/xorriso record a multi-session image's own size there (not start + size), so it
    is the length of what was written at ``start``.
    """
    try:
        return volume_space_size(drive.read_blocks(start + 16, 1))
    except (MediumError, IllegalRequest):
        return None


def verify(drive: OpticalDrive, against: str | os.PathLike[str] | BinaryIO | None = None, *, sha256: str | None = None,
           start_lba: int = 0, size: int | None = None, progress: ProgressCallback | None = None,
           cancel: threading.Event | None = None) -> VerifyResult:
    """Standalone verification of a disc against an image (path or binary file) or a SHA-256.

    Pass ``against`` as an image, or ``sha256=`` with ``size`` (bytes; defaults to the ISO
    volume found at ``start_lba``). Raises VerifyMismatch on any difference.
    """
    drive.wait_ready()
    if sha256 is not None:
        if size is None:
            blocks = iso_volume_blocks(drive, start_lba)
            size = None if blocks is None else blocks * BLOCK_SIZE
        if size is None:
            raise BurnRefused("no size given and no ISO 9660 volume found on the disc; pass the image's size")
        found = read_hash(drive, start_lba, size, progress=progress, cancel=cancel)
        if found != sha256.lower():
            raise VerifyMismatch(f"the disc's SHA-256 {found} is not the expected {sha256}; the disc does "
                                 f"not hold that image (or was burned badly)")
        return VerifyResult(start_lba, size, found)
    if against is None:
        raise BurnRefused("nothing to verify against: pass an image file or sha256=")
    if isinstance(against, (str, os.PathLike)):
        with open(against, "rb") as image:
            return verify(drive, image, start_lba=start_lba, size=size, progress=progress, cancel=cancel)
    length = size if size is not None else fd_size(against.fileno())
    return VerifyResult(start_lba, length, compare(drive, against, start_lba, length, progress=progress,
                                                    cancel=cancel))
