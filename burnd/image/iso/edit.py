"""``edit``: add, replace, remove and rename files, relabel, and write a new image.

The existing image is read into a ``Node`` tree whose file data stays in the old image
(``ImageData``), the operations are applied to the tree, and the writer lays out a fresh image.
The original is never modified: the output goes to a temporary file beside the destination and
is renamed over it, which is also how ``in_place=True`` stays safe. El Torito entries survive
when their boot image is a file of the tree; boot images hidden from every directory cannot be
carried over, and the edit is refused rather than silently producing an unbootable disc.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass, field

from burnd.errors import UnsupportedImage
from burnd.image.iso.boot import parse_boot_catalog
from burnd.image.boundary import guard
from burnd.image.iso.create import CreateReport, scan_tree, source_date_epoch, write_image
from burnd.image.iso.entry import Entry, Kind
from burnd.image.iso.extract import unsafe_component
from burnd.image.iso.nodes import HostFile, ImageData, Node
from burnd.image.iso.reader import IsoImage
from burnd.image.iso.writer import BootImage, CreateError, Options
from burnd.image.iso.zisofs import zisofs_source


class EditError(CreateError):
    """An edit operation names something that does not exist or already exists."""

    dbus_name = "EditFailed"


@dataclass(frozen=True, slots=True)
class Add:
    """Put host file or directory ``host_path`` at ``iso_path`` (which must not exist)."""

    iso_path: str
    host_path: str


@dataclass(frozen=True, slots=True)
class Replace:
    """Replace the file at ``iso_path`` with host file ``host_path``."""

    iso_path: str
    host_path: str


@dataclass(frozen=True, slots=True)
class Remove:
    iso_path: str


@dataclass(frozen=True, slots=True)
class Rename:
    """Move ``old`` to ``new`` (any directory of the image; ``new``'s parent must exist)."""

    old: str
    new: str


Operation = Add | Replace | Remove | Rename


@dataclass(slots=True)
class EditReport:
    size: int = 0
    dropped: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"size": self.size, "dropped": [{"path": p, "reason": r} for p, r in self.dropped]}


