"""``create``: build an ISO image from a host directory.

Rock Ridge (modes, mtimes, symlinks) and Joliet by default; El Torito BIOS/EFI entries for boot
files inside the tree; files of 4 GiB or more become multi-extent (ISO level 3). Output is
reproducible: names are sorted and, with SOURCE_DATE_EPOCH (or ``epoch``), every timestamp is
clamped to it, so the same tree and epoch give a byte-identical image. The image is written to
a temporary file beside ``output`` and renamed into place, so a failure leaves nothing behind.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field

from burnd.image.iso.entry import Kind
from burnd.image.iso.nodes import HostFile, Node
from burnd.image.output import atomic_output
from burnd.image.iso.writer import BootImage, CreateError, ImageWriter, Options

__all__ = ["BootImage", "CreateError", "CreateReport", "create", "scan_tree", "source_date_epoch"]


@dataclass(slots=True)
class CreateReport:
    size: int = 0
    files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"size": self.size, "files": self.files, "skipped": [{"path": p, "reason": r} for p, r in self.skipped]}


def source_date_epoch() -> int | None:
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise CreateError(f"SOURCE_DATE_EPOCH={value!r} is not a whole number of seconds; fix or unset it")
    return int(value)


def scan_tree(source: str, clamp: float | None, report: CreateReport) -> Node:
    """The host directory as a ``Node`` tree (symlinks kept as links, never followed)."""
    try:
        info = os.stat(source)
    except OSError as exc:
        raise CreateError(f"{source}: cannot read the source directory ({exc.strerror})") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise CreateError(f"{source}: not a directory; pass the directory whose contents go on the disc")
    root = Node("", Kind.DIR, info.st_mode, _stamp(info.st_mtime, clamp))
    pending = [(source, root, "")]
    while pending:
        host_dir, node, shown = pending.pop()
        try:
            items = sorted(os.scandir(host_dir), key=lambda e: e.name)
        except OSError as exc:
            raise CreateError(f"{host_dir}: cannot list directory ({exc.strerror})") from exc
        for item in items:
            child = _node(item, clamp, report, f"{shown}/{item.name}")
            if child is None:
                continue
            node.children.append(child)
            if child.kind is Kind.DIR:
                pending.append((item.path, child, f"{shown}/{item.name}"))
    return root


def _node(item: os.DirEntry, clamp: float | None, report: CreateReport, shown: str) -> Node | None:
    info = item.stat(follow_symlinks=False)
    mtime = _stamp(info.st_mtime, clamp)
    if stat.S_ISDIR(info.st_mode):
        return Node(item.name, Kind.DIR, info.st_mode, mtime)
    if stat.S_ISLNK(info.st_mode):
        target = os.fsdecode(os.readlink(item.path))
        return Node(item.name, Kind.SYMLINK, info.st_mode, mtime, size=len(target), target=target)
    if stat.S_ISREG(info.st_mode):
        report.files += 1
        key = (info.st_dev, info.st_ino) if info.st_nlink > 1 else None
        return Node(item.name, Kind.FILE, info.st_mode, mtime, size=info.st_size, data=HostFile(item.path, info.st_size), link_key=key)
    report.skipped.append((shown, "device nodes, FIFOs and sockets are not put on discs"))
    return None


def _stamp(mtime: float, clamp: float | None) -> float:
    whole = float(int(mtime))
    return min(whole, clamp) if clamp is not None else whole


def create(
    source: str,
    output: str,
    *,
    volume_id: str = "CDROM",
    joliet: bool = True,
    rock_ridge: bool = True,
    boot: list[BootImage] | None = None,
    epoch: int | None = None,
    application_id: str = "BURND",
    publisher_id: str = "",
    preparer_id: str = "",
) -> CreateReport:
    """Write an image of the directory ``source`` to ``output``.

    ``epoch`` (default: SOURCE_DATE_EPOCH) fixes the volume dates and clamps file times;
    without it the volume is dated now and file mtimes are kept."""
    clamp = epoch if epoch is not None else source_date_epoch()
    report = CreateReport()
    root = scan_tree(source, clamp, report)
    options = Options(
        volume_id=volume_id,
        joliet=joliet,
        rock_ridge=rock_ridge,
        created=float(clamp) if clamp is not None else float(int(time.time())),
        application_id=application_id,
        publisher_id=publisher_id,
        preparer_id=preparer_id,
        boot=list(boot or []),
    )
    report.size = write_image(root, options, output)
    return report


def write_image(root: Node, options: Options, output: str, durable: bool = False) -> int:
    """Lay out ``root`` and write it atomically to ``output``; returns the image size."""
    writer = ImageWriter(root, options)
    with atomic_output(output, durable) as fd:
        try:
            return writer.write(fd)
        except OSError as exc:
            raise CreateError(f"{output}: writing the image failed ({exc.strerror or exc}); check free space and that the sources did not change") from exc
