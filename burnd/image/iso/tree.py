"""Walk an ISO 9660 directory hierarchy into ``Entry`` values.

Our own walker rather than pycdlib's: it must (a) join multi-extent files whatever namespace the
name comes from (pycdlib's Rock Ridge lookup returns only the last extent), (b) show relocated
directories at their real place, and (c) stay bounded on hostile input — every directory extent
is visited once, the total directory bytes read are capped relative to the file size, and every
pointer is range-checked by ``ImageFile``.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass

from burnd.errors import BadImage
from burnd.image.iso.entry import Entry, Kind, Run
from burnd.image.iso.imagefile import ImageFile
from burnd.image.iso.records import (
    FLAG_ASSOCIATED,
    FLAG_MULTI_EXTENT,
    DirRecord,
    VolumeDescriptor,
    iso_name,
    iter_dir_records,
    parse_dir_record,
)
from burnd.image.iso.susp import RockRidge, parse_system_use

MAX_DEPTH = 256
MAX_RUNS_PER_FILE = 1 << 20
MAX_ENTRIES = 1 << 22  # far beyond any real disc; caps memory on hostile trees
RELOCATION_DIRS = ("rr_moved", ".rr_moved")

_MODE_KINDS = (
    (stat.S_ISDIR, Kind.DIR),
    (stat.S_ISLNK, Kind.SYMLINK),
    (stat.S_ISCHR, Kind.CHAR),
    (stat.S_ISBLK, Kind.BLOCK),
    (stat.S_ISFIFO, Kind.FIFO),
    (stat.S_ISSOCK, Kind.SOCKET),
)


@dataclass(slots=True)
class WalkResult:
    entries: list[Entry]
    rock_ridge: bool
    rr_extensions: list[str]
    relocated_dirs: int
    multi_extent_files: int


@dataclass(slots=True)
class _Pending:
    """A directory waiting to be read."""

    parts: tuple[str, ...]
    extent: int
    size: int
    depth: int


class TreeWalker:
    """Reads one volume descriptor's tree; Rock Ridge is looked for in non-Joliet trees only."""

    def __init__(self, image: ImageFile, vd: VolumeDescriptor, *, joliet: bool) -> None:
        self.image = image
        self.vd = vd
        self.joliet = joliet
        self.block = vd.block_size
        self.budget = 4 * image.size + (16 << 20)
        self.visited: set[int] = set()
        self.sp_skip: int | None = None

    def walk(self) -> WalkResult:
        root = parse_dir_record(self.vd.root, 0)
        if (root.extent + 1) * self.block > self.image.size:
            raise BadImage(
                f"{self.image.path}: the root directory (block {root.extent}) lies beyond the end of the file; the image is "
                "truncated, or it is a later session of a multi-session disc without the earlier ones — open the whole disc image"
            )
        root_rr = self._root_rock_ridge(root)
        rock_ridge = root_rr is not None
        entries: list[Entry] = []
        child_counts: dict[tuple[str, ...], int] = {}
        relocated = multi = 0
        stack = [_Pending((), root.extent + root.xar_blocks, root.size, 0)]
        while stack:
            pending = stack.pop()
            chosen: dict[str, tuple[int, Entry, tuple[int, int] | None, bool, bool]] = {}
            for records in self._logical_records(pending):
                entry, sub, was_relocated = self._entry(pending.parts, records, rock_ridge)
                if entry is None:
                    continue
                version = iso_name(records[0].name, self.joliet)[1]
                # Several versions (or hostile duplicates) of one name: the highest version wins.
                if entry.name not in chosen or version > chosen[entry.name][0]:
                    chosen[entry.name] = (version, entry, sub, was_relocated, len(records) > 1)
            for _version, entry, sub, was_relocated, is_multi in chosen.values():
                relocated += was_relocated
                multi += is_multi
                entries.append(entry)
                if sub is not None:
                    stack.append(_Pending(entry.parts, sub[0], sub[1], pending.depth + 1))
            if len(entries) > MAX_ENTRIES:
                raise BadImage(f"{self.image.path}: the tree lists more than {MAX_ENTRIES} entries; refusing (corrupt or hostile image)")
            child_counts[pending.parts] = len(chosen)
        if relocated:
            entries = [e for e in entries if not _is_empty_relocation_dir(e, child_counts)]
        entries.sort(key=lambda e: e.parts)
        return WalkResult(entries, rock_ridge, root_rr.extensions if root_rr else [], relocated, multi)

    def _root_rock_ridge(self, root: DirRecord) -> RockRidge | None:
        """Rock Ridge is in use when the root's "." record carries a SUSP ``SP`` entry."""
        if self.joliet:
            return None
        head = self.image.read_at((root.extent + root.xar_blocks) * self.block, min(root.size, self.block), "root directory")
        first = next(iter_dir_records(head, self.block), None)
        if first is None:
            raise BadImage(f"{self.image.path}: the root directory is empty (no '.' record); the image is corrupt")
        rr = parse_system_use(first.system_use, self._read_area)
        if rr.sp_skip is None:
            return None
        self.sp_skip = rr.sp_skip
        return rr

    def _read_dir(self, extent: int, size: int, parts: tuple[str, ...]) -> bytes:
        where = "/" + "/".join(parts)
        if extent in self.visited:
            raise BadImage(f"{self.image.path}: directory {where} points back to an ancestor or sibling extent {extent} (cyclic directory records)")
        self.visited.add(extent)
        self.budget -= size
        if self.budget < 0:
            raise BadImage(f"{self.image.path}: directory data exceeds several times the image size (overlapping or lying extents)")
        return self.image.read_at(extent * self.block, size, f"directory {where}")

    def _read_area(self, block: int, offset: int, length: int) -> bytes:
        if offset >= self.block or length > self.block:
            raise BadImage(f"{self.image.path}: Rock Ridge continuation area at block {block} has an impossible offset/length")
        return self.image.read_at(block * self.block + offset, length, "Rock Ridge continuation area")

    def _logical_records(self, pending: _Pending):
        """Yield lists of records forming one file: multi-extent parts are grouped."""
        if pending.depth > MAX_DEPTH:
            raise BadImage(f"{self.image.path}: directories nest deeper than {MAX_DEPTH} levels (cyclic or absurd tree)")
        data = self._read_dir(pending.extent, pending.size, pending.parts)
        group: list[DirRecord] = []
        for record in iter_dir_records(data, self.block):
            if record.is_self_or_parent or record.flags & FLAG_ASSOCIATED:
                continue
            group.append(record)
            if not record.flags & FLAG_MULTI_EXTENT:
                yield group
                group = []
        if group:
            yield group

    def _entry(self, parent: tuple[str, ...], records: list[DirRecord], rock_ridge: bool) -> tuple[Entry | None, tuple[int, int] | None, bool]:
        first = records[0]
        rr = parse_system_use(first.system_use, self._read_area, self.sp_skip or 0) if rock_ridge else RockRidge()
        if rr.relocated:
            return None, None, False
        name = rr.name if rr.name is not None else iso_name(first.name, self.joliet)[0]
        parts = parent + (name,)
        kind = _kind(rr, first)
        sub = None
        relocated = False
        if rr.child_link is not None:
            kind, relocated = Kind.DIR, True
            sub = (rr.child_link, self._dir_size(rr.child_link))
        elif kind is Kind.DIR:
            sub = (first.extent + first.xar_blocks, first.size)
        runs = tuple(self._runs(records)) if kind is Kind.FILE else ()
        size = sum(r.size for r in records) if kind is Kind.FILE else (len(rr.symlink or "") if kind is Kind.SYMLINK else 0)
        zisofs = "other" if rr.zisofs_other else ("pz" if rr.zisofs_size is not None else None)
        if zisofs == "pz" and kind is Kind.FILE:
            size = rr.zisofs_size
        mode = rr.mode if rr.mode is not None else (0o40555 if kind is Kind.DIR else 0o100444)
        entry = Entry(
            parts=parts,
            kind=kind,
            size=size,
            mode=mode,
            mtime=rr.mtime if rr.mtime is not None else first.date,
            uid=rr.uid,
            gid=rr.gid,
            target=rr.symlink if kind is Kind.SYMLINK else None,
            runs=runs,
            zisofs=zisofs if kind is Kind.FILE else None,
        )
        return entry, sub, relocated

    def _dir_size(self, extent: int) -> int:
        """A relocated directory's size comes from its own "." record."""
        head = self.image.read_at(extent * self.block, self.block, "relocated directory")
        record = next(iter_dir_records(head, self.block), None)
        if record is None or not record.is_dir:
            raise BadImage(f"{self.image.path}: Rock Ridge CL entry points to block {extent}, which is not a directory")
        return record.size

    def _runs(self, records: list[DirRecord]):
        count = 0
        for record in records:
            start = (record.extent + record.xar_blocks) * self.block
            if record.size == 0:
                continue
            if start + record.size > self.image.size:
                raise BadImage(f"{self.image.path}: a file extent at block {record.extent} (+{record.size} bytes) lies past the end of the image")
            if record.unit_size:
                pieces = _interleaved(start, record.size, record.unit_size * self.block, record.gap_size * self.block)
            else:
                pieces = [Run(start, record.size)]
            for run in pieces:
                count += 1
                if count > MAX_RUNS_PER_FILE:
                    raise BadImage(f"{self.image.path}: a file has more than {MAX_RUNS_PER_FILE} interleaved pieces; refusing")
                yield run


def _interleaved(start: int, size: int, unit: int, gap: int):
    offset, left = start, size
    while left > 0:
        take = min(unit, left)
        yield Run(offset, take)
        left -= take
        offset += unit + gap


def _kind(rr: RockRidge, record: DirRecord) -> Kind:
    if rr.symlink is not None:
        return Kind.SYMLINK
    if rr.mode is not None:
        for test, kind in _MODE_KINDS:
            if test(rr.mode):
                return kind
        if stat.S_ISREG(rr.mode):
            return Kind.FILE
    return Kind.DIR if record.is_dir else Kind.FILE


def _is_empty_relocation_dir(entry: Entry, child_counts: dict[tuple[str, ...], int]) -> bool:
    return len(entry.parts) == 1 and entry.kind is Kind.DIR and entry.name.lower() in RELOCATION_DIRS and child_counts.get(entry.parts, 0) == 0

