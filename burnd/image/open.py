"""``open_image``: one call from a path to a SectorSource, whatever the format."""

from __future__ import annotations


from burnd.errors import BadImage
from burnd.image import cdsector as cd
from burnd.image.boundary import guard
from burnd.image.cdlayout import CdImage, StoredTrack
from burnd.image.detect import Detection, detect, load_format, raw_sector_mode
from burnd.image.source import SectorSource, Track, TrackMode, fd_size, path_size


def single_track_source(path: str, format: str, mode: TrackMode, layout: cd.SectorLayout) -> SectorSource:
    """A whole file as one track: raw 2352-byte sectors without a cue, or plain 2048-byte data
    (``.cdr``) with a file system burnd does not parse but can still burn or attach."""
    sectors = path_size(path) // layout.stride
    if sectors == 0:
        raise BadImage(f"{path}: the file is smaller than one sector")
    track = Track(1, 1, mode, 0, sectors, layout.stride)
    return CdImage(path, format, [StoredTrack(track, path, 0, layout)])


def open_detected(found: Detection) -> SectorSource:
    if found.format in ("iso", "udf"):
        from burnd.image.iso.source import IsoSource

        return IsoSource(found.descriptor_path)
    if found.format == "raw":
        with open(found.descriptor_path, "rb") as f:
            mode = raw_sector_mode(f, fd_size(f.fileno()))
        if mode == 1:
            return single_track_source(found.descriptor_path, "raw", TrackMode.MODE1, cd.MODE1_RAW)
        return single_track_source(found.descriptor_path, "raw", TrackMode.MODE2_MIXED, cd.MODE2_RAW)
    if found.format == "cdr":
        return single_track_source(found.descriptor_path, "cdr", TrackMode.DATA, cd.COOKED)
    return load_format(found.format).open_image(found.descriptor_path)


def open_image(path: str) -> SectorSource:
    """Open any supported image: detect by content, then hand it to its reader. The caller
    closes the result (it is a context manager).

    Each reader validates what it parses; the boundary here is the backstop that keeps a case
    a reader missed a BadImage rather than a bare Python error."""
    with guard(path, "open the image"):
        return open_detected(detect(path))


__all__ = ["open_image", "open_detected", "single_track_source"]
