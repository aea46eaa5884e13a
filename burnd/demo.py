"""`make demo`: the main job end to end, on a machine with no optical drive.

A private D-Bus daemon, burnd with two virtual burners (BD-R and DVD+RW) and a virtual
two-drive disc robot, and burnctl as a user types it: master an ISO from a sample directory,
burn it with the progress bar, verify, append a second session, attach the burned disc as a
loop device and list its files, burn three copies with the robot, show the drives and jobs,
and shut everything down cleanly. Every step is a real process talking over
the bus, exactly as on a system with hardware — only the drives are software.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
BUS_WAIT = 10.0


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m" if sys.stdout.isatty() else f"\n== {title}", flush=True)


def burnctl(*args: str, capture: bool = False) -> str:
    """Run burnctl like a user would; a failure stops the demo with burnctl's own message."""
    command = [str(BIN / "burnctl"), *args]
    print("$ burnctl " + " ".join(args), flush=True)
    result = subprocess.run(command, text=True, stdout=subprocess.PIPE if capture else None)
    if result.returncode != 0:
        raise SystemExit(f"demo failed: burnctl {' '.join(args)} exited {result.returncode}")
    return result.stdout or ""


def sample_tree(root: Path, label: str, files: int) -> Path:
    root.mkdir(parents=True)
    for n in range(files):
        (root / f"{label}-{n:02d}.txt").write_text(f"{label} file {n}\n" * (n + 1))
    (root / "docs").mkdir()
    (root / "docs" / "README").write_text(f"burnd demo, {label}\n")
    return root


def start_bus(folder: Path) -> tuple[subprocess.Popen[str], str]:
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address",
                            f"--address=unix:path={folder / 'bus'}"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert bus.stdout is not None
    return bus, bus.stdout.readline().strip()


def start_burnd(address: str, state: Path, log: Path) -> subprocess.Popen[bytes]:
    daemon = subprocess.Popen([sys.executable, "-m", "burnd", "--bus", address, "--state-dir", str(state),
                               "--virtual-burner", "bd-r:40000", "--virtual-burner", "dvd+rw:40000",
                               "--virtual-robot", "rimage-ras13:2:10"],
                              stderr=log.open("wb"))
    deadline = time.monotonic() + BUS_WAIT
    while time.monotonic() < deadline:
        probe = subprocess.run([str(BIN / "burnctl"), "drives"], capture_output=True)
        if probe.returncode == 0:
            return daemon
        if daemon.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"demo failed: burnd did not come up; its log:\n{log.read_text()}")


def msinfo(drive: str) -> tuple[int, int]:
    """Where the last session starts and where the next one goes (mkisofs -C a,b)."""
    tracks = json.loads(burnctl("info", drive, "--json", capture=True))["drive"]["tracks"]
    last = max(t["start"] for t in tracks if not t["blank"])
    following = min(t["start"] for t in tracks if t["blank"])
    return last, following


def main() -> int:
    if shutil.which("dbus-daemon") is None or shutil.which("genisoimage") is None:
        raise SystemExit("the demo needs dbus-daemon and genisoimage; `make demo` installs them")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="burnd-demo-") as tmp:
        work = Path(tmp)
        bus, address = start_bus(work)
        os.environ["BURNCTL_BUS"] = address
        daemon = None
        attached = ""
        try:
            step("burnd on a private bus with two virtual burners and a two-drive disc robot")
            daemon = start_burnd(address, work / "state", work / "burnd.log")
            burnctl("drives")

            step("master an ISO from a sample directory")
            first = work / "first.iso"
            burnctl("image", "create", str(sample_tree(work / "sample", "first", 5)), str(first),
                    "-V", "BURND_DEMO")

            step("burn it to the BD-R (verified by default), leaving the disc appendable")
            burnctl("write", str(first), "virtual0", "--multisession")
            burnctl("verify", "virtual0", str(first))

            step("append a second session")
            last, following = msinfo("virtual0")
            backing = work / "state" / "virtual" / "virtual0.img"
            second = work / "second.iso"
            subprocess.run(["genisoimage", "-quiet", "-R", "-J", "-V", "BURND_DEMO", "-C", f"{last},{following}",
                            "-M", str(backing), "-o", str(second), str(sample_tree(work / "more", "second", 3))],
                           check=True, stderr=subprocess.DEVNULL)
            burnctl("write", str(second), "virtual0", "--multisession")

            step("attach the burned disc as a loop device and list its files")
            attached = burnctl("attach", str(backing), capture=True).strip().split()[-1]
            print(attached)
            burnctl("image", "ls", attached)

            step("three copies with the disc robot: load, burn, verify, drop into the accept bin, in both drives")
            burnctl("write", str(first), "--robot", "vrobot0", "--copies", "3")
            burnctl("robot", "list")

            step("drives and jobs")
            burnctl("drives")
            burnctl("jobs")
        finally:
            step("shut down")
            if attached:
                burnctl("detach", attached)
            if daemon is not None:
                daemon.send_signal(signal.SIGTERM)
                print(f"burnd exited {daemon.wait(timeout=30)}")
            bus.terminate()
            bus.wait(timeout=10)
    print(f"\ndemo finished in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
