"""IsoSource: the SectorSource view of a bare ISO / UDF image."""

from __future__ import annotations

import pytest

from burnd.errors import BadImage
from burnd.image.iso import IsoSource, list_image
from burnd.image.source import TrackMode
from tests.fixtures.iso_trees import have, udf_only


def test_iso_source_layout_and_reads(ours):
    with IsoSource(str(ours)) as source:
        assert source.format == "iso"
        (track,) = source.tracks
        assert (track.mode, track.start_lba, track.sectors, track.sector_size) == (TrackMode.DATA, 0, ours.stat().st_size // 2048, 2048)
        plain = source.plain_slice()
        assert (plain.path, plain.offset, plain.size) == (str(ours), 0, ours.stat().st_size)
        view = source.data_view()
        buffer = bytearray(2 * 2048)
        assert view.readinto(16, buffer) == 4096
        assert bytes(buffer) == ours.read_bytes()[16 * 2048 : 18 * 2048]
        with pytest.raises(BadImage):
            view.readinto(track.sectors - 1, bytearray(4096))


@pytest.mark.skipif(not have("genisoimage"), reason="genisoimage is not installed")
def test_udf_only_source(tree, iso_dir):
    from tests.fixtures.iso_trees import genisoimage

    bridge = genisoimage(tree, iso_dir / "bridge-src.iso", "-udf")
    only = udf_only(bridge, iso_dir / "udf-src.iso")
    with IsoSource(str(only)) as source:
        assert source.format == "udf"
    # Without the recognition sequence the anchor at sector 256 still identifies UDF.
    anchor_only = iso_dir / "udf-anchor-only.iso"
    data = bytearray(only.read_bytes())
    data[16 * 2048 : 19 * 2048] = bytes(3 * 2048)
    anchor_only.write_bytes(bytes(data))
    with IsoSource(str(anchor_only)) as source:
        assert source.format == "udf"
    assert {e.path for e in list_image(str(anchor_only))} == {e.path for e in list_image(str(only))}


def test_not_an_iso(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(40000))
    with pytest.raises(BadImage, match="not an ISO"):
        IsoSource(str(junk))
