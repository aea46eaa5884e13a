"""VM tier fixtures: one guest boot per scenario per session, many checks per boot.

Each scenario boots the guest once, runs a guest-side script (tests/vm/guest_*.py) that does
all its checks through burnd's public API and writes JSON, and the tests assert on that JSON.
A machine without QEMU, tgt or xorriso skips with the reason; `make test` installs them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.small_iso import MasteringUnavailable, make_iso
from tests.vm import guest
from tests.vm.scenario import PRODUCT, REVISION, VENDOR, Scenario
from tests.vm.tgt import TgtUnavailable, tgt_burner

DISK_BYTES = 8 << 20

_boots: dict[str, guest.GuestRun] = {}


def _boot_scenario(name: str, image: guest.GuestImage, out: Path, module: str,
                   args: list[str], devices: list[str], files: dict[str, Path]) -> Scenario:
    results_file = out / "results.json"
    run = guest.boot(
        image,
        [sys.executable, "-m", module, str(results_file), *args],
        out,
        devices,
    )
    _boots[name] = run
    if not results_file.exists():
        pytest.fail(f"{module} wrote no results (exit {run.returncode}); console:\n{run.console[-4000:]}")
    return Scenario(json.loads(results_file.read_text()), run, files)


@pytest.fixture(scope="session")
def guest_image() -> guest.GuestImage:
    try:
        return guest.prepare_guest()
    except guest.GuestUnavailable as exc:
        pytest.skip(f"cannot run the QEMU guest: {exc}")


@pytest.fixture(scope="session")
def cd_scenario(guest_image: guest.GuestImage, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """QEMU scsi-cd with a generated ISO, plus a plain SCSI disk burnd must refuse."""
    work = tmp_path_factory.mktemp("vm-cd")
    try:
        iso = make_iso(work / "disc.iso")
    except MasteringUnavailable as exc:
        pytest.skip(str(exc))
    disk = work / "disk.img"
    disk.write_bytes(bytes(DISK_BYTES))
    devices = [
        *guest.scsi_controller(),
        *guest.scsi_cd(iso, 0, VENDOR, PRODUCT, REVISION),
        *guest.scsi_disk(disk, 1),
    ]
    return _boot_scenario("cd", guest_image, work / "out", "tests.vm.guest_cd", [str(iso)], devices,
                          {"iso": iso, "disk": disk})


def _boot_on_tgt(name: str, image: guest.GuestImage, work: Path, backing: Path, module: str,
                 args: list[str], files: dict[str, Path]) -> Scenario:
    """Boot with a fresh blank DVD+R (``backing``, emptied here) from tgt passed through."""
    backing.write_bytes(b"")
    log = work / "tgtd.log"
    try:
        with tgt_burner(backing, log) as url:
            return _boot_scenario(name, image, work / "out", module, args,
                                  [*guest.scsi_controller(), *guest.scsi_passthrough(url, 0)],
                                  {"backing": backing, "log": log, **files})
    except TgtUnavailable as exc:
        pytest.skip(f"tgt cannot serve a burner here: {exc}")


@pytest.fixture(scope="session")
def tgt_scenario(guest_image: guest.GuestImage, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """tgt's blank DVD+R over iSCSI, passed through to the guest unchanged."""
    work = tmp_path_factory.mktemp("vm-tgt")
    return _boot_on_tgt("tgt", guest_image, work, work / "blank.img", "tests.vm.guest_tgt", [], {})


@pytest.fixture(scope="session")
def burn_scenario(guest_image: guest.GuestImage, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """burnd's engine burning a generated ISO onto tgt's blank DVD+R (tests/vm/guest_burn.py)."""
    work = tmp_path_factory.mktemp("vm-burn")
    try:
        iso = make_iso(work / "disc.iso", seed=2027)
    except MasteringUnavailable as exc:
        pytest.skip(str(exc))
    backing = work / "blank.img"
    return _boot_on_tgt("burn", guest_image, work, backing, "tests.vm.guest_burn", [str(backing), str(iso)],
                        {"iso": iso, "scsi_log": work / "out" / "scsi.log"})


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for name, run in _boots.items():
        terminalreporter.write_line(
            f"VM boot '{name}': {run.wall_seconds:.1f} s wall; guest kernel up at {run.start_uptime:.2f} s, "
            f"checks done at {run.end_uptime:.2f} s (guest uptime)"
        )
