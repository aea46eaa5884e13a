"""Which kind of disc image a file is, decided by content; extensions only break ties.

Order matters: containers with strong magics (and footer magics) are probed first, because
their payload may itself look like an ISO; then a data file is matched to a descriptor beside
it (``x.bin`` → ``x.cue``); then plain ISO 9660 / UDF / raw 2352 sectors. A file that is none
of these gets a BadImage that says what it looks like instead, so a user who picked a zip or
a disk image by mistake learns that at once.
"""

from __future__ import annotations

import importlib
import os
import string
from dataclasses import dataclass
from types import ModuleType
from typing import BinaryIO

from burnd.errors import BadImage
from burnd.image import cdsector as cd

#: format modules in burnd.image.formats, probed in this order
FORMAT_MODULES = ("bincue", "cdrdao_toc", "nrg", "mds", "ccd", "cdi", "isz", "cso", "daa", "pdi", "dmg", "ecm")
#: descriptor formats and the extensions of descriptor files to look for beside a data file
SIBLING_DESCRIPTORS = ((".cue", "bincue"), (".toc", "cdrdao_toc"), (".ccd", "ccd"), (".mds", "mds"))
MAX_SIBLINGS = 32

SECTOR = 2048
ISO_MAGIC_OFFSET = 16 * SECTOR + 1
UDF_VRS_IDS = (b"BEA01", b"NSR02", b"NSR03", b"TEA01")
UDF_AVDP_SECTOR = 256
HFS_PLUS_OFFSET = 1024


@dataclass(frozen=True, slots=True)
class Detection:
    """``format`` is a format module name, or "iso", "udf", "raw" (2352-byte sectors without a
    descriptor) or "cdr" (plain data with no file system burnd knows, e.g. HFS+)."""

    format: str
    descriptor_path: str
    data_paths: tuple[str, ...]
    reason: str


def load_format(name: str) -> ModuleType:
    """Import a format module on first use, so a missing or broken one only fails its own images."""
    try:
        return importlib.import_module(f"burnd.image.formats.{name}")
    except ImportError as exc:
        raise BadImage(f"support for {name} images is not installed in this burnd ({exc})") from exc


def _read_at(f: BinaryIO, offset: int, length: int) -> bytes:
    f.seek(offset)
    return f.read(length)


def iso_or_udf(f: BinaryIO, size: int) -> str | None:
    """"iso" for an ISO 9660 volume descriptor at sector 16, "udf" for a UDF volume recognition
    sequence or anchor, else None."""
    if size > ISO_MAGIC_OFFSET + 5 and _read_at(f, ISO_MAGIC_OFFSET, 5) == b"CD001":
        return "iso"
    for sector in range(16, 32):
        if (sector + 1) * SECTOR > size:
            break
        if _read_at(f, sector * SECTOR + 1, 5) in UDF_VRS_IDS[:3]:
            return "udf"
    if size >= (UDF_AVDP_SECTOR + 1) * SECTOR and _read_at(f, UDF_AVDP_SECTOR * SECTOR, 2) == b"\x02\x00":
        return "udf"
    return None


def raw_sector_mode(f: BinaryIO, size: int) -> int | None:
    """The mode (1 or 2) when the file is raw 2352-byte sectors: a sync pattern at 0, or the
    ISO volume descriptor where a raw Mode 1 / Mode 2 Form 1 sector 16 keeps it (for dumps that
    start in a damaged or zeroed pregap). None otherwise."""
    if size < cd.RAW_SECTOR_SIZE:
        return None
    head = _read_at(f, 0, 16)
    if head[:12] == cd.SYNC and head[15] in (1, 2):
        return head[15]
    for mode, user in ((1, 16), (2, 24)):
        if _read_at(f, 16 * cd.RAW_SECTOR_SIZE + user + 1, 5) == b"CD001":
            return mode
    return None


