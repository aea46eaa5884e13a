"""The readers behind burnd.image.open.open_image: detection picks each format by content."""

from __future__ import annotations

import pytest

from burnd.image.open import open_image
from tests.fixtures import compressed as cz


@pytest.mark.parametrize(
    "name,write",
    [
        ("cso", lambda iso, d: cz.write_cso(iso, d / "x.cso")),
        ("isz", lambda iso, d: cz.write_isz(iso, d / "x.isz")[0]),
        ("daa", lambda iso, d: cz.write_daa(iso, d / "x.daa")),
        ("pdi", lambda iso, d: cz.write_pdi(iso, d / "x.pdi", raw=True)),
        ("dmg", lambda iso, d: cz.write_dmg(iso, d / "x.dmg")),
    ],
)
def test_open_image_detects_and_reads(iso, tmp_path, name, write):
    path = write(iso, tmp_path)
    renamed = path.rename(tmp_path / "image.bin") if name != "isz" else path
    with open_image(str(renamed)) as image:
        assert image.format == name
        assert cz.read_all(image) == iso
