"""GET CONFIGURATION responses: header, every feature descriptor, and the fields burnd uses.

Every descriptor is kept generically (code, version, flags, raw bytes) so nothing a drive says
is lost; the features burnd decides on also get a typed ``detail``. A descriptor shorter than
its decoder needs keeps ``detail = None`` instead of failing the whole configuration: one odd
feature must not make a drive unusable. The response framing (lengths) is checked strictly.

Bit positions: reference 3.4. BD Read/Write class bitmaps (0040h/0041h) and the bits of
002Dh-002Fh not listed there follow MMC-5 from general knowledge — unverified on hardware.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

from burnd.scsi.mmc import ParseError, be
from burnd.scsi.profiles import Profile

CONFIG_HEADER_SIZE = 8

FEATURE_NAMES: dict[int, str] = {
    0x0000: "Profile List",
    0x0001: "Core",
    0x0002: "Morphing",
    0x0003: "Removable Medium",
    0x0004: "Write Protect",
    0x0010: "Random Readable",
    0x001D: "Multi-Read",
    0x001E: "CD Read",
    0x001F: "DVD Read",
    0x0020: "Random Writable",
    0x0021: "Incremental Streaming Writable",
    0x0022: "Sector Erasable",
    0x0023: "Formattable",
    0x0024: "Hardware Defect Management",
    0x0025: "Write Once",
    0x0026: "Restricted Overwrite",
    0x0027: "CD-RW CAV Write",
    0x0028: "MRW",
    0x0029: "Enhanced Defect Reporting",
    0x002A: "DVD+RW",
    0x002B: "DVD+R",
    0x002C: "Rigid Restricted Overwrite",
    0x002D: "CD Track at Once",
    0x002E: "CD Mastering",
    0x002F: "DVD-R/-RW Write",
    0x0033: "Layer Jump Recording",
    0x0037: "CD-RW Media Write Support",
    0x0038: "BD-R Pseudo-Overwrite",
    0x003A: "DVD+RW Dual Layer",
    0x003B: "DVD+R Dual Layer",
    0x0040: "BD Read",
    0x0041: "BD Write",
    0x0100: "Power Management",
    0x0101: "SMART",
    0x0102: "Embedded Changer",
    0x0103: "CD Audio External Play",
    0x0104: "Microcode Upgrade",
    0x0105: "Timeout",
    0x0106: "DVD CSS",
    0x0107: "Real Time Streaming",
    0x0108: "Drive Serial Number",
    0x010A: "Disc Control Blocks",
    0x010B: "DVD CPRM",
    0x010C: "Firmware Information",
    0x010D: "AACS",
}


def feature_name(code: int) -> str:
    return FEATURE_NAMES.get(code, f"feature {code:04X}h")


# ----------------------------------------------------------------------------- typed details


@dataclass(frozen=True, slots=True)
class Core:
    physical_interface: int


@dataclass(frozen=True, slots=True)
class RemovableMedium:
    loading_mechanism: int
    eject: bool
    prevent_jumper: bool
    lock: bool


@dataclass(frozen=True, slots=True)
class RandomWritable:
    last_lba: int
    block_size: int
    blocking: int
    page_present: bool


@dataclass(frozen=True, slots=True)
class IncrementalStreaming:
    data_block_types: int
    buf: bool
    link_sizes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Formattable:
    cert: bool
    qcert: bool
    expand: bool
    renosa: bool
    rrm: bool


@dataclass(frozen=True, slots=True)
class DefectManagement:
    spare_area_info: bool


@dataclass(frozen=True, slots=True)
class WriteOnce:
    block_size: int
    blocking: int
    page_present: bool


@dataclass(frozen=True, slots=True)
class CdTrackAtOnce:
    buf: bool
    rw_raw: bool
    rw_pack: bool
    test_write: bool
    cd_rw: bool
    rw_subcode: bool
    data_types: int


@dataclass(frozen=True, slots=True)
class CdMastering:
    buf: bool
    sao: bool
    raw_ms: bool
    raw: bool
    test_write: bool
    cd_rw: bool
    rw: bool
    max_cue_sheet: int


@dataclass(frozen=True, slots=True)
class DvdMinusRWrite:
    buf: bool
    dual_layer: bool
    test_write: bool
    dvd_rw: bool


@dataclass(frozen=True, slots=True)
class DvdPlusRw:
    write: bool
    quick_start: bool
    close_only: bool


@dataclass(frozen=True, slots=True)
class DvdPlusR:
    write: bool


@dataclass(frozen=True, slots=True)
class BdClasses:
    """Per-medium class 0-3 version bitmaps of BD Read / BD Write."""

    bd_re: tuple[int, ...]
    bd_r: tuple[int, ...]
    bd_rom: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class RealTimeStreaming:
    read_buffer_capacity_block: bool
    set_cd_speed: bool
    mode_page_2a_speeds: bool
    write_speed_performance: bool
    streaming_writes: bool


@dataclass(frozen=True, slots=True)
class SerialNumber:
    serial: str


Detail = Union[
    tuple[Profile, ...], Core, RemovableMedium, RandomWritable, IncrementalStreaming, Formattable,
    DefectManagement, WriteOnce, CdTrackAtOnce, CdMastering, DvdMinusRWrite, DvdPlusRw, DvdPlusR,
    BdClasses, RealTimeStreaming, SerialNumber,
]


def _bit(b: int, n: int) -> bool:
    return bool((b >> n) & 1)


def _profiles(d: bytes) -> tuple[Profile, ...]:
    return tuple(Profile(code=be(d, o, 2, "profile"), current=bool(d[o + 2] & 1)) for o in range(0, len(d), 4))


def _incremental(d: bytes) -> IncrementalStreaming:
    count = d[3]
    return IncrementalStreaming(data_block_types=be(d, 0, 2, "types"), buf=_bit(d[2], 0),
                                link_sizes=tuple(d[4 : 4 + count]))


def _classes(d: bytes, groups: int) -> BdClasses:
    maps = [tuple(be(d, 4 + 8 * g + 2 * c, 2, "BD class") for c in range(4)) for g in range(groups)]
    return BdClasses(*maps)


_DECODERS: dict[int, tuple[int, Callable[[bytes], Detail]]] = {
    # code: (bytes of feature-specific data needed, decoder over those bytes)
    0x0000: (0, _profiles),
    0x0001: (4, lambda d: Core(physical_interface=be(d, 0, 4, "interface"))),
    0x0003: (1, lambda d: RemovableMedium(loading_mechanism=d[0] >> 5, eject=_bit(d[0], 3),
                                          prevent_jumper=_bit(d[0], 2), lock=_bit(d[0], 0))),
    0x0020: (11, lambda d: RandomWritable(last_lba=be(d, 0, 4, "lba"), block_size=be(d, 4, 4, "size"),
                                          blocking=be(d, 8, 2, "blocking"), page_present=_bit(d[10], 0))),
    0x0021: (4, _incremental),
    0x0023: (1, lambda d: Formattable(cert=_bit(d[0], 0), qcert=_bit(d[0], 1), expand=_bit(d[0], 2),
                                      renosa=_bit(d[0], 3), rrm=len(d) > 4 and _bit(d[4], 0))),
    0x0024: (0, lambda d: DefectManagement(spare_area_info=len(d) > 0 and _bit(d[0], 7))),  # MMC-3: length 0
    0x0025: (7, lambda d: WriteOnce(block_size=be(d, 0, 4, "size"), blocking=be(d, 4, 2, "blocking"),
                                    page_present=_bit(d[6], 0))),
    0x002D: (4, lambda d: CdTrackAtOnce(buf=_bit(d[0], 6), rw_raw=_bit(d[0], 4), rw_pack=_bit(d[0], 3),
                                        test_write=_bit(d[0], 2), cd_rw=_bit(d[0], 1),
                                        rw_subcode=_bit(d[0], 0), data_types=be(d, 2, 2, "types"))),
    0x002E: (4, lambda d: CdMastering(buf=_bit(d[0], 6), sao=_bit(d[0], 5), raw_ms=_bit(d[0], 4),
                                      raw=_bit(d[0], 3), test_write=_bit(d[0], 2), cd_rw=_bit(d[0], 1),
                                      rw=_bit(d[0], 0), max_cue_sheet=be(d, 1, 3, "cue"))),
    0x002F: (1, lambda d: DvdMinusRWrite(buf=_bit(d[0], 6), dual_layer=_bit(d[0], 3),
                                         test_write=_bit(d[0], 2), dvd_rw=_bit(d[0], 1))),
    0x002A: (2, lambda d: DvdPlusRw(write=_bit(d[0], 0), quick_start=_bit(d[1], 1), close_only=_bit(d[1], 0))),
    0x002B: (1, lambda d: DvdPlusR(write=_bit(d[0], 0))),
    0x0040: (28, lambda d: _classes(d, 3)),
    0x0041: (20, lambda d: _classes(d, 2)),
    0x0107: (1, lambda d: RealTimeStreaming(read_buffer_capacity_block=_bit(d[0], 4), set_cd_speed=_bit(d[0], 3),
                                            mode_page_2a_speeds=_bit(d[0], 2),
                                            write_speed_performance=_bit(d[0], 1),
                                            streaming_writes=_bit(d[0], 0))),
    0x0108: (0, lambda d: SerialNumber(serial=d.decode("ascii", "replace").strip(" \x00"))),
}


@dataclass(frozen=True, slots=True)
class Feature:
    code: int
    version: int
    persistent: bool
    current: bool
    data: bytes
    detail: Detail | None = None

    @property
    def name(self) -> str:
        return feature_name(self.code)


def _feature(raw: bytes) -> Feature:
    code = be(raw, 0, 2, "feature")
    data = raw[4:]
    detail = None
    rule = _DECODERS.get(code)
    if rule is not None and len(data) >= rule[0]:
        detail = rule[1](data)
    return Feature(code=code, version=(raw[2] >> 2) & 0x0F, persistent=bool(raw[2] & 0x02),
                   current=bool(raw[2] & 0x01), data=data, detail=detail)


@dataclass(frozen=True, slots=True)
class Configuration:
    data_length: int
    current_profile: int
    features: tuple[Feature, ...]
    truncated: bool

    def feature(self, code: int) -> Feature | None:
        return next((f for f in self.features if f.code == code), None)

    def profiles(self) -> tuple[Profile, ...]:
        """The Profile List; the header's current profile marks current when CurrentP is absent."""
        found = self.feature(0x0000)
        if found is None or not isinstance(found.detail, tuple):
            return (Profile(self.current_profile, True),) if self.current_profile else ()
        return tuple(p if p.current or p.code != self.current_profile else Profile(p.code, True)
                     for p in found.detail)


