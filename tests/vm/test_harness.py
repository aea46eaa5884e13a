"""The VM harness's pure parts, checked without booting: module ordering, the initramfs
archive (read back by libarchive, an independent cpio reader) and the guest command script."""

from __future__ import annotations

import lzma
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.vm import moddeps
from tests.vm.guest import cpio_newc, guest_command


def fake_module(root: Path, filename: str, depends: str, compress: bool = False) -> None:
    data = b"\x7fELF....\x00license=GPL\x00depends=" + depends.encode() + b"\x00vermagic=6.1\x00"
    (root / filename).write_bytes(lzma.compress(data) if compress else data)


@pytest.fixture
def modules(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "drivers/scsi").mkdir(parents=True)
    fake_module(tmp_path / "drivers/scsi", "sd_mod.ko", "crc-t10dif,scsi_common")
    fake_module(tmp_path / "drivers/scsi", "sr_mod.ko", "scsi_common,cdrom")
    fake_module(tmp_path / "drivers/scsi", "scsi_common.ko", "")
    fake_module(tmp_path, "crc-t10dif.ko", "crct10dif_common")
    fake_module(tmp_path, "crct10dif_common.ko.xz", "", compress=True)
    fake_module(tmp_path, "cdrom.ko", "")
    return moddeps.module_index(tmp_path)


def test_dependencies_load_first_and_once(modules: dict[str, Path]) -> None:
    order = moddeps.load_order(modules, ["sd_mod", "sr-mod"])
    assert order == ["crct10dif_common", "crc_t10dif", "scsi_common", "sd_mod", "cdrom", "sr_mod"]


def test_xz_modules_are_read_uncompressed(modules: dict[str, Path]) -> None:
    assert modules["crct10dif_common"].name.endswith(".ko.xz")
    assert moddeps.module_bytes(modules["crct10dif_common"]).startswith(b"\x7fELF")


def test_missing_module_is_named(modules: dict[str, Path]) -> None:
    with pytest.raises(KeyError, match="virtio_scsi"):
        moddeps.load_order(modules, ["virtio_scsi"])


def test_initramfs_archive_reads_back_with_libarchive(tmp_path: Path) -> None:
    if shutil.which("bsdtar") is None:
        pytest.skip("bsdtar (libarchive-tools) is not installed")
    entries = [("bin", 0o40755, b""), ("init", 0o100755, b"#!/bin/sh\n"), ("bin/odd", 0o100644, b"12345")]
    archive = tmp_path / "initramfs.cpio"
    archive.write_bytes(cpio_newc(entries))
    listing = subprocess.run(["bsdtar", "-tvf", str(archive)], check=True, capture_output=True, text=True).stdout
    assert [line.split()[0] for line in listing.splitlines()] == ["drwxr-xr-x", "-rwxr-xr-x", "-rw-r--r--"]
    assert [line.split()[-1] for line in listing.splitlines()] == ["bin", "init", "bin/odd"]
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run(["bsdtar", "-xf", str(archive), "-C", str(out)], check=True)
    assert (out / "bin/odd").read_bytes() == b"12345" and (out / "init").read_bytes() == b"#!/bin/sh\n"


def test_guest_command_survives_shell_quoting(tmp_path: Path) -> None:
    script = tmp_path / "cmd.sh"
    args = ["it's", "a b", "$HOME", "`x`", "--flag=1;2"]
    script.write_text(guest_command(["printf", "%s\\n", *args, "${WEIRD}"], {"WEIRD": "v w $x"}))
    out = subprocess.run(["sh", str(script)], check=True, capture_output=True, text=True).stdout
    assert out.splitlines() == [*args, "${WEIRD}"]
    env = subprocess.run(["sh", "-c", f". {script} >/dev/null; printf %s \"$WEIRD\""],
                         check=True, capture_output=True, text=True).stdout
    assert env == "v w $x"
