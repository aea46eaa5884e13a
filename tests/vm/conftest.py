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


@pytest.fixture(scope="session")
def tgt_scenario(guest_image: guest.GuestImage, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """tgt's blank DVD+R over iSCSI, passed through to the guest unchanged."""
    work = tmp_path_factory.mktemp("vm-tgt")
    backing = work / "blank.img"
    backing.write_bytes(b"")
    try:
        with tgt_burner(backing, work / "tgtd.log") as url:
            return _boot_scenario("tgt", guest_image, work / "out", "tests.vm.guest_tgt", [],
                                  [*guest.scsi_controller(), *guest.scsi_passthrough(url, 0)],
                                  {"backing": backing, "log": work / "tgtd.log"})
    except TgtUnavailable as exc:
        pytest.skip(f"tgt cannot serve a burner here: {exc}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for name, run in _boots.items():
        terminalreporter.write_line(
            f"VM boot '{name}': {run.wall_seconds:.1f} s wall; guest kernel up at {run.start_uptime:.2f} s, "
            f"checks done at {run.end_uptime:.2f} s (guest uptime)"
        )
