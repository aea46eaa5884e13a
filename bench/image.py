"""Benchmark burnd's ISO create / list / extract against the usual tools, in one run.

Tree: 2,000 small files in 40 directories plus nine 100 MiB files, generated under /dev/shm
when it has room (so the disk does not dominate), removed at the end. Baselines measured in
the same run: ``genisoimage -R -J``, ``xorriso -as mkisofs -R -J`` and pycdlib for create;
``bsdtar`` and 7-Zip for list and extract. Targets: create <= 1.0x genisoimage, extract <= 1.2x bsdtar.

Run: .venv/bin/python bench/image.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from burnd.image.iso import create, extract, list_image  # noqa: E402

SMALL_FILES = 2000
BIG_FILES = 9
BIG_SIZE = 100 << 20
SEVEN_ZIP = shutil.which("7zz") or shutil.which("7z")


def workspace() -> Path:
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > 4 * BIG_FILES * BIG_SIZE:
        return Path(tempfile.mkdtemp(prefix="burnd-bench-", dir=shm))
    return Path(tempfile.mkdtemp(prefix="burnd-bench-"))


def make_tree(root: Path) -> None:
    for index in range(SMALL_FILES):
        directory = root / f"dir{index % 40:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"file-{index:05d}.txt").write_bytes(os.urandom(200 + index % 3000))
    block = os.urandom(1 << 20)
    for index in range(BIG_FILES):
        with open(root / f"big-{index}.bin", "wb") as handle:
            for chunk in range(BIG_SIZE >> 20):
                handle.write(block[chunk:] + block[:chunk])


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def tool(*cmd: str | Path) -> Callable[[], object]:
    return lambda: subprocess.run([str(c) for c in cmd], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fresh(path: Path) -> Path:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    return path


def pycdlib_create(tree: Path, output: Path) -> None:
    """The pycdlib route (add_file + write) for comparison: burnd writes its own images because
    pycdlib stamps time.time() everywhere (no reproducible output) and is slower here."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, rock_ridge="1.09", joliet=3)
    counter = 0
    for directory, subdirs, files in os.walk(tree):
        rel = Path(directory).relative_to(tree)
        iso_dir = "" if rel == Path(".") else "/" + "/".join(f"D{part[-2:]}" for part in rel.parts)
        joliet_dir = "" if rel == Path(".") else "/" + rel.as_posix()
        for name in sorted(subdirs):
            iso.add_directory(f"{iso_dir}/D{name[-2:]}", rr_name=name, joliet_path=f"{joliet_dir}/{name}")
        for name in sorted(files):
            counter += 1
            iso.add_file(os.path.join(directory, name), f"{iso_dir}/F{counter}.;1", rr_name=name, joliet_path=f"{joliet_dir}/{name}")
    iso.write(str(output))
    iso.close()


def report(title: str, ours: float, baselines: dict[str, float]) -> None:
    print(f"{title}: burnd {ours:.2f} s")
    for name, seconds in baselines.items():
        print(f"  {name:<26} {seconds:7.2f} s   ratio burnd/{name} = {ours / seconds:.2f}")


def main() -> None:
    work = workspace()
    try:
        tree = work / "tree"
        print(f"generating {SMALL_FILES} small + {BIG_FILES} x {BIG_SIZE >> 20} MiB files in {work} ...")
        make_tree(tree)
        ours_iso, other_iso = work / "ours.iso", work / "other.iso"

        create_times = {}
        if shutil.which("genisoimage"):
            create_times["genisoimage -R -J"] = timed(tool("genisoimage", "-quiet", "-R", "-J", "-o", fresh(other_iso), tree))
        if shutil.which("xorriso"):
            create_times["xorriso -as mkisofs -R -J"] = timed(tool("xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", fresh(other_iso), tree))
        create_times["pycdlib add_file+write"] = timed(lambda: pycdlib_create(tree, fresh(other_iso)))
        fresh(other_iso)
        report("create", timed(lambda: create(str(tree), str(ours_iso), epoch=0)), create_times)

        list_times = {}
        if shutil.which("bsdtar"):
            list_times["bsdtar tf"] = timed(tool("bsdtar", "tf", ours_iso))
        if SEVEN_ZIP:
            list_times["7z l"] = timed(tool(SEVEN_ZIP, "l", ours_iso))
        report("list", timed(lambda: list_image(str(ours_iso))), list_times)

        extract_times = {}
        if shutil.which("bsdtar"):
            target = fresh(work / "x-bsdtar")
            target.mkdir()
            extract_times["bsdtar xf"] = timed(tool("bsdtar", "xf", ours_iso, "-C", target))
            fresh(target)
        if SEVEN_ZIP:
            target = fresh(work / "x-7z")
            extract_times["7z x"] = timed(tool(SEVEN_ZIP, "x", "-y", f"-o{target}", ours_iso))
            fresh(target)
        report("extract", timed(lambda: extract(str(ours_iso), str(fresh(work / "x-ours")))), extract_times)
        print(f"targets: create <= 1.0x genisoimage, extract <= 1.2x bsdtar (image {ours_iso.stat().st_size >> 20} MiB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
