"""Helpers shared by the CD container tests: read a whole track view, find Debian tools."""

from __future__ import annotations

import shutil

import pytest

from burnd.image.source import SectorSource, Track


def read_track(source: SectorSource, track: Track | None = None) -> bytes:
    """The whole 2048-byte view of ``track``, read in one call."""
    track = track or source.default_track()
    view = source.data_view(track)
    buffer = bytearray(track.sectors * 2048)
    view.readinto(0, buffer)
    return bytes(buffer)


def need_tool(name: str, package: str) -> str:
    """Path of a cross-check tool; skip (naming the Debian package) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package {package}, listed in deps/apt/image-formats.txt)")
    return path
