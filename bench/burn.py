"""Benchmark: burnd's burn engine writing a 1 GiB image to a virtual BD-RE on tmpfs, verify off
and on, against two baselines measured in the same run on the same tmpfs:

* ``cat image >/dev/null`` — the cost of just reading the image;
* ``xorriso -as cdrecord dev=stdio:PATH image`` — libburn writing the same image to a
  pseudo-drive file (no SCSI layer, no verification).

Prints MB/s, the ratios, and CPU seconds per GB (all threads of this process; the target is
that one core keeps ten BD 16x drives at 72 MB/s each fed, i.e. < 1.39 CPU s/GB).
Run: .venv/bin/python bench/burn.py [--mib N] [--dir /dev/shm]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable

from burnd.burn import BurnOptions, burn
from burnd.drive import OpticalDrive
from burnd.emu import VirtualBurner

BD16_MBPS = 72.0
DRIVES_PER_CORE = 10
BD_RE_25GB = 12_219_392


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], None], cpu: Callable[[], float]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``action``."""
    cpu0, wall0 = cpu(), time.perf_counter()
    action()
    return time.perf_counter() - wall0, cpu() - cpu0


def make_image(path: str, size: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as out:
        for _ in range(size >> 20):
            out.write(block)


def cat(image: str) -> None:
    subprocess.run(["cat", image], stdout=subprocess.DEVNULL, check=True)


def xorriso(image: str, target: str) -> None:
    subprocess.run(["xorriso", "-as", "cdrecord", f"dev=stdio:{target}", image],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def engine(image: str, backing: str, verify: bool) -> None:
    for leftover in (backing, backing + ".state.json"):
        if os.path.exists(leftover):
            os.unlink(leftover)
    burner = VirtualBurner("bd-re", backing=backing, capacity=BD_RE_25GB, busy_seconds=0.0)
    try:
        with open(image, "rb") as source:
            result = burn(OpticalDrive(burner), source, BurnOptions(verify=verify, spare_areas=False), poll=0.01)
        if verify and not result.verified:
            raise SystemExit("the burn did not verify")
    finally:
        burner.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="image size in MiB")
    parser.add_argument("--dir", default="/dev/shm", help="tmpfs directory for image and discs")
    args = parser.parse_args()
    if shutil.which("xorriso") is None:
        raise SystemExit("xorriso is not installed (Debian package xorriso): it is the baseline")
    size = args.mib << 20
    gb = size / 1e9
    work = tempfile.mkdtemp(prefix="burnd-bench-", dir=args.dir)
    try:
        image = os.path.join(work, "image.iso")
        make_image(image, size)
        cat(image)  # warm the page cache like every run after it
        cat_wall, _ = timed(lambda: cat(image), child_cpu_seconds)
        target = os.path.join(work, "xorriso.img")
        xor_wall, xor_cpu = timed(lambda: xorriso(image, target), child_cpu_seconds)
        os.unlink(target)
        backing = os.path.join(work, "bd-re.img")
        print(f"image {args.mib} MiB on {args.dir}")
        print(f"  cat >/dev/null         {size / cat_wall / 1e6:8.1f} MB/s")
        print(f"  xorriso stdio:         {size / xor_wall / 1e6:8.1f} MB/s   CPU {xor_cpu / gb:5.2f} s/GB")
        for verify in (False, True):
            wall, cpu = timed(lambda: engine(image, backing, verify), cpu_seconds)
            rate = size / wall / 1e6
            per_gb = cpu / gb
            label = "burnd burn+verify" if verify else "burnd burn        "
            print(f"  {label}     {rate:8.1f} MB/s   CPU {per_gb:5.2f} s/GB   "
                  f"×cat {cat_wall / wall:5.2f}   ×xorriso {xor_wall / wall:5.2f}")
            if not verify:
                feedable = BD16_MBPS * DRIVES_PER_CORE * per_gb / 1e3
                print(f"  one core at this CPU cost feeds {1 / (per_gb * BD16_MBPS / 1e3):5.1f} BD 16x drives "
                      f"(target {DRIVES_PER_CORE}: core load {feedable:.0%})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
