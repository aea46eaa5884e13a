"""ISO 9660 growing on overwritable media (DVD±RW, DVD-RAM, BD-RE): reference §5.7.

The new session's image is built by the caller for start address :func:`next_session_start`
(mkisofs/xorriso ``-C 16,START -M <disc>``) and written there; its volume descriptor set is then
copied to LBA 16 with the volume space size set to cover old and new data, so a reader that
looks only at LBA 16 sees the new tree, whose directories still point at the old files.
"""

from __future__ import annotations

from burnd.burn import ops
from burnd.burn.errors import WriteFailed
from burnd.drive import OpticalDrive
from burnd.scsi.mmc import BLOCK_SIZE

DESCRIPTOR_LBA = 16
DESCRIPTOR_AREA = 16
"""Blocks scanned for the descriptor set: one 32 KiB ECC block, as growisofs does."""
GROW_ALIGN = 32
ISO_MAGIC = b"CD001"
PRIMARY, SUPPLEMENTARY, TERMINATOR = 1, 2, 255


def volume_space_size(block: bytes | memoryview) -> int | None:
    """The volume space size of a Primary Volume Descriptor block, None if it is not one."""
    if len(block) < BLOCK_SIZE or block[0] != PRIMARY or bytes(block[1:6]) != ISO_MAGIC:
        return None
    return int.from_bytes(block[80:84], "little")


def next_session_start(volume_blocks: int) -> int:
    """Where the next session goes: after the volume, on a 64 KiB boundary (DVD and BD alike)."""
    return -(-volume_blocks // GROW_ALIGN) * GROW_ALIGN


def patched_descriptors(area: bytes | memoryview, total_blocks: int) -> bytes:
    """The descriptor set at the start of ``area`` (through the terminator), sizes set to ``total``.

    Raises ValueError when ``area`` does not start with a complete ISO 9660 descriptor set.
    """
    out = bytearray()
    for offset in range(0, len(area) - BLOCK_SIZE + 1, BLOCK_SIZE):
        block = bytearray(area[offset:offset + BLOCK_SIZE])
        if bytes(block[1:6]) != ISO_MAGIC:
            raise ValueError(f"block {offset // BLOCK_SIZE} of the descriptor area is not a volume descriptor")
        if block[0] in (PRIMARY, SUPPLEMENTARY):
            block[80:84] = total_blocks.to_bytes(4, "little")
            block[84:88] = total_blocks.to_bytes(4, "big")
        out += block
        if block[0] == TERMINATOR:
            if not out.startswith(bytes((PRIMARY,))):
                raise ValueError("the descriptor set does not start with a primary volume descriptor")
            return bytes(out)
    raise ValueError(f"no volume descriptor set terminator in the first {len(area) // BLOCK_SIZE} blocks")


def grow_volume(drive: OpticalDrive, start: int, session_blocks: int) -> None:
    """Copy the session at ``start``'s descriptors to LBA 16 (read-modify-write of 32 KiB).

    The whole 16-block area is rewritten so DVD-RW restricted overwrite, which accepts only
    aligned 32 KiB writes, works too; blocks after the terminator keep their old content.
    """
    new_area = drive.read_blocks(start + DESCRIPTOR_LBA, DESCRIPTOR_AREA)
    try:
        descriptors = patched_descriptors(new_area, start + session_blocks)
    except ValueError as exc:
        raise WriteFailed(f"the new session at LBA {start} has no usable ISO 9660 descriptors ({exc}); the "
                          f"image was not built for ISO growing — the old contents stay visible", start) from exc
    area = bytearray(drive.read_blocks(DESCRIPTOR_LBA, DESCRIPTOR_AREA))
    area[:len(descriptors)] = descriptors
    ops.write(drive, DESCRIPTOR_LBA, DESCRIPTOR_AREA, memoryview(area))
