"""A throwaway QEMU guest with a real Linux SCSI stack (sr, sg, sd) to run burnd's code against.

The test machines' kernel has no SCSI drivers, so the guest boots Debian's stock kernel under
TCG with a tiny busybox initramfs that mounts the host's / read-only over 9p and chroots into it:
the host's Python, the project venv and sg3-utils then run inside the guest unchanged, and a
writable 9p folder carries results back. Kernel and initramfs are built once (from Debian
packages fetched with ``apt-get download``; nothing is installed on the host) and cached under
$BURND_VM_CACHE or <project>/.cache/vm.

Also a command-line tool for exploring a drive by hand:
    python -m tests.vm.guest --iso disc.iso -- sg_inq /dev/sr0
"""

from __future__ import annotations

import argparse
import fcntl
import gzip
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.vm import moddeps

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KERNEL_META_PACKAGE = "linux-image-amd64"
BUSYBOX_PACKAGE = "busybox-static"
MODULES = ["virtio_pci", "virtio_scsi", "sr_mod", "sd_mod", "sg", "9pnet_virtio", "9p", "isofs", "loop"]
BOOT_TIMEOUT = 300.0
GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

INIT_SCRIPT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do insmod /modules/$m.ko; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 hostroot /host
mount -t proc proc /host/proc; mount -t sysfs sys /host/sys; mount -t devtmpfs dev /host/dev
mount -t tmpfs tmp /host/run
OUT=$(sed -n 's/.*burnd.out=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /host$OUT
for i in $(seq 100); do [ -e /dev/sr0 ] && break; sleep 0.05; done
echo; echo "GUEST_START uptime=$(cut -d' ' -f1 /proc/uptime)"
chroot /host /bin/sh $OUT/cmd.sh
echo "GUEST_RC=$? uptime=$(cut -d' ' -f1 /proc/uptime)"
sync; poweroff -f
"""


class GuestUnavailable(RuntimeError):
    """This machine cannot run the guest (a tool or the kernel package is missing)."""


@dataclass(frozen=True)
class GuestImage:
    kernel: Path
    initramfs: Path


@dataclass(frozen=True)
class GuestRun:
    returncode: int
    console: str
    wall_seconds: float
    start_uptime: float
    end_uptime: float


def cache_root() -> Path:
    return Path(os.environ.get("BURND_VM_CACHE") or PROJECT_ROOT / ".cache" / "vm")


def missing_host_tools() -> list[str]:
    return [t for t in ("qemu-system-x86_64", "apt-get", "apt-cache", "dpkg") if shutil.which(t) is None]


def _run(argv: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise GuestUnavailable(f"{shlex.join(argv)} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def kernel_package() -> str:
    """The versioned image package the meta package points at, e.g. linux-image-6.1.0-56-amd64."""
    found = re.search(r"Depends: (linux-image-\d\S*)", _run(["apt-cache", "depends", KERNEL_META_PACKAGE]))
    if not found:
        raise GuestUnavailable(f"apt-cache knows no kernel behind {KERNEL_META_PACKAGE}")
    return found.group(1)


def cpio_newc(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A newc cpio archive of (path, mode, data) entries — the initramfs format."""
    out = bytearray()
    for ino, (name, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
        out += b"070701" + b"".join(b"%08X" % f for f in fields) + encoded
        out += bytes(-len(out) % 4)
        out += data + bytes(-len(data) % 4)
    return bytes(out)


def _build(package: str, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="burnd-vm-build-") as tmp:
        work = Path(tmp)
        _run(["apt-get", "download", "-o", "APT::Sandbox::User=root", package, BUSYBOX_PACKAGE], cwd=work)
        for deb in work.glob("*.deb"):
            _run(["dpkg", "-x", str(deb), str(work / "root")])
        root = work / "root"
        (version,) = [p.name for p in (root / "lib/modules").iterdir()]
        index = moddeps.module_index(root / "lib/modules" / version / "kernel")
        try:
            order = moddeps.load_order(index, MODULES)
        except KeyError as err:
            raise GuestUnavailable(str(err)) from err
        dirs = ["bin", "proc", "sys", "dev", "host", "modules"]
        entries = [(d, 0o40755, b"") for d in dirs]
        entries.append(("init", 0o100755, INIT_SCRIPT.encode()))
        entries.append(("bin/busybox", 0o100755, (root / "bin/busybox").read_bytes()))
        entries.append(("modules/order", 0o100644, "\n".join(order).encode() + b"\n"))
        entries += [(f"modules/{m}.ko", 0o100644, moddeps.module_bytes(index[m])) for m in order]
        staging = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
        try:
            shutil.copyfile(root / "boot" / f"vmlinuz-{version}", staging / "vmlinuz")
            (staging / "initramfs.gz").write_bytes(gzip.compress(cpio_newc(entries), compresslevel=1))
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def prepare_guest(cache: Path | None = None) -> GuestImage:
    """Kernel + initramfs, built on first use and cached per (kernel, module list, init)."""
    missing = missing_host_tools()
    if missing:
        raise GuestUnavailable(f"missing host tools: {', '.join(missing)} (deps/apt/vm.txt)")
    cache = cache or cache_root()
    cache.mkdir(parents=True, exist_ok=True)
    package = kernel_package()
    recipe = "\n".join([package, BUSYBOX_PACKAGE, *MODULES, INIT_SCRIPT])
    target = cache / f"{package}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_dir():
            _build(package, target)
    return GuestImage(target / "vmlinuz", target / "initramfs.gz")


def scsi_controller() -> list[str]:
    return ["-device", "virtio-scsi-pci,id=scsi0"]


def scsi_cd(iso: Path, scsi_id: int, vendor: str, product: str, revision: str) -> list[str]:
    """QEMU's read-only MMC model with a disc loaded; device id ``cd<scsi_id>``."""
    return [
        "-drive", f"if=none,id=cd{scsi_id}drv,media=cdrom,readonly=on,format=raw,file={iso}",
        "-device", f"scsi-cd,id=cd{scsi_id},drive=cd{scsi_id}drv,bus=scsi0.0,channel=0,"
        f"scsi-id={scsi_id},lun=0,vendor={vendor},product={product},ver={revision}",
    ]


def scsi_disk(image: Path, scsi_id: int) -> list[str]:
    """A plain SCSI disk (peripheral type 0): something burnd must refuse."""
    return [
        "-drive", f"if=none,id=hd{scsi_id}drv,format=raw,file={image}",
        "-device", f"scsi-hd,id=hd{scsi_id},drive=hd{scsi_id}drv,bus=scsi0.0,channel=0,scsi-id={scsi_id},lun=0",
    ]


def scsi_passthrough(iscsi_url: str, scsi_id: int) -> list[str]:
    """An iSCSI LUN passed through unchanged (scsi-generic): every CDB reaches the target."""
    return [
        "-drive", f"if=none,id=sg{scsi_id}drv,format=raw,file={iscsi_url}",
        "-device", f"scsi-generic,id=sg{scsi_id},drive=sg{scsi_id}drv,bus=scsi0.0,channel=0,scsi-id={scsi_id},lun=0",
    ]


def guest_command(argv: list[str], env: dict[str, str]) -> str:
    """The shell script the guest runs (chrooted into the host's /, which is read-only: hence
    no bytecode files and a tmpfs TMPDIR; the project is importable as in the host)."""
    exports = {"PATH": GUEST_PATH, "TMPDIR": "/run", "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONPATH": str(PROJECT_ROOT), **env}
    lines = [f"export {k}={shlex.quote(v)}" for k, v in exports.items()]
    return "\n".join([*lines, shlex.join(argv)]) + "\n"


def boot(
    image: GuestImage,
    argv: list[str],
    out_dir: Path,
    devices: list[str],
    env: dict[str, str] | None = None,
    timeout: float = BOOT_TIMEOUT,
) -> GuestRun:
    """Boot, run ``argv`` inside the guest, power off. ``out_dir`` is writable from the guest
    at the same path; the console log lands in out_dir/console.log."""
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "cmd.sh").write_text(guest_command(argv, env or {}))
    qemu = [
        "qemu-system-x86_64", "-accel", "tcg", "-M", "pc", "-m", "1024", "-smp", "1",
        "-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-serial", "stdio",
        "-kernel", str(image.kernel), "-initrd", str(image.initramfs),
        "-append", f"console=ttyS0 quiet loglevel=3 panic=-1 burnd.out={out_dir}",
        "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
        "-virtfs", f"local,path={out_dir},mount_tag=out,security_model=none",
        *devices,
    ]
    started = time.monotonic()
    try:
        done = subprocess.run(qemu, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        console = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as expired:
        console = (expired.stdout or b"").decode(errors="replace") + "\n[burnd: guest timed out]"
    wall = time.monotonic() - started
    console = re.sub(r"\x1b(\[[0-9;?]*[a-zA-Z]|c)", "", console)
    (out_dir / "console.log").write_text(console)
    start = re.search(r"GUEST_START uptime=([\d.]+)", console)
    end = re.search(r"GUEST_RC=(\d+) uptime=([\d.]+)", console)
    if not (start and end):
        raise RuntimeError(f"the guest did not finish its command; console:\n{console[-3000:]}")
    return GuestRun(int(end.group(1)), console, wall, float(start.group(1)), float(end.group(2)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iso", type=Path, help="load this image into a QEMU scsi-cd")
    parser.add_argument("--iscsi", help="pass this iscsi:// LUN through (e.g. a tgt burner)")
    parser.add_argument("--disk", type=Path, help="also attach this raw file as a SCSI disk")
    parser.add_argument("--out", type=Path, help="writable results folder (default: a new temp dir)")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    devices = scsi_controller()
    if args.iso:
        devices += scsi_cd(args.iso.resolve(), 0, "BURNDTST", "VirtualBurner", "1.00")
    if args.iscsi:
        devices += scsi_passthrough(args.iscsi, 1)
    if args.disk:
        devices += scsi_disk(args.disk.resolve(), 2)
    out = args.out or Path(tempfile.mkdtemp(prefix="burnd-vm-out-"))
    run = boot(prepare_guest(), args.command, out, devices)
    print(run.console)
    print(f"[wall {run.wall_seconds:.1f} s, guest uptime {run.start_uptime}..{run.end_uptime} s, out {out}]")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
