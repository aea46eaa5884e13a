"""Fixtures for the emulator tests: a Host talking to a fresh VirtualBurner."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from burnd.emu import VirtualBurner
from tests.emu.host import Host


@pytest.fixture
def make_host() -> Iterator[Callable[..., Host]]:
    """Factory: ``make_host("dvd+r", capacity=...)`` → Host; closes every burner afterwards."""
    burners: list[VirtualBurner] = []

    def make(media: str | None = "bd-r", **kwargs: object) -> Host:
        kwargs.setdefault("busy_seconds", 0.02)
        vb = VirtualBurner(media, **kwargs)  # type: ignore[arg-type]
        burners.append(vb)
        return Host(vb)

    yield make
    for vb in burners:
        vb.close()