# (offset, magic, what it is)
NON_IMAGE_MAGICS: tuple[tuple[int, bytes, str], ...] = (
    (0, b"PK\x03\x04", "a ZIP archive"),
    (0, b"\x1f\x8b", "a gzip-compressed file"),
    (0, b"BZh", "a bzip2-compressed file"),
    (0, b"\xfd7zXZ\x00", "an xz-compressed file"),
    (0, b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (0, b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (0, b"Rar!", "a RAR archive"),
    (257, b"ustar", "a tar archive"),
    (0, b"\x89PNG", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF8", "a GIF image"),
    (0, b"%PDF", "a PDF document"),
    (0, b"\x7fELF", "an ELF executable"),
    (0, b"MZ", "a Windows executable"),
    (0, b"RIFF", "a RIFF file (WAV/AVI)"),
    (0, b"ID3", "an MP3 file"),
    (0, b"OggS", "an Ogg file"),
    (0, b"fLaC", "a FLAC file"),
    (0, b"SQLite format 3\x00", "an SQLite database"),
    (0, b"QFI\xfb", "a QEMU qcow2 disk image"),
    (0, b"KDMV", "a VMware VMDK disk image"),
    (0, b"LUKS\xba\xbe", "a LUKS encrypted volume"),
    (0, b"hsqs", "a SquashFS file system image"),
    (1080, b"\x53\xef", "an ext2/3/4 file system image"),
    (3, b"NTFS    ", "an NTFS file system image"),
    (54, b"FAT1", "a FAT file system image"),
    (82, b"FAT32", "a FAT32 file system image"),
    (512, b"EFI PART", "a GPT-partitioned disk image"),
    (510, b"\x55\xaa", "an MBR-partitioned disk image with no ISO 9660 or UDF file system"),
)

_TEXT_BYTES = set(string.printable.encode()) | set(range(0x80, 0x100))


def describe_non_image(f: BinaryIO, size: int) -> str:
    """A short phrase saying what a file that is no disc image looks like."""
    if size == 0:
        return "an empty file"
    for offset, magic, what in NON_IMAGE_MAGICS:
        if size >= offset + len(magic) and _read_at(f, offset, len(magic)) == magic:
            return what
    head = _read_at(f, 0, 4096)
    if all(b in _TEXT_BYTES for b in head):
        return "a text file"
    if size % cd.RAW_SECTOR_SIZE == 0:
        return "raw 2352-byte sectors without sync patterns (CD audio?) and no cue sheet"
    return "data of an unknown kind"


def _probe_formats(f: BinaryIO, size: int) -> str | None:
    for name in FORMAT_MODULES:
        try:
            module = load_format(name)
        except BadImage:
            continue
        if module.probe(f, size):
            return name
    return None


def data_paths(name: str, path: str) -> tuple[str, ...]:
    """The files an image of format ``name`` reads (opening it validates the descriptor)."""
    from burnd.image.cdlayout import CdImage

    with load_format(name).open_image(path) as source:
        if isinstance(source, CdImage):
            return tuple(dict.fromkeys(source.stored(t).path for t in source.tracks))
    return (path,)


def _sibling_descriptor(path: str) -> tuple[str, str] | None:
    """A descriptor in the same folder whose data files include ``path``: one with the same
    stem (any case) first, then any other (cdrdao names its data files freely), at most
    MAX_SIBLINGS of them so a huge download folder stays cheap."""
    folder = os.path.dirname(os.path.abspath(path))
    stem = os.path.splitext(os.path.basename(path))[0].lower()
    kinds = dict(SIBLING_DESCRIPTORS)
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return None
    candidates = [e for e in entries if os.path.splitext(e)[1].lower() in kinds]
    candidates.sort(key=lambda e: os.path.splitext(e)[0].lower() != stem)
    me = os.path.realpath(path)
    for entry in candidates[:MAX_SIBLINGS]:
        name = kinds[os.path.splitext(entry)[1].lower()]
        candidate = os.path.join(folder, entry)
        try:
            if me in {os.path.realpath(p) for p in data_paths(name, candidate)}:
                return name, candidate
        except BadImage:
            continue
    return None


def detect(path: str) -> Detection:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            name = _probe_formats(f, size)
            if name is None:
                kind = iso_or_udf(f, size)
                mode = raw_sector_mode(f, size)
                hfs = size > HFS_PLUS_OFFSET + 2 and _read_at(f, HFS_PLUS_OFFSET, 2) in (b"H+", b"HX")
                what = describe_non_image(f, size)
    except OSError as exc:
        raise BadImage(f"{path}: cannot read the file ({exc.strerror})") from exc
    if name is not None:
        return Detection(name, path, data_paths(name, path), f"{name} signature found in the file")
    sibling = _sibling_descriptor(path)
    if sibling is not None:
        name, descriptor = sibling
        return Detection(name, descriptor, data_paths(name, descriptor), f"data file of the {name} descriptor {descriptor}")
    if kind is not None:
        reason = "ISO 9660 volume descriptor at sector 16" if kind == "iso" else "UDF volume recognition sequence or anchor"
        return Detection(kind, path, (path,), reason)
    if mode is not None:
        return Detection("raw", path, (path,), f"raw 2352-byte Mode {mode} sectors without a cue sheet")
    if hfs and path.lower().endswith((".cdr", ".dmg")):
        return Detection("cdr", path, (path,), "HFS+ volume header in a .cdr file (plain data)")
    raise BadImage(
        f"{path}: this is not a disc image burnd can read; it looks like {what}. "
        "Pick an ISO, BIN/CUE, NRG, MDS, CCD, CDI or other CD/DVD image file"
    )
