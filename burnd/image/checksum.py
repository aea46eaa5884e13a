"""Image checksums: whole-file digests, SUMS-file verification, and embedded checksums.

Three kinds of evidence that an image is intact:
- a digest of the whole file, compared with a published SHA256SUMS / MD5SUMS file (GNU
  ``hash  name`` / ``hash *name`` lines and BSD ``SHA256 (name) = hash`` lines);
- an isomd5sum checksum implanted in the primary volume descriptor's application-use area
  (``ISO MD5SUM = …;SKIPSECTORS = n;…``): MD5 over the volume minus its last n sectors, with
  the 512-byte area itself read as spaces;
- libisofs checksum tags (``xorriso -md5 on``): text blocks naming a block range and its MD5,
  chained from the superblock tag after the volume descriptors by ``next=`` pointers.
Everything is read in large streamed chunks; nothing holds a whole image in memory.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

from burnd.errors import BadImage, BurndError
from burnd.image.source import fd_size

CHUNK = 4 << 20
SECTOR = 2048
PVD = 16 * SECTOR
APPDATA = PVD + 883
APPDATA_SIZE = 512
ALGORITHMS = ("sha256", "md5", "sha1", "sha512")

OK, MISMATCH, ABSENT = "ok", "mismatch", "absent"

_GNU_LINE = re.compile(r"^\\?([0-9a-fA-F]{32,128}) [ *](.+)$")
_BSD_LINE = re.compile(r"^(SHA256|SHA1|SHA512|MD5) ?\((.+)\) ?= ?([0-9a-fA-F]{32,128})$")
_DIGEST_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
_TAG = re.compile(rb"^libisofs_(rlsb32_checksum_tag_v1|sb_checksum_tag_v1|tree_checksum_tag_v1|checksum_tag_v1) ([^\n]{0,400})\n")
MAX_TAGS = 16


class ChecksumError(BurndError):
    """A checksum list cannot be read."""

    dbus_name = "ChecksumFailed"


Progress = Callable[[int], None]


def _open(path: str) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise BadImage(f"{path}: cannot open ({exc.strerror})") from exc


def hash_range(fd: int, start: int, length: int, hashers: list, *, patch: tuple[int, bytes] | None = None, progress: Progress | None = None) -> int:
    """Feed ``length`` bytes at ``start`` to every hasher; ``patch`` = (offset, bytes) replaces
    that file range in what is hashed. Returns the bytes hashed (less at end of file)."""
    done = 0
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    while done < length:
        want = min(CHUNK, length - done)
        got = os.preadv(fd, [view[:want]], start + done)
        if got <= 0:
            break
        chunk = view[:got]
        if patch is not None:
            _apply_patch(chunk, start + done, patch)
        for hasher in hashers:
            hasher.update(chunk)
        done += got
        if progress:
            progress(done)
    return done


def _apply_patch(chunk: memoryview, position: int, patch: tuple[int, bytes]) -> None:
    offset, data = patch
    low, high = max(offset, position), min(offset + len(data), position + len(chunk))
    if low < high:
        chunk[low - position : high - position] = data[low - offset : high - offset]


def file_digests(path: str, algorithms: Iterable[str] = ("sha256",), progress: Progress | None = None) -> dict[str, str]:
    """Hex digests of the whole file, all algorithms in one pass."""
    names = list(algorithms)
    for name in names:
        if name not in ALGORITHMS:
            raise ChecksumError(f"unknown digest {name!r}; use one of {', '.join(ALGORITHMS)}")
    fd = _open(path)
    try:
        hashers = [hashlib.new(name) for name in names]
        hash_range(fd, 0, fd_size(fd), hashers, progress=progress)
    finally:
        os.close(fd)
    return {name: hasher.hexdigest() for name, hasher in zip(names, hashers)}


@dataclass(frozen=True, slots=True)
class SumLine:
    algorithm: str
    name: str
    digest: str


def parse_sums(text: str) -> list[SumLine]:
    """Lines of a SHA256SUMS/MD5SUMS file in GNU or BSD form; others (comments, PGP armour)
    are ignored."""
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        bsd = _BSD_LINE.match(line)
        if bsd:
            lines.append(SumLine(bsd.group(1).lower(), bsd.group(2), bsd.group(3).lower()))
            continue
        gnu = _GNU_LINE.match(line)
        if gnu and len(gnu.group(1)) in _DIGEST_LENGTHS:
            lines.append(SumLine(_DIGEST_LENGTHS[len(gnu.group(1))], gnu.group(2), gnu.group(1).lower()))
    return lines


@dataclass(slots=True)
class SumsResult:
    status: str  # ok / mismatch / absent (the image is not listed)
    algorithm: str | None = None
    expected: str | None = None
    actual: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def verify_sums(image: str, sums_file: str, name: str | None = None, progress: Progress | None = None) -> SumsResult:
    """Check ``image`` against its line in ``sums_file`` (matched by ``name`` or the image's
    base name)."""
    try:
        with open(sums_file, encoding="utf-8", errors="replace") as handle:
            text = handle.read(4 << 20)
    except OSError as exc:
        raise ChecksumError(f"{sums_file}: cannot read the checksum list ({exc.strerror})") from exc
    wanted = name or os.path.basename(image)
    matches = [line for line in parse_sums(text) if os.path.basename(line.name.lstrip("*")) == wanted or line.name == wanted]
    if not matches:
        return SumsResult(ABSENT)
    line = matches[0]
    actual = file_digests(image, [line.algorithm], progress)[line.algorithm]
    return SumsResult(OK if actual == line.digest else MISMATCH, line.algorithm, line.digest, actual)


@dataclass(slots=True)
class ImplantedResult:
    status: str
    expected: str | None = None
    actual: str | None = None
    skip_sectors: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def parse_appdata(area: bytes) -> dict[str, str]:
    """``KEY = value;`` pairs of an isomd5sum application-use area."""
    pairs = {}
    for item in area.decode("latin-1").split(";"):
        key, sep, value = item.partition("=")
        if sep:
            pairs[key.strip()] = value.strip()
    return pairs


def check_implanted_md5(path: str, progress: Progress | None = None) -> ImplantedResult:
    """Verify an isomd5sum (implantisomd5) checksum, if the image carries one."""
    fd = _open(path)
    try:
        size = fd_size(fd)
        if size < PVD + SECTOR:
            return ImplantedResult(ABSENT)
        pvd = os.pread(fd, SECTOR, PVD)
        fields = parse_appdata(pvd[883 : 883 + APPDATA_SIZE])
        expected = fields.get("ISO MD5SUM", "").lower()
        if pvd[1:6] != b"CD001" or not re.fullmatch(r"[0-9a-f]{32}", expected):
            return ImplantedResult(ABSENT)
        skip = int(fields.get("SKIPSECTORS", "0") or 0) if fields.get("SKIPSECTORS", "0").isdigit() else 0
        volume = int.from_bytes(pvd[84:88], "big") * SECTOR
        length = volume - skip * SECTOR
        if length <= 0 or volume > size:
            return ImplantedResult(MISMATCH, expected, None, skip)
        hasher = hashlib.md5()
        hash_range(fd, 0, length, [hasher], patch=(APPDATA, b" " * APPDATA_SIZE), progress=progress)
        actual = hasher.hexdigest()
        return ImplantedResult(OK if actual == expected else MISMATCH, expected, actual, skip)
    finally:
        os.close(fd)


@dataclass(slots=True)
class TagResult:
    kind: str
    position: int
    range_start: int
    range_size: int
    status: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class LibisofsResult:
    status: str
    tags: list[TagResult] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"status": self.status, "tags": [t.to_dict() for t in self.tags]}


def parse_tag(block: bytes) -> tuple[str, dict[str, str]] | None:
    match = _TAG.match(block)
    if not match:
        return None
    values = dict(item.split("=", 1) for item in match.group(2).decode("ascii", "replace").split() if "=" in item)
    return match.group(1).decode(), values


def check_libisofs_tags(path: str, progress: Progress | None = None) -> LibisofsResult:
    """Verify the libisofs MD5 tag chain (superblock, tree, session) when present."""
    fd = _open(path)
    try:
        size = fd_size(fd)
        position = _first_tag(fd, size)
        if position is None:
            return LibisofsResult(ABSENT)
        tags: list[TagResult] = []
        for _ in range(MAX_TAGS):
            parsed = parse_tag(os.pread(fd, SECTOR, position * SECTOR))
            if parsed is None:
                break
            kind, values = parsed
            tags.append(_verify_tag(fd, size, position, kind, values, progress))
            following, limit = (values["next"], 1) if "next" in values else (values.get("session_start", ""), 64)
            if not following.isdigit() or int(following) <= position or int(following) * SECTOR >= size:
                break
            position = _tag_at_or_after(fd, size, int(following), limit)
            if position is None:
                break
        status = OK if tags and all(t.status == OK for t in tags) else MISMATCH
        return LibisofsResult(status, tags)
    finally:
        os.close(fd)


def _first_tag(fd: int, size: int) -> int | None:
    """The superblock tag follows the volume descriptors (within the first 64 sectors)."""
    return _tag_at_or_after(fd, size, 16, limit=64)


def _tag_at_or_after(fd: int, size: int, start: int, limit: int = 1) -> int | None:
    for lba in range(start, min(start + limit, size // SECTOR)):
        if os.pread(fd, 9, lba * SECTOR) == b"libisofs_":
            return lba
    return None


def _verify_tag(fd: int, size: int, position: int, kind: str, values: dict[str, str], progress: Progress | None) -> TagResult:
    try:
        start, count = int(values["range_start"]), int(values["range_size"])
        expected = values["md5"].lower()
    except (KeyError, ValueError):
        return TagResult(kind, position, 0, 0, MISMATCH)
    if start < 0 or count < 0 or (start + count) * SECTOR > size:
        return TagResult(kind, position, start, count, MISMATCH)
    hasher = hashlib.md5()
    hash_range(fd, start * SECTOR, count * SECTOR, [hasher], progress=progress)
    return TagResult(kind, position, start, count, OK if hasher.hexdigest() == expected else MISMATCH)


@dataclass(slots=True)
class ChecksumReport:
    digests: dict[str, str]
    implanted_md5: ImplantedResult
    libisofs: LibisofsResult
    sums: SumsResult | None = None

    def to_dict(self) -> dict:
        return {
            "digests": self.digests,
            "implanted_md5": self.implanted_md5.to_dict(),
            "libisofs": self.libisofs.to_dict(),
            "sums": self.sums.to_dict() if self.sums else None,
        }


def check_image(path: str, sums_file: str | None = None, algorithms: Iterable[str] = ("sha256", "md5")) -> ChecksumReport:
    """Everything at once: digests, embedded checksums, and the SUMS file when given."""
    return ChecksumReport(
        digests=file_digests(path, algorithms),
        implanted_md5=check_implanted_md5(path),
        libisofs=check_libisofs_tags(path),
        sums=verify_sums(path, sums_file) if sums_file else None,
    )
