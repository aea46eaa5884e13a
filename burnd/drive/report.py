"""What is in the drive: a medium report assembled from whatever the drive could answer.

Pure: :func:`build_report` takes parsed responses (any of which may be missing, because
read-only drives and emulators do not implement every command — QEMU's scsi-cd has no READ
TRACK INFORMATION) and derives one consistent picture. The keys of ``to_dict`` are a stable
contract for the D-Bus layer and ``burnctl``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from burnd.scsi.mmc import (
    BLOCK_SIZE,
    Capacity,
    CapacityType,
    DiscInformation,
    FormatCapacities,
    Toc,
    TrackInformation,
)
from burnd.scsi.profiles import Profile

DATA_CONTROL_BIT = 0x04


@dataclass(frozen=True, slots=True)
class TrackReport:
    number: int
    session: int | None
    start: int
    size: int
    nwa: int | None
    free_blocks: int
    track_mode: int
    data_mode: int | None
    data: bool
    blank: bool = False
    damaged: bool = False
    packet: bool = False
    fixed_packet: bool = False
    reserved: bool = False
    last_recorded: int | None = None

    @classmethod
    def from_track_information(cls, info: TrackInformation) -> TrackReport:
        return cls(
            number=info.track, session=info.session, start=info.start, size=info.size,
            nwa=info.next_writable, free_blocks=info.free_blocks, track_mode=info.track_mode,
            data_mode=info.data_mode, data=bool(info.track_mode & DATA_CONTROL_BIT),
            blank=info.blank, damaged=info.damaged, packet=info.packet,
            fixed_packet=info.fixed_packet, reserved=info.reserved, last_recorded=info.last_recorded,
        )

    @property
    def writable(self) -> bool:
        return self.nwa is not None and self.free_blocks > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number, "session": self.session, "start": self.start, "size": self.size,
            "nwa": self.nwa, "free_blocks": self.free_blocks, "track_mode": self.track_mode,
            "data_mode": self.data_mode, "data": self.data, "blank": self.blank,
            "damaged": self.damaged, "packet": self.packet, "fixed_packet": self.fixed_packet,
            "reserved": self.reserved, "last_recorded": self.last_recorded,
        }


def tracks_from_toc(toc: Toc) -> tuple[TrackReport, ...]:
    """Fallback when READ TRACK INFORMATION is missing: sizes from consecutive TOC starts.

    Nothing here is writable (no NWA): a drive without READ TRACK INFORMATION cannot burn.
    """
    ordered = sorted(toc.entries, key=lambda e: (e.is_lead_out, e.track))
    tracks = []
    for entry, following in zip(ordered, ordered[1:]):
        if entry.is_lead_out:
            continue
        tracks.append(TrackReport(
            number=entry.track, session=None, start=entry.start,
            size=max(following.start - entry.start, 0), nwa=None, free_blocks=0,
            track_mode=entry.control, data_mode=None, data=entry.is_data,
        ))
    return tuple(tracks)


@dataclass(frozen=True, slots=True)
class MediaReport:
    present: bool
    profile: Profile | None = None
    disc_status: str | None = None
    last_session_state: str | None = None
    erasable: bool = False
    sessions: int = 0
    tracks: tuple[TrackReport, ...] = ()
    capacity_blocks: int = 0
    free_blocks: int = 0
    used_blocks: int = 0
    toc: tuple[dict[str, Any], ...] = ()
    bg_format_status: int | None = None
    formatted: bool | None = None
    sources: tuple[str, ...] = field(default=())

    @property
    def overwritable(self) -> bool:
        return self.profile is not None and self.profile.overwritable

    @property
    def blank(self) -> bool:
        return self.disc_status == "blank"

    @property
    def appendable(self) -> bool:
        return self.disc_status == "appendable" and self.free_blocks > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "profile": None if self.profile is None else {"code": self.profile.code, "name": self.profile.name},
            "disc_status": self.disc_status,
            "last_session_state": self.last_session_state,
            "erasable": self.erasable,
            "overwritable": self.overwritable,
            "sessions": self.sessions,
            "capacity_blocks": self.capacity_blocks,
            "free_blocks": self.free_blocks,
            "used_blocks": self.used_blocks,
            "block_size": BLOCK_SIZE,
            "bg_format_status": self.bg_format_status,
            "formatted": self.formatted,
            "tracks": [t.to_dict() for t in self.tracks],
            "toc": [dict(e) for e in self.toc],
            "sources": list(self.sources),
        }

    def describe(self) -> str:
        if not self.present:
            return "no medium"
        name = str(self.profile) if self.profile else "unknown medium"
        state = self.disc_status or "state unknown"
        if self.overwritable:
            state = "overwritable" + ("" if self.formatted is not False else ", not formatted")
        lines = [
            f"{name}: {state}, {self.sessions} session(s), last session {self.last_session_state or 'unknown'}"
            + (", erasable" if self.erasable else ""),
            f"capacity {_size(self.capacity_blocks)}, used {_size(self.used_blocks)}, "
            f"free {_size(self.free_blocks)}",
        ]
        for t in self.tracks:
            flags = [f for f, on in (("data" if t.data else "audio", True), ("blank", t.blank),
                                     ("damaged", t.damaged), ("packet", t.packet),
                                     ("reserved", t.reserved)) if on]
            where = f"session {t.session}, " if t.session is not None else ""
            nwa = f", next writable {t.nwa}, {t.free_blocks} free" if t.nwa is not None else ""
            lines.append(f"  track {t.number}: {where}start {t.start}, {t.size} blocks, "
                         f"{' '.join(flags)}{nwa}")
        return "\n".join(lines)


def _size(blocks: int) -> str:
    return f"{blocks} blocks ({blocks * BLOCK_SIZE / 1e9:.2f} GB)"


_DISC_STATUS = ("blank", "appendable", "complete", "other")
_SESSION_STATE = ("empty", "incomplete", "damaged", "complete")


def _toc_dicts(toc: Toc | None) -> tuple[dict[str, Any], ...]:
    if toc is None:
        return ()
    return tuple({"track": e.track, "adr": e.adr, "control": e.control, "start": e.start,
                  "data": e.is_data, "lead_out": e.is_lead_out} for e in toc.entries)


def build_report(
    profile: Profile | None,
    disc: DiscInformation | None,
    tracks: tuple[TrackReport, ...],
    toc: Toc | None,
    capacity: Capacity | None,
    formats: FormatCapacities | None,
    sources: tuple[str, ...] = (),
) -> MediaReport:
    """Combine the answers into one report (medium present).

    Capacity is the largest extent any answer vouches for: the end of the last track
    (the invisible track's size is the remaining space), READ CAPACITY, the format capacity,
    or the last possible lead-out start. Free space is the whole capacity on overwritable
    media and the free blocks of the writable tracks otherwise. Used is the end of the
    recorded area (the NWA of a partly written track); overwritable media report 0, as
    nothing there marks what is in use.
    """
    if tracks == () and toc is not None:
        tracks = tracks_from_toc(toc)
    extents = [t.start + t.size for t in tracks]
    if capacity is not None:
        extents.append(capacity.blocks)
    if formats is not None and formats.descriptor_type in (CapacityType.UNFORMATTED, CapacityType.FORMATTED):
        extents.append(formats.blocks)
    if disc is not None and disc.last_possible_lead_out is not None:
        extents.append(disc.last_possible_lead_out)
    capacity_blocks = max([0, *extents])
    overwritable = profile is not None and profile.overwritable
    if overwritable:
        free = capacity_blocks
    else:
        free = sum(t.free_blocks for t in tracks if t.writable)
    used = max((t.nwa if t.nwa is not None else t.start + t.size for t in tracks if not t.blank), default=0)
    formatted = None
    if formats is not None:
        formatted = formats.descriptor_type == CapacityType.FORMATTED
    status = None
    if disc is not None:
        status = _DISC_STATUS[disc.disc_status]
    elif toc is not None and tracks:
        status = "complete"
    return MediaReport(
        present=True,
        profile=profile,
        disc_status=status,
        last_session_state=_SESSION_STATE[disc.last_session_state] if disc else None,
        erasable=disc.erasable if disc else False,
        sessions=disc.sessions if disc else len({t.session for t in tracks}) if tracks else 0,
        tracks=tracks,
        capacity_blocks=capacity_blocks,
        free_blocks=free,
        used_blocks=0 if overwritable else used,
        toc=_toc_dicts(toc),
        bg_format_status=disc.bg_format_status if disc else None,
        formatted=formatted,
        sources=sources,
    )
