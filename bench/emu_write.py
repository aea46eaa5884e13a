"""Benchmark: 1 GiB burned through the virtual burner in 64 KiB WRITE(10)s, against plain
``os.pwrite`` of the same buffer to a file on the same tmpfs, measured in the same run.

The ratio (emulator MB/s ÷ pwrite MB/s) shows the per-command overhead of the software drive:
CDB dispatch, NWA checks and result construction on top of the copy into the page cache.
Run: .venv/bin/python bench/emu_write.py [--mib N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

from burnd.emu import VirtualBurner
from burnd.scsi.transport import Direction

CHUNK_BLOCKS = 32
CHUNK = CHUNK_BLOCKS * 2048


def write10(lba: int, count: int) -> bytes:
    return bytes((0x2A, 0)) + lba.to_bytes(4, "big") + b"\x00" + count.to_bytes(2, "big") + b"\x00"


def plain_pwrite(path: str, buffer: bytes, chunks: int) -> float:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        started = time.perf_counter()
        for i in range(chunks):
            os.pwrite(fd, buffer, i * CHUNK)
        return time.perf_counter() - started
    finally:
        os.close(fd)


def emulator(path: str, buffer: bytes, chunks: int) -> float:
    vb = VirtualBurner("bd-r", backing=path)
    try:
        cdbs = [write10(i * CHUNK_BLOCKS, CHUNK_BLOCKS) for i in range(chunks)]
        started = time.perf_counter()
        for cdb in cdbs:
            result = vb.execute(cdb, Direction.TO_DEVICE, buffer)
            if not result.ok:
                raise SystemExit(f"WRITE failed: {result.sense.hex()}")
        sync = vb.execute(bytes((0x35,)) + bytes(9), Direction.NONE)
        elapsed = time.perf_counter() - started
        if not sync.ok:
            raise SystemExit(f"SYNCHRONIZE CACHE failed: {sync.sense.hex()}")
        return elapsed
    finally:
        vb.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="amount to write (MiB)")
    parser.add_argument("--dir", default="/dev/shm", help="tmpfs directory for the files")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs; best counts")
    args = parser.parse_args()
    chunks = args.mib * 1024 * 1024 // CHUNK
    buffer = os.urandom(CHUNK)
    workdir = tempfile.mkdtemp(prefix="burnd-bench-", dir=args.dir)
    base = emu = float("inf")
    try:
        # Alternate the two so page-cache warm-up and allocator state favour neither.
        for _ in range(args.rounds):
            base_path = os.path.join(workdir, "plain.img")
            base = min(base, plain_pwrite(base_path, buffer, chunks))
            os.unlink(base_path)
            disc_path = os.path.join(workdir, "disc.img")
            emu = min(emu, emulator(disc_path, buffer, chunks))
            os.unlink(disc_path)
            os.unlink(disc_path + ".state.json")
    finally:
        shutil.rmtree(workdir)
    size_mb = chunks * CHUNK / 1e6
    print(f"written: {chunks * CHUNK / 2**20:.0f} MiB in {chunks} x 64 KiB commands on {args.dir}")
    print(f"plain os.pwrite: {size_mb / base:9.1f} MB/s ({base:.3f} s)")
    print(
        f"virtual burner : {size_mb / emu:9.1f} MB/s ({emu:.3f} s, "
        f"{emu / chunks * 1e6:.1f} us/command)"
    )
    print(f"ratio emulator/pwrite: {base / emu:.2f}")


if __name__ == "__main__":
    main()
