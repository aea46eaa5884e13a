"""Fixtures for the compressed-image readers: one base ISO per session, wrapped per test."""

from __future__ import annotations

import pytest

from tests.fixtures.compressed import base_iso


@pytest.fixture(scope="session")
def iso() -> bytes:
    return base_iso()
