"""Benchmark: attaching images as loop devices.

1. Attach + detach of a plain ISO: burnd's library path (VirtualDrives.attach/detach: image
   detection, LOOP_CONFIGURE, state record with fsync, change uevent, LOOP_CLR_FD) against
   ``losetup --find --show -r`` + ``losetup -d`` in the same run, and burnd *end to end
   through D-Bus* (the issue's figure): a burnd process on a private bus, a dbus-fast client
   passing the image's fd to Manager.AttachImage, then VirtualDrive.Detach. Target: burnd
   end to end faster than losetup.
2. Read throughput of a 2352-byte BIN attached through burnd's translated (FUSE) view, against
   the converted ISO of the same BIN attached directly. Target: ≥ 0.5×. Measured twice: with
   the image files already in the page cache (the view's CPU cost against a memory copy), and
   with their pages dropped first (both read from disk, as an image usually is).
3. Time until the BIN's device is readable: translated view vs the converted-copy fallback.

Images live in a temp dir on disk (so dropping their pages means re-reading them) and are
removed at the end; every device and view is detached even on failure. Needs root,
/dev/loop-control and FUSE.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pycdlib

from burnd.image.convert import convert_to_iso, write_bin_cue
from burnd.image.open import open_image
from burnd.virtual.attach import VirtualDrives
from tests.daemon.harness import ROOT, Burnd, Client, PrivateBus

PAYLOAD = 256 << 20
ATTACH_ROUNDS = 30
READ_ROUNDS = 3
CHUNK = 1 << 20


def work_dir() -> str:
    return tempfile.mkdtemp(prefix="burnd-bench-attach-", dir="/var/tmp")


def make_iso(path: str) -> None:
    """An ISO holding one large file of incompressible-looking data."""
    block = hashlib.shake_256(b"burnd").digest(CHUNK)
    data = io.BytesIO(block * (PAYLOAD // CHUNK))
    iso = pycdlib.PyCdlib()
    iso.new(vol_ident="BENCH")
    iso.add_fp(data, PAYLOAD, "/DATA.BIN;1")
    iso.write(path)
    iso.close()


def losetup_round(iso: str) -> None:
    device = subprocess.run(["losetup", "--find", "--show", "-r", iso], capture_output=True, text=True,
                            check=True).stdout.strip()
    subprocess.run(["losetup", "-d", device], check=True)


def burnd_round(drives: VirtualDrives, iso: str) -> None:
    drives.detach(drives.attach(iso).device)


async def dbus_round(client: Client, iso: str) -> None:
    fd = os.open(iso, os.O_RDONLY)
    try:
        path = await client.call(ROOT, "org.burnd.Burnd1.Manager", "AttachImage", "ha{sv}", [0, {}], [fd])
    finally:
        os.close(fd)
    await client.call(path, "org.burnd.Burnd1.VirtualDrive", "Detach", "a{sv}", [{}])


def dbus_timed(work: str, iso: str, rounds: int) -> float:
    """Mean seconds per AttachImage + Detach through a burnd process (after one warm-up round)."""
    bus = PrivateBus(Path(work) / "bus")
    daemon = Burnd(bus, Path(work) / "daemon-state")
    try:
        daemon.start()

        async def measure() -> float:
            client = await Client.connect(bus.address)
            try:
                await dbus_round(client, iso)
                start = time.perf_counter()
                for _ in range(rounds):
                    await dbus_round(client, iso)
                return (time.perf_counter() - start) / rounds
            finally:
                client.close()

        return asyncio.run(measure())
    finally:
        if daemon.process is not None:
            daemon.stop()
        bus.stop()


def timed(action, rounds: int) -> float:
    """Mean seconds per call over ``rounds`` calls (after one warm-up call)."""
    action()
    start = time.perf_counter()
    for _ in range(rounds):
        action()
    return (time.perf_counter() - start) / rounds


def set_cached(path: str, cached: bool) -> None:
    """Bring a file's pages into the page cache (read it) or drop them."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if cached:
            while os.read(fd, CHUNK):
                pass
        else:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def read_device(device: str) -> float:
    """MB/s reading the whole device once, its own page cache dropped first."""
    fd = os.open(device, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        buffer = bytearray(CHUNK)
        total = 0
        start = time.perf_counter()
        while n := os.readv(fd, [buffer]):
            total += n
        return total / (time.perf_counter() - start) / 1e6
    finally:
        os.close(fd)


def best_read(drives: VirtualDrives, image: str, data: str, view: str | None, cached: bool) -> float:
    speeds = []
    for _ in range(READ_ROUNDS):
        attached = drives.attach(image, view=view)
        set_cached(data, cached)
        try:
            speeds.append(read_device(attached.device_path))
        finally:
            drives.detach(attached.device)
    return max(speeds)


def time_to_readable(drives: VirtualDrives, image: str, view: str) -> float:
    start = time.perf_counter()
    attached = drives.attach(image, view=view)
    try:
        with open(attached.device_path, "rb") as f:
            f.read(2048)
        return time.perf_counter() - start
    finally:
        drives.detach(attached.device)


def main() -> int:
    if os.geteuid() != 0:
        print("bench/attach.py needs root (loop devices)")
        return 1
    work = work_dir()
    drives = VirtualDrives(os.path.join(work, "state"), cache_limit=2 * PAYLOAD + (64 << 20))
    try:
        iso = os.path.join(work, "plain.iso")
        make_iso(iso)
        small = os.path.join(work, "small.iso")
        shutil.copyfile(iso, small)
        losetup = timed(lambda: losetup_round(small), ATTACH_ROUNDS)
        ours = timed(lambda: burnd_round(drives, small), ATTACH_ROUNDS)
        print(f"attach+detach, plain ISO ({ATTACH_ROUNDS} rounds):")
        print(f"  losetup --find --show -r + losetup -d : {losetup * 1000:7.2f} ms")
        end_to_end = dbus_timed(work, small, ATTACH_ROUNDS)
        print(f"  burnd library attach + detach         : {ours * 1000:7.2f} ms")
        print(f"  burnd through D-Bus (AttachImage+Detach): {end_to_end * 1000:5.2f} ms")
        print(f"  ratio losetup/burnd library            : {losetup / ours:7.2f}x (target > 1: burnd faster)")
        print(f"  ratio losetup/burnd through D-Bus      : {losetup / end_to_end:7.2f}x (target > 1: burnd faster)")

        cue = os.path.join(work, "disc.cue")
        with open_image(iso) as source:
            write_bin_cue(source, cue)
        converted = os.path.join(work, "converted.iso")
        convert_to_iso(cue, converted)
        data = os.path.join(work, "disc.bin")
        for cached, where in ((True, "image files in the page cache"), (False, "image files read from disk")):
            direct = best_read(drives, converted, converted, None, cached)
            translated = best_read(drives, cue, data, "translated", cached)
            print(f"read throughput, {PAYLOAD >> 20} MiB track, {where}, best of {READ_ROUNDS}:")
            print(f"  converted ISO attached directly        : {direct:8.1f} MB/s")
            print(f"  2352-byte BIN through translated view  : {translated:8.1f} MB/s")
            print(f"  ratio translated/direct                : {translated / direct:8.2f}x (target >= 0.5)")

        view_ready = time_to_readable(drives, cue, "translated")
        cache_ready = time_to_readable(drives, cue, "cached")
        print("time until the BIN's device is readable:")
        print(f"  translated view                        : {view_ready * 1000:8.1f} ms")
        print(f"  converted copy (cache fallback)        : {cache_ready * 1000:8.1f} ms")
        print(f"  ratio cache/translated                 : {cache_ready / view_ready:8.1f}x")
        return 0
    finally:
        for attachment in drives.list():
            drives.detach(attachment.device)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
