"""Shared, session-scoped source tree and images for the ISO tests (built once per run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from burnd.image.iso import create
from tests.fixtures.iso_trees import genisoimage, have, make_tree, xorriso


@pytest.fixture(scope="session")
def iso_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("iso")


@pytest.fixture(scope="session")
def tree(iso_dir) -> Path:
    return make_tree(iso_dir / "tree")


@pytest.fixture(scope="session")
def ours(iso_dir, tree) -> Path:
    out = iso_dir / "ours.iso"
    create(str(tree), str(out), volume_id="BURND_TEST", epoch=1_700_000_000)
    return out


@pytest.fixture(scope="session")
def geniso(iso_dir, tree) -> Path:
    if not have("genisoimage"):
        pytest.skip("genisoimage is not installed (apt: genisoimage)")
    return genisoimage(tree, iso_dir / "geniso.iso", "-R", "-J", "-joliet-long", "-V", "GENISO")


@pytest.fixture(scope="session")
def xorr(iso_dir, tree) -> Path:
    if not have("xorriso"):
        pytest.skip("xorriso is not installed (apt: xorriso)")
    return xorriso(tree, iso_dir / "xorriso.iso", "-R", "-J", "-joliet-long", "-V", "XORRISO", "--md5")
