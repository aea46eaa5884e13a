"""The media the virtual burner can hold: profile, recording model and default capacity.

Capacities follow reference §5.11 where it gives one (CD 80 min, DVD+R, BD-R); the others are the
common single-layer figures of real discs. Every one can be overridden per medium.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Family(enum.Enum):
    CD = "cd"
    DVD = "dvd"
    BD = "bd"


class Recording(enum.Enum):
    """How writes are placed: at the NWA of a track, anywhere formatted, or never."""

    SEQUENTIAL = "sequential"
    RANDOM = "random"
    ROM = "rom"


@dataclass(frozen=True, slots=True)
class MediumKind:
    name: str
    profile: int
    family: Family
    recording: Recording
    capacity: int
    erasable: bool = False
    # Media that need FORMAT UNIT before the first WRITE (DVD+RW, BD-RE).
    needs_format: bool = False
    # Sequential media whose write strategy comes from mode page 05h (CD, DVD-R[W]).
    uses_page05: bool = False
    # Close functions (CLOSE TRACK/SESSION byte 2) the medium accepts (reference §3.18).
    close_functions: frozenset[int] = frozenset()
    # READ DISC STRUCTURE format 00h book type (DVD) — reference §3.28.
    book_type: int = 0

    @property
    def ecc_blocks(self) -> int:
        """Blocks per ECC block / cluster: the drive pads closed tracks to this multiple."""
        return {Family.CD: 1, Family.DVD: 16, Family.BD: 32}[self.family]


CD_80_MIN = 360_000
DVD_PLUS_R = 2_295_104
DVD_MINUS_R = 2_298_496
DVD_PLUS_R_DL = 4_173_824
DVD_RAM = 2_236_704
BD_SL = 12_219_392

_SEQ_CD = frozenset({1, 2})
_SEQ_MINUS = frozenset({1, 2})
_SEQ_PLUS = frozenset({1, 2, 5, 6})
_SEQ_BD = frozenset({1, 2, 6})

_ALL = (
    MediumKind(
        "cd-r",
        0x09,
        Family.CD,
        Recording.SEQUENTIAL,
        CD_80_MIN,
        uses_page05=True,
        close_functions=_SEQ_CD,
    ),
    MediumKind(
        "cd-rw",
        0x0A,
        Family.CD,
        Recording.SEQUENTIAL,
        CD_80_MIN,
        erasable=True,
        uses_page05=True,
        close_functions=_SEQ_CD,
    ),
    MediumKind(
        "dvd-r",
        0x11,
        Family.DVD,
        Recording.SEQUENTIAL,
        DVD_MINUS_R,
        uses_page05=True,
        close_functions=_SEQ_MINUS,
        book_type=2,
    ),
    MediumKind(
        "dvd-rw",
        0x14,
        Family.DVD,
        Recording.SEQUENTIAL,
        DVD_MINUS_R,
        erasable=True,
        uses_page05=True,
        close_functions=_SEQ_MINUS,
        book_type=3,
    ),
    MediumKind(
        "dvd-rw-ro",
        0x13,
        Family.DVD,
        Recording.RANDOM,
        DVD_MINUS_R,
        erasable=True,
        close_functions=frozenset({2}),
        book_type=3,
    ),
    MediumKind(
        "dvd+r",
        0x1B,
        Family.DVD,
        Recording.SEQUENTIAL,
        DVD_PLUS_R,
        close_functions=_SEQ_PLUS,
        book_type=0xA,
    ),
    MediumKind(
        "dvd+r-dl",
        0x2B,
        Family.DVD,
        Recording.SEQUENTIAL,
        DVD_PLUS_R_DL,
        close_functions=_SEQ_PLUS,
        book_type=0xE,
    ),
    MediumKind(
        "dvd+rw",
        0x1A,
        Family.DVD,
        Recording.RANDOM,
        DVD_PLUS_R,
        erasable=True,
        needs_format=True,
        close_functions=frozenset({0, 1, 2}),
        book_type=9,
    ),
    MediumKind("dvd-ram", 0x12, Family.DVD, Recording.RANDOM, DVD_RAM, erasable=True, book_type=1),
    MediumKind("bd-r", 0x41, Family.BD, Recording.SEQUENTIAL, BD_SL, close_functions=_SEQ_BD),
    MediumKind("bd-re", 0x43, Family.BD, Recording.RANDOM, BD_SL, erasable=True, needs_format=True),
    MediumKind("cd-rom", 0x08, Family.CD, Recording.ROM, 0),
    MediumKind("dvd-rom", 0x10, Family.DVD, Recording.ROM, 0),
    MediumKind("bd-rom", 0x40, Family.BD, Recording.ROM, 0),
)

MEDIA_KINDS: dict[str, MediumKind] = {kind.name: kind for kind in _ALL}

# Every profile the virtual drive claims in feature 0000h, highest first as drives list them.
DRIVE_PROFILES: tuple[int, ...] = tuple(sorted({k.profile for k in _ALL}, reverse=True))

# The DVD-RW profiles are two states of one physical disc: FORMAT/BLANK switch between them.
DVD_RW_SEQUENTIAL = MEDIA_KINDS["dvd-rw"]
DVD_RW_RESTRICTED = MEDIA_KINDS["dvd-rw-ro"]


def kind_by_name(name: str) -> MediumKind:
    try:
        return MEDIA_KINDS[name]
    except KeyError:
        known = ", ".join(MEDIA_KINDS)
        raise ValueError(f"unknown medium kind {name!r}; choose one of: {known}") from None
