"""Lay out and write an ISO 9660 image (Rock Ridge, Joliet, El Torito, multi-extent).

Our own writer rather than pycdlib's: pycdlib stamps ``time.time()`` into every record and
descriptor and uses random MBR/GPT ids (so output is never reproducible), and does not carry
source mtimes into Rock Ridge. Here the layout is a pure function of the tree and options:
sorted names, fixed order of areas, dates from the tree or SOURCE_DATE_EPOCH only.

Order on disc: system area, descriptors, path tables, boot catalog, primary directories,
Rock Ridge continuation areas, Joliet directories, file data (depth-first, name order).
Metadata is built in memory (small); file data is streamed from its ``DataSource``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Callable

from burnd.errors import BurndError
from burnd.image.iso import builders as b
from burnd.image.iso.entry import Kind
from burnd.image.iso.names import unique_iso_identifiers, unique_joliet_identifiers
from burnd.image.iso.nodes import Node
from burnd.image.iso.records import FLAG_DIRECTORY, FLAG_MULTI_EXTENT, SECTOR

MAX_EXTENT = 0xFFFFF800  # largest multiple of 2048 below 4 GiB: one extent of a multi-extent file
PLATFORM_IDS = {"bios": 0, "efi": 0xEF}


class CreateError(BurndError):
    """The tree or options cannot be turned into an image."""

    dbus_name = "CreateFailed"


@dataclass(frozen=True, slots=True)
class BootImage:
    """An El Torito no-emulation entry for a file of the tree (``path`` inside the image)."""

    path: str
    platform: str = "bios"  # "bios" or "efi"
    load_size: int | None = None  # 512-byte sectors; default 4 for BIOS, whole image for EFI
    info_table: bool = False  # patch a boot info table into the image's copy (isolinux)


@dataclass(slots=True)
class Options:
    volume_id: str = "CDROM"
    joliet: bool = True
    rock_ridge: bool = True
    created: float | None = None
    system_id: str = "LINUX"
    application_id: str = "BURND"
    publisher_id: str = ""
    preparer_id: str = ""
    volume_set_id: str = ""
    boot: list[BootImage] = field(default_factory=list)


def _extents(size: int) -> list[int]:
    """Sizes of the extents a file of ``size`` bytes is recorded in."""
    if size <= MAX_EXTENT:
        return [size]
    sizes = [MAX_EXTENT] * (size // MAX_EXTENT)
    if size % MAX_EXTENT:
        sizes.append(size % MAX_EXTENT)
    return sizes


def _blocks(size: int) -> int:
    return -(-size // SECTOR)


@dataclass(eq=False)
class _Dir:
    """Per-directory layout state for one namespace (primary or Joliet)."""

    node: Node
    parent: "_Dir | None"
    identifier: bytes
    children: list[tuple[bytes, Node]] = field(default_factory=list)
    joliet: bool = False
    number: int = 0
    extent: int = 0
    size: int = 0


class ImageWriter:
    """Computes the layout on construction; ``write`` streams the image to a file descriptor."""

    def __init__(self, root: Node, options: Options) -> None:
        self.root = root
        self.options = options
        self.stamp = options.created if options.created is not None else 0.0
        self.rr = options.rock_ridge
        self.primary = self._tree(False)
        self.joliet = self._tree(True) if options.joliet else []
        self.dirs = {(id(d.node), d.joliet): d for d in self.primary + self.joliet}
        self.ce_areas: dict[tuple[int, str], tuple[int, int, bytes]] = {}
        self.ce_used = 0
        self.ce_lba = 0
        self.ce_group: object = None
        self._layout()

    # ---- directory trees -------------------------------------------------------------------

    def _tree(self, joliet: bool) -> list[_Dir]:
        """Directories breadth-first with children sorted by identifier: path table order."""
        root = _Dir(self.root, None, b"\x00", joliet=joliet)
        order = [root]
        for current in order:
            # Joliet has no symlinks; an empty file in their place would only mislead.
            nodes = sorted((n for n in current.node.children if not (joliet and n.kind is Kind.SYMLINK)), key=lambda n: n.name)
            if joliet:
                ids = unique_joliet_identifiers([n.name for n in nodes])
            else:
                ids = unique_iso_identifiers([n.name for n in nodes], [n.kind is Kind.DIR for n in nodes])
            current.children = sorted(zip(ids, nodes), key=lambda pair: _sort_key(pair[0], joliet))
            for identifier, node in current.children:
                if node.kind is Kind.DIR:
                    order.append(_Dir(node, current, identifier, joliet=joliet))
        if len(order) > 65535:
            raise CreateError(f"the tree has {len(order)} directories; ISO 9660 path tables allow at most 65 535")
        for number, directory in enumerate(order, 1):
            directory.number = number
        return order

    # ---- layout ----------------------------------------------------------------------------

    def _layout(self) -> None:
        lba = 16 + 1 + (1 if self.options.boot else 0) + (1 if self.joliet else 0) + 1
        self.pt_size = self._path_table_size(self.primary)
        self.pt_lba = (lba, lba + _blocks(self.pt_size))
        lba += 2 * _blocks(self.pt_size)
        if self.joliet:
            self.jpt_size = self._path_table_size(self.joliet)
            self.jpt_lba = (lba, lba + _blocks(self.jpt_size))
            lba += 2 * _blocks(self.jpt_size)
        self.catalog_lba = lba if self.options.boot else 0
        lba += 1 if self.options.boot else 0
        self.data_extent: dict[int, int] = {}
        # pass 1: sizes (extents unknown, continuation areas collected)
        for directory in self.primary + self.joliet:
            directory.size = len(_pack(self._records(directory)))
        for directory in self.primary:
            directory.extent = lba
            lba += _blocks(directory.size)
        self.ce_lba = lba
        lba += _blocks(self.ce_used)
        for directory in self.joliet:
            directory.extent = lba
            lba += _blocks(directory.size)
        self.file_order: list[Node] = []
        shared: dict[object, int] = {}
        for node in self.root.walk():
            if node.kind is not Kind.FILE or node.size == 0:
                continue
            if node.link_key is not None and node.link_key in shared:
                self.data_extent[id(node)] = shared[node.link_key]
                continue
            self.data_extent[id(node)] = lba
            if node.link_key is not None:
                shared[node.link_key] = lba
            self.file_order.append(node)
            lba += _blocks(node.size)
        self.space = lba
        self.boot_entries = self._boot_entries()

    def _path_table_size(self, order: list[_Dir]) -> int:
        return sum(8 + len(d.identifier) + len(d.identifier) % 2 for d in order)

    def _boot_entries(self) -> list[tuple[int, int, int, Node, BootImage]]:
        entries = []
        for boot in self.options.boot:
            node = self.root.lookup(boot.path)
            if node is None or node.kind is not Kind.FILE or node.size == 0:
                raise CreateError(f"boot image {boot.path!r} is not a non-empty file of the tree; add it to the source directory")
            if boot.platform not in PLATFORM_IDS:
                raise CreateError(f"boot platform {boot.platform!r} is not 'bios' or 'efi'")
            default = 4 if boot.platform == "bios" else -(-node.size // 512)
            count = min(boot.load_size if boot.load_size is not None else default, 0xFFFF)
            entries.append((PLATFORM_IDS[boot.platform], count, self.data_extent[id(node)], node, boot))
        return entries

    # ---- records ---------------------------------------------------------------------------

    def _records(self, directory: _Dir) -> list[bytes]:
        joliet = directory.joliet
        parent = directory.parent or directory
        records = [
            self._record(b"\x00", directory.node, directory.extent, directory.size, FLAG_DIRECTORY, directory, "self"),
            self._record(b"\x01", parent.node, parent.extent, parent.size, FLAG_DIRECTORY, directory, "parent"),
        ]
        for identifier, node in directory.children:
            if node.kind is Kind.DIR:
                sub = self.dirs[(id(node), joliet)]
                records.append(self._record(identifier, node, sub.extent, sub.size, FLAG_DIRECTORY, directory, "entry"))
                continue
            size = node.size if node.kind is Kind.FILE else 0
            extent = self.data_extent.get(id(node), 0)
            pieces = _extents(size)
            for index, piece in enumerate(pieces):
                flags = FLAG_MULTI_EXTENT if index < len(pieces) - 1 else 0
                records.append(self._record(identifier, node, extent, piece, flags, directory, "entry"))
                extent += piece // SECTOR
        return records

    def _record(self, identifier: bytes, node: Node, extent: int, size: int, flags: int, directory: _Dir, role: str) -> bytes:
        root = role == "self" and directory.parent is None
        system_use = b"" if directory.joliet or not self.rr else self._system_use(identifier, node, role, root, directory)
        return b.dir_record(identifier, extent, size, node.mtime, flags, system_use)

    def _system_use(self, identifier: bytes, node: Node, role: str, root: bool, directory: _Dir) -> bytes:
        nlink = 2 + sum(c.kind is Kind.DIR for c in node.children) if node.kind is Kind.DIR else 1
        head = (b.sp_entry() if root else b"") + b.rr_flags_entry(0x81 | (0 if role != "entry" else 0x08) | (0x04 if node.kind is Kind.SYMLINK else 0))
        fixed = [b.px_entry(node.mode, nlink), b.tf_entry(node.mtime)]
        names = b.nm_entries(node.name.encode("utf-8", "surrogateescape")) if role == "entry" else []
        links = b.sl_entries((node.target or "").encode("utf-8", "surrogateescape")) if node.kind is Kind.SYMLINK and role == "entry" else []
        extra = names + links + ([b.er_entry()] if root else [])
        inline = head + b"".join(fixed + extra)
        if b.record_length(identifier, len(inline)) <= b.MAX_RECORD:
            return inline
        area = b"".join(extra)
        block, offset = self._continuation((id(node), role), area, "root" if root else id(directory))
        return head + b"".join(fixed) + b.ce_entry(block, offset, len(area))

    def _continuation(self, key: tuple[int, str], area: bytes, group: object) -> tuple[int, int]:
        """Place a continuation area (never across a block); same key, same place. Each
        directory's areas start a fresh block: libarchive reads continuation blocks in one
        forward pass and drops a name whose area lies in a block it has already passed."""
        if len(area) > SECTOR:
            raise CreateError("a name or symlink target needs more than 2048 bytes of Rock Ridge entries; shorten it")
        if key not in self.ce_areas:
            start = self.ce_used
            if group != self.ce_group or start // SECTOR != (start + len(area) - 1) // SECTOR:
                start = _blocks(start) * SECTOR
            self.ce_areas[key] = (start // SECTOR, start % SECTOR, area)
            self.ce_used = start + len(area)
            self.ce_group = group
        block, offset, _ = self.ce_areas[key]
        return self.ce_lba + block, offset

    # ---- output ----------------------------------------------------------------------------

    def metadata(self) -> bytes:
        """Everything before the first file's data (system area through continuation areas)."""
        out = bytearray(16 * SECTOR)
        out += self._descriptor(1, self.pt_size, self.pt_lba, self._records(self.primary[0])[0])
        if self.options.boot:
            out += b.boot_record(self.catalog_lba)
        if self.joliet:
            out += self._descriptor(2, self.jpt_size, self.jpt_lba, self._records(self.joliet[0])[0])
        out += b.terminator()
        for order, size in ((self.primary, self.pt_size),) + (((self.joliet, self.jpt_size),) if self.joliet else ()):
            for big in (False, True):
                table = b"".join(b.path_table_record(d.identifier, d.extent, d.parent.number if d.parent else 1, big) for d in order)
                out += table.ljust(_blocks(size) * SECTOR, b"\x00")
        if self.options.boot:
            out += b.boot_catalog([(p, c, lba) for p, c, lba, _, _ in self.boot_entries])
        for directory in self.primary:
            out += _pack(self._records(directory))
        continuation = bytearray(_blocks(self.ce_used) * SECTOR)
        for block, offset, area in self.ce_areas.values():
            continuation[block * SECTOR + offset : block * SECTOR + offset + len(area)] = area
        out += continuation
        for directory in self.joliet:
            out += _pack(self._records(directory))
        return bytes(out)

    def _descriptor(self, kind: int, size: int, tables: tuple[int, int], root: bytes) -> bytes:
        ucs2 = kind == 2
        o = self.options
        ids = {
            "system": b.pad_field(o.system_id, 32, ucs2),
            "volume": b.pad_field(o.volume_id, 32, ucs2),
            "volume_set": b.pad_field(o.volume_set_id, 128, ucs2),
            "publisher": b.pad_field(o.publisher_id, 128, ucs2),
            "preparer": b.pad_field(o.preparer_id, 128, ucs2),
            "application": b.pad_field(o.application_id, 128, ucs2),
            "files": b.pad_field("", 111, ucs2),
        }
        root = bytes((34,)) + root[1:34]  # the descriptor's copy of "." carries no system use
        return b.volume_descriptor(kind=kind, ids=ids, space=self.space, path_table_size=size, l_table=tables[0], m_table=tables[1], root=root, created=o.created, escapes=b"%/E" if ucs2 else b"")

    def write(self, fd: int, progress: Callable[[int], None] | None = None) -> int:
        """Write the whole image at ``fd``'s position; returns the byte count."""
        head = self.metadata()
        _write_all(fd, head)
        written = len(head)
        patches = {id(node): boot for _, _, _, node, boot in self.boot_entries if boot.info_table}
        for node in self.file_order:
            if id(node) in patches:
                _write_all(fd, self._patched_boot_file(node))
            elif node.data is not None:
                node.data.copy_to(fd)
            padding = -node.size % SECTOR
            if padding:
                _write_all(fd, bytes(padding))
            written += node.size + padding
            if progress:
                progress(written)
        return written

    def _patched_boot_file(self, node: Node) -> bytes:
        if node.size > 64 << 20:
            raise CreateError("a boot file with a boot info table must be smaller than 64 MiB")
        data = _read_source(node)
        return data[:8] + b.boot_info_table(16, self.data_extent[id(node)], data) + data[64:]


def _read_source(node: Node) -> bytes:
    with tempfile.TemporaryFile() as handle:
        node.data.copy_to(handle.fileno())
        handle.seek(0)
        return handle.read()


def _sort_key(identifier: bytes, joliet: bool) -> tuple:
    if joliet:
        return (identifier,)
    name = identifier.split(b";")[0]
    base, _, ext = name.partition(b".")
    return (base, ext)


def _pack(records: list[bytes]) -> bytes:
    """Records into whole blocks, never letting one cross a block boundary."""
    out = bytearray()
    for record in records:
        if len(out) // SECTOR != (len(out) + len(record) - 1) // SECTOR:
            out += bytes(-len(out) % SECTOR)
        out += record
    return bytes(out.ljust(_blocks(len(out)) * SECTOR, b"\x00"))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
