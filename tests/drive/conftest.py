"""Drive tests run OpticalDrive against the software burner (burnd.emu): no fakes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from burnd.drive import OpticalDrive
from burnd.emu import VirtualBurner


@pytest.fixture
def burner() -> Iterator[Callable[..., VirtualBurner]]:
    """Factory ``burner("dvd+r", **kwargs)``; every burner is closed afterwards."""
    made: list[VirtualBurner] = []

    def make(media: str | None = "dvd+r", **kwargs: object) -> VirtualBurner:
        kwargs.setdefault("busy_seconds", 0.02)
        vb = VirtualBurner(media, **kwargs)  # type: ignore[arg-type]
        made.append(vb)
        return vb

    yield make
    for vb in made:
        vb.close()


@pytest.fixture
def drive_for(burner: Callable[..., VirtualBurner]) -> Callable[..., tuple[OpticalDrive, VirtualBurner]]:
    def make(media: str | None = "dvd+r", **kwargs: object) -> tuple[OpticalDrive, VirtualBurner]:
        vb = burner(media, **kwargs)
        return OpticalDrive(vb), vb

    return make
