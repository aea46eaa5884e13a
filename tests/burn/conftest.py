"""Fixtures for the burn engine tests: an OpticalDrive over a fresh VirtualBurner, and images."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from burnd.drive import OpticalDrive
from burnd.emu import FaultPlan, VirtualBurner

CAPACITY = 4000
POLL = 0.005

WRITABLE = ("cd-r", "cd-rw", "dvd-r", "dvd-rw", "dvd-rw-ro", "dvd+r", "dvd+r-dl", "dvd+rw", "dvd-ram",
            "bd-r", "bd-re")


@dataclass
class Rig:
    burner: VirtualBurner
    drive: OpticalDrive
    backing: str | None


@pytest.fixture
def make_rig(tmp_path) -> Iterator[Callable[..., Rig]]:  # type: ignore[no-untyped-def]
    """``make_rig("dvd+r", capacity=..., faults=[...], backing=True)`` → Rig; closed afterwards."""
    burners: list[VirtualBurner] = []

    def make(media: str | None, *, capacity: int = CAPACITY, faults: list[str] | None = None,
             backing: bool = False, **kwargs: object) -> Rig:
        path = str(tmp_path / f"{media}-{len(burners)}.img") if backing else None
        vb = VirtualBurner(media, backing=path, capacity=capacity, busy_seconds=0.01,
                           faults=FaultPlan.parse(faults or []), **kwargs)  # type: ignore[arg-type]
        burners.append(vb)
        return Rig(vb, OpticalDrive(vb), path)

    yield make
    for vb in burners:
        vb.close()


def image_bytes(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture
def image_file(tmp_path) -> Callable[[int], str]:  # type: ignore[no-untyped-def]
    def make(size: int, seed: int = 7) -> str:
        path = tmp_path / f"image-{size}-{seed}.bin"
        path.write_bytes(image_bytes(size, seed))
        return os.fspath(path)

    return make
