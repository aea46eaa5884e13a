"""What a VM scenario hands to the tests: the guest's recorded checks and the host-side files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.vm.guest import GuestRun

VENDOR, PRODUCT, REVISION = "BURNDTST", "VirtualBurner", "1.00"
"""What QEMU's scsi-cd is told to answer to INQUIRY."""


@dataclass(frozen=True)
class Scenario:
    results: dict[str, dict[str, Any]]
    run: GuestRun
    files: dict[str, Path]

    def ok(self, name: str) -> Any:
        """The value of a check that must have succeeded (else show what went wrong)."""
        outcome = self.results.get(name)
        assert outcome is not None, f"guest recorded no check {name!r}; console:\n{self.run.console[-2000:]}"
        assert outcome["ok"], f"{name} failed in the guest:\n{outcome['traceback']}"
        return outcome["value"]

    def failed(self, name: str) -> dict[str, Any]:
        """The error record of a check that must have raised."""
        outcome = self.results.get(name)
        assert outcome is not None, f"guest recorded no check {name!r}"
        assert not outcome["ok"], f"{name} should have failed but returned {outcome['value']!r}"
        return outcome


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
