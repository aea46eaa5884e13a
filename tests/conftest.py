"""Shared test configuration. Per-area fixtures live in each tests/<area>/conftest.py."""

import os

from hypothesis import settings

# CI replays a fixed set of examples so a run judges the change, not the luck of the draw;
# local runs keep exploring new inputs (and store any failure in .hypothesis/ to replay).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
