"""MMC profiles: what kind of medium (or drive personality) is current.

The table holds every profile in reference 3.4 so that an unusual drive is still named in
messages rather than shown as a bare number. The families below encode the per-medium rules
of reference 3.6/3.7 (which track to ask about, which media are overwritable) in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

PROFILE_NAMES: dict[int, str] = {
    0x0000: "no current profile",
    0x0001: "non-removable disk",
    0x0002: "removable disk",
    0x0003: "MO erasable",
    0x0004: "MO write-once",
    0x0005: "AS-MO",
    0x0008: "CD-ROM",
    0x0009: "CD-R",
    0x000A: "CD-RW",
    0x0010: "DVD-ROM",
    0x0011: "DVD-R sequential",
    0x0012: "DVD-RAM",
    0x0013: "DVD-RW restricted overwrite",
    0x0014: "DVD-RW sequential",
    0x0015: "DVD-R DL sequential",
    0x0016: "DVD-R DL layer jump",
    0x0017: "DVD-RW DL",
    0x0018: "DVD-Download",
    0x001A: "DVD+RW",
    0x001B: "DVD+R",
    0x0020: "DDCD-ROM",
    0x0021: "DDCD-R",
    0x0022: "DDCD-RW",
    0x002A: "DVD+RW DL",
    0x002B: "DVD+R DL",
    0x0040: "BD-ROM",
    0x0041: "BD-R SRM",
    0x0042: "BD-R RRM",
    0x0043: "BD-RE",
    0x0050: "HD DVD-ROM",
    0x0051: "HD DVD-R",
    0x0052: "HD DVD-RAM",
    0x0053: "HD DVD-RW",
    0x0058: "HD DVD-R DL",
    0x005A: "HD DVD-RW DL",
    0xFFFF: "non-conforming",
}

CD_PROFILES = frozenset({0x08, 0x09, 0x0A})
DVD_PROFILES = frozenset({0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x1A, 0x1B, 0x2A, 0x2B})
BD_PROFILES = frozenset({0x40, 0x41, 0x42, 0x43})
ROM_PROFILES = frozenset({0x08, 0x10, 0x40, 0x50})

OVERWRITABLE_PROFILES = frozenset({0x12, 0x13, 0x1A, 0x2A, 0x42, 0x43})
"""Random-writable media: "blank" is meaningless, NWA is 0, track 1 describes the medium."""

INVISIBLE_TRACK_PROFILES = frozenset({0x09, 0x0A, 0x1B, 0x2B})
"""Media whose next writable track is asked for as track FFh (reference 3.7)."""


def profile_name(code: int) -> str:
    return PROFILE_NAMES.get(code, f"unknown profile {code:04X}h")


@dataclass(frozen=True, slots=True)
class Profile:
    """One entry of the Profile List feature; ``current`` is the CurrentP bit."""

    code: int
    current: bool = False

    @property
    def name(self) -> str:
        return profile_name(self.code)

    @property
    def is_cd(self) -> bool:
        return self.code in CD_PROFILES

    @property
    def is_dvd(self) -> bool:
        return self.code in DVD_PROFILES

    @property
    def is_bd(self) -> bool:
        return self.code in BD_PROFILES

    @property
    def overwritable(self) -> bool:
        return self.code in OVERWRITABLE_PROFILES

    @property
    def read_only(self) -> bool:
        return self.code in ROM_PROFILES

    def __str__(self) -> str:
        return f"{self.name} ({self.code:04X}h)"