def configuration_length(data: bytes | memoryview) -> int:
    """Total response size from a header-only answer, for the ask-then-re-ask pattern."""
    return be(data, 0, 4, "GET CONFIGURATION") + 4


def parse_configuration(data: bytes | memoryview) -> Configuration:
    """Header + every descriptor that fits.

    A descriptor cut off by the end of the transfer while the header declares more (the
    allocation length was too small) ends the list; a descriptor running past the declared
    length, or a Profile List whose length is not a multiple of 4, is inconsistent.
    """
    what = "GET CONFIGURATION"
    length = be(data, 0, 4, what) + 4
    if length < CONFIG_HEADER_SIZE:
        raise ParseError(f"{what}: data length {length - 4} is smaller than the header")
    current = be(data, 6, 2, what)
    body = bytes(data[: min(length, len(data))])
    features: list[Feature] = []
    offset = CONFIG_HEADER_SIZE
    truncated = len(body) < length
    while offset + 4 <= len(body):
        end = offset + 4 + body[offset + 3]
        if end > len(body):
            if end > length:
                raise ParseError(f"{what}: descriptor at byte {offset} runs past the declared length")
            truncated = True
            break
        if be(body, offset, 2, what) == 0x0000 and body[offset + 3] % 4:
            raise ParseError(f"{what}: Profile List length {body[offset + 3]} is not a multiple of 4")
        features.append(_feature(body[offset:end]))
        offset = end
    if not truncated and offset != len(body):
        raise ParseError(f"{what}: {len(body) - offset} stray byte(s) after the last descriptor")
    return Configuration(data_length=length - 4, current_profile=current, features=tuple(features),
                         truncated=truncated)