def split(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    for part in parts:
        problem = unsafe_component(part)
        if problem:
            raise EditError(f"{path!r}: {problem}; use a plain absolute path inside the image")
    if not parts:
        raise EditError(f"{path!r} names the root directory; give a path inside the image")
    return parts


def edit(
    image_path: str,
    output: str | None = None,
    operations: list[Operation] | tuple[Operation, ...] = (),
    *,
    volume_id: str | None = None,
    in_place: bool = False,
    epoch: int | None = None,
) -> EditReport:
    """Apply ``operations`` (in order) and ``volume_id`` to ``image_path``, writing ``output``
    (or the image itself when ``in_place``)."""
    if in_place == (output is not None):
        raise EditError("give either an output path or in_place=True (not both, not neither)")
    destination = image_path if in_place else output
    clamp = epoch if epoch is not None else source_date_epoch()
    report = EditReport()
    with IsoImage(image_path) as image:
        entries = image.entries()
        with guard(image_path, "edit"):
            root = _tree(image, entries, report)
            boot = _boot_images(image, entries)
            for operation in operations:
                _apply(root, operation, clamp)
            primary = image.current.primary
            options = Options(
                volume_id=volume_id if volume_id is not None else (primary.volume_id if primary else "CDROM"),
                created=float(clamp) if clamp is not None else float(int(time.time())),
                system_id=primary.system_id if primary else "LINUX",
                application_id=primary.application_id if primary else "BURND",
                publisher_id=primary.publisher_id if primary else "",
                preparer_id=primary.preparer_id if primary else "",
                volume_set_id=primary.volume_set_id if primary else "",
                boot=[b for b in boot if root.lookup(b.path) is not None],
            )
            report.size = write_image(root, options, destination, durable=in_place)
    return report


def _tree(image: IsoImage, entries: list[Entry], report: EditReport) -> Node:
    primary = image.current.primary
    root = Node("", Kind.DIR, 0o40755, (primary.modified or primary.created or 0.0) if primary else 0.0)
    nodes: dict[tuple[str, ...], Node] = {(): root}
    for entry in entries:
        problem = next((p for p in map(unsafe_component, entry.parts) if p), None)
        parent = nodes.get(entry.parts[:-1])
        if problem or parent is None or entry.kind not in (Kind.FILE, Kind.DIR, Kind.SYMLINK):
            report.dropped.append((entry.path, problem or ("parent dropped" if parent is None else f"{entry.kind.value} not supported")))
            continue
        mode = entry.mode if entry.mode is not None else (0o40755 if entry.kind is Kind.DIR else 0o100644)
        node = Node(entry.name, entry.kind, mode, entry.mtime or 0.0, size=entry.size if entry.kind is not Kind.DIR else 0, target=entry.target)
        if entry.kind is Kind.FILE and entry.zisofs == "other":
            raise UnsupportedImage(f"{image.path}: {entry.path} uses a zisofs algorithm burnd cannot inflate; it cannot be carried into a new image")
        if entry.kind is Kind.FILE:
            node.data = zisofs_source(image.image.fd, entry.runs, entry.size) if entry.zisofs else ImageData(image.image.fd, entry.runs, entry.size)
            node.link_key = entry.runs[0].offset if entry.runs else None
        parent.children.append(node)
        nodes[entry.parts] = node
    return root


def _boot_images(image: IsoImage, entries: list[Entry]) -> list[BootImage]:
    """The El Torito entries of ``image`` as boot files of the tree (matched by location)."""
    lba = image.current.boot_catalog
    if lba is None:
        return []
    boot_entries, problem = parse_boot_catalog(image.read_sector(lba))
    if problem:
        raise UnsupportedImage(f"{image.path}: {problem}; burnd will not rewrite an image whose boot catalog it cannot read")
    by_offset = {e.runs[0].offset: e for e in entries if e.kind is Kind.FILE and e.runs}
    result = []
    for boot in boot_entries:
        entry = by_offset.get(boot.lba * 2048)
        if entry is None:
            raise UnsupportedImage(
                f"{image.path}: El Torito image at block {boot.lba} is not a file of the tree (hidden); "
                "editing would make the disc unbootable — rebuild it from its source tree with create()"
            )
        platform = "efi" if boot.platform == "efi" else "bios"
        result.append(BootImage(entry.path, platform, boot.sector_count, info_table=_has_info_table(image, entry, boot.lba)))
    return result


def _has_info_table(image: IsoImage, entry: Entry, lba: int) -> bool:
    """Whether the boot file carries a boot info table (isolinux): it names the file's own
    location, so the writer must patch it again wherever the file lands in the new image."""
    if entry.size < 64:
        return False
    pvd, file_lba, length = struct.unpack("<III", image.image.read_at(lba * 2048 + 8, 12, "boot file"))
    return pvd == 16 and file_lba == lba and length == entry.size


def _parent(root: Node, parts: list[str], path: str) -> Node:
    parent = root.lookup(parts[:-1])
    if parent is None or parent.kind is not Kind.DIR:
        raise EditError(f"{path}: the parent directory does not exist in the image; add it first")
    return parent


def _apply(root: Node, operation: Operation, clamp: int | None) -> None:
    if isinstance(operation, Add):
        parts = split(operation.iso_path)
        parent = _parent(root, parts, operation.iso_path)
        if parent.child(parts[-1]) is not None:
            raise EditError(f"{operation.iso_path}: already exists in the image; use Replace or Remove first")
        parent.children.append(_host_node(operation.host_path, parts[-1], clamp))
    elif isinstance(operation, Replace):
        parts = split(operation.iso_path)
        parent = _parent(root, parts, operation.iso_path)
        old = parent.child(parts[-1])
        if old is None or old.kind is not Kind.FILE:
            raise EditError(f"{operation.iso_path}: no such file in the image to replace")
        parent.children.remove(old)
        parent.children.append(_host_node(operation.host_path, parts[-1], clamp))
    elif isinstance(operation, Remove):
        parts = split(operation.iso_path)
        parent = _parent(root, parts, operation.iso_path)
        old = parent.child(parts[-1])
        if old is None:
            raise EditError(f"{operation.iso_path}: no such file or directory in the image")
        parent.children.remove(old)
    else:
        old_parts, new_parts = split(operation.old), split(operation.new)
        source_parent = _parent(root, old_parts, operation.old)
        node = source_parent.child(old_parts[-1])
        if node is None:
            raise EditError(f"{operation.old}: no such file or directory in the image")
        if new_parts[: len(old_parts)] == old_parts:
            raise EditError(f"cannot move {operation.old} into itself")
        target_parent = _parent(root, new_parts, operation.new)
        if target_parent.child(new_parts[-1]) is not None:
            raise EditError(f"{operation.new}: already exists in the image")
        source_parent.children.remove(node)
        node.name = new_parts[-1]
        target_parent.children.append(node)


def _host_node(host_path: str, name: str, clamp: int | None) -> Node:
    try:
        info = os.lstat(host_path)
    except OSError as exc:
        raise EditError(f"{host_path}: cannot read the file to add ({exc.strerror})") from exc
    if os.path.isdir(host_path) and not os.path.islink(host_path):
        node = scan_tree(host_path, clamp, CreateReport())
        node.name = name
        return node
    if not os.path.isfile(host_path) or os.path.islink(host_path):
        raise EditError(f"{host_path}: only regular files and directories can be added")
    mtime = min(float(int(info.st_mtime)), clamp) if clamp is not None else float(int(info.st_mtime))
    return Node(name, Kind.FILE, info.st_mode, mtime, size=info.st_size, data=HostFile(host_path, info.st_size))
