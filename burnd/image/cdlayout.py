"""A SectorSource built from a parsed track table: the shared back half of every CD container.

Format modules only parse their descriptor into ``StoredTrack`` records (which track, which
file, where its index-1 sector is, which sector layout). This class checks those records
against the real file sizes once — so a lying header fails at open with BadImage instead of at
some later read — and serves views, plain slices and file handles for all of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from burnd.errors import BadImage
from burnd.image.cdsector import RawView, SectorLayout
from burnd.image.source import USER_DATA_SIZE, DataView, PlainSlice, Session, SectorSource, Track, path_size

#: a CD holds at most 99 tracks; no container may claim more sessions than tracks
MAX_TRACKS = 99


@dataclass(frozen=True, slots=True)
class StoredTrack:
    """Where a track's sectors live. ``offset`` is the byte offset of its index-1 sector;
    ``layout`` is None for tracks without a 2048-byte view (audio, Form 2 cooked)."""

    track: Track
    path: str
    offset: int
    layout: SectorLayout | None
    big_endian_audio: bool = False


def group_sessions(tracks: Iterable[Track]) -> tuple[Session, ...]:
    """Sessions in order, each with its tracks in order, from tracks that carry a session number."""
    by_session: dict[int, list[Track]] = {}
    for track in tracks:
        by_session.setdefault(track.session, []).append(track)
    return tuple(Session(n, tuple(sorted(ts, key=lambda t: t.number))) for n, ts in sorted(by_session.items()))


def file_size(path: str, what: str) -> int:
    try:
        return path_size(path)
    except OSError as exc:
        raise BadImage(f"{what}: cannot open the data file {path!r} ({exc.strerror}); keep it next to the descriptor") from exc


class CdImage(SectorSource):
    """An opened CD container: layout from the descriptor, data from one or more files."""

    def __init__(self, path: str, format: str, stored: Sequence[StoredTrack]) -> None:
        super().__init__(path)
        self.format = format
        if not stored:
            raise BadImage(f"{path}: the {format} descriptor lists no tracks; the image is empty or damaged")
        if len(stored) > MAX_TRACKS:
            raise BadImage(f"{path}: the {format} descriptor lists {len(stored)} tracks; a CD has at most 99")
        numbers = [s.track.number for s in stored]
        if len(set(numbers)) != len(numbers):
            raise BadImage(f"{path}: the {format} descriptor lists track numbers twice ({numbers})")
        self._stored = {s.track.number: s for s in stored}
        self._sessions = group_sessions(s.track for s in stored)
        self._fds: dict[str, int] = {}
        for entry in stored:
            self._check_extent(entry)

    def _check_extent(self, entry: StoredTrack) -> None:
        track = entry.track
        if entry.offset < 0 or track.sectors < 0 or track.sector_size <= 0:
            raise BadImage(f"{self.path}: track {track.number} has a negative offset or length in the descriptor")
        end = entry.offset + track.sectors * track.sector_size
        size = file_size(entry.path, self.path)
        if end > size:
            raise BadImage(
                f"{self.path}: track {track.number} needs bytes {entry.offset}..{end} of {entry.path!r}, "
                f"but that file has only {size} bytes; the data file is truncated or the descriptor is wrong"
            )

    @property
    def sessions(self) -> tuple[Session, ...]:
        return self._sessions

    def stored(self, track: Track | None = None) -> StoredTrack:
        """The storage record of ``track`` (default: the default track)."""
        track = track or self.default_track()
        try:
            return self._stored[track.number]
        except KeyError:
            raise BadImage(f"{self.path}: there is no track {track.number} in this image") from None

    def fd(self, path: str) -> int:
        if path not in self._fds:
            try:
                self._fds[path] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise BadImage(f"{self.path}: cannot open {path!r} ({exc.strerror})") from exc
        return self._fds[path]

    def data_view(self, track: Track | None = None) -> DataView:
        entry = self.stored(track)
        if entry.layout is None or not entry.track.is_data:
            raise BadImage(
                f"{self.path}: track {entry.track.number} is {entry.track.mode.value}, which has no "
                "2048-byte data; pick a data track"
            )
        return RawView(
            self.fd(entry.path), entry.offset, entry.track.sectors, entry.layout,
            first_lba=entry.track.start_lba, name=f"{self.path} track {entry.track.number}",
        )

    def plain_slice(self, track: Track | None = None) -> PlainSlice | None:
        entry = self.stored(track)
        if entry.layout is None or not entry.layout.is_plain:
            return None
        return PlainSlice(entry.path, entry.offset, entry.track.sectors * USER_DATA_SIZE)

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
