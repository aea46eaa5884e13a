"""``inspect``: everything burnd shows about an image without extracting it.

One dataclass gathers the primary volume descriptor, the extensions present (Joliet, Rock
Ridge, ISO 9660:1999, El Torito, UDF, hybrid system area), the sessions found, and tree
statistics, so the daemon and the CLI print the same facts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from burnd.errors import BadImage
from burnd.image.iso.boot import BootEntry, parse_boot_catalog, parse_system_area
from burnd.image.boundary import guard
from burnd.image.iso.entry import Kind
from burnd.image.iso.reader import IsoImage
from burnd.image.iso.records import SECTOR, VolumeDescriptor

ROCK_RIDGE_VERSIONS = {"RRIP_1991A": "1.09", "IEEE_P1282": "1.10", "IEEE_1282": "1.12"}


@dataclass(slots=True)
class VolumeInfo:
    volume_id: str
    system_id: str
    volume_set_id: str
    publisher_id: str
    preparer_id: str
    application_id: str
    created: float | None
    modified: float | None
    block_count: int
    block_size: int

    @classmethod
    def of(cls, vd: VolumeDescriptor) -> "VolumeInfo":
        return cls(vd.volume_id, vd.system_id, vd.volume_set_id, vd.publisher_id, vd.preparer_id, vd.application_id, vd.created, vd.modified, vd.space_size, vd.block_size)


@dataclass(slots=True)
class TreeStats:
    files: int = 0
    directories: int = 0
    symlinks: int = 0
    other: int = 0
    total_bytes: int = 0
    largest_file: int = 0
    max_depth: int = 0
    multi_extent_files: int = 0
    relocated_directories: int = 0


@dataclass(slots=True)
class IsoInfo:
    path: str
    file_size: int
    file_system: str  # "iso9660", "iso9660+udf" (bridge) or "udf"
    namespace: str  # the tree the listing uses
    volume: VolumeInfo | None
    joliet_level: int | None
    rock_ridge: str | None  # RRIP version, "unknown" when SUSP is there without ER
    iso9660_1999: bool
    el_torito: list[BootEntry] = field(default_factory=list)
    el_torito_problem: str | None = None
    udf: str | None = None  # "bridge", "udf-only" or None
    udf_volume_id: str | None = None  # logical volume label of a UDF-only image
    system_area: dict = field(default_factory=dict)
    sessions: list[dict] = field(default_factory=list)
    tree: TreeStats = field(default_factory=TreeStats)

    def to_dict(self) -> dict:
        result = asdict(self)
        result["el_torito"] = [entry.to_dict() for entry in self.el_torito]
        return result


def inspect(path: str) -> IsoInfo:
    """Read the descriptors and walk the tree of ``path``; BadImage if it is not readable."""
    with IsoImage(path) as image, guard(path, "inspect"):
        current = image.current
        entries = image.entries()
        walk = image.walk_result
        has_iso = current.primary is not None
        udf = ("bridge" if has_iso else "udf-only") if current.has_udf else None
        info = IsoInfo(
            path=path,
            file_size=image.image.size,
            file_system="iso9660+udf" if has_iso and udf else ("iso9660" if has_iso else "udf"),
            namespace=image.namespace,
            volume=VolumeInfo.of(current.primary) if current.primary else None,
            joliet_level=current.joliet.joliet_level if current.joliet else None,
            rock_ridge=_rock_ridge_version(walk.rr_extensions) if walk and walk.rock_ridge else None,
            iso9660_1999=current.enhanced is not None,
            udf=udf,
            system_area=parse_system_area(image.read_sector(0, 16)) if image.image.size >= 16 * SECTOR else {},
            sessions=[s.to_dict() for s in image.sessions],
        )
        if current.boot_catalog is not None:
            try:
                catalog = image.read_sector(current.boot_catalog)
            except BadImage as exc:  # reported, not fatal: the tree is still readable
                info.el_torito_problem = str(exc)
            else:
                info.el_torito, info.el_torito_problem = parse_boot_catalog(catalog)
        info.udf_volume_id = image.udf_volume_id
        info.tree = _stats(entries, walk.multi_extent_files if walk else 0, walk.relocated_dirs if walk else 0)
        return info


def _rock_ridge_version(extensions: list[str]) -> str:
    for ident in extensions:
        if ident in ROCK_RIDGE_VERSIONS:
            return ROCK_RIDGE_VERSIONS[ident]
    return "unknown"


def _stats(entries, multi: int, relocated: int) -> TreeStats:
    stats = TreeStats(multi_extent_files=multi, relocated_directories=relocated)
    for entry in entries:
        stats.max_depth = max(stats.max_depth, len(entry.parts))
        if entry.kind is Kind.FILE:
            stats.files += 1
            stats.total_bytes += entry.size
            stats.largest_file = max(stats.largest_file, entry.size)
        elif entry.kind is Kind.DIR:
            stats.directories += 1
        elif entry.kind is Kind.SYMLINK:
            stats.symlinks += 1
        else:
            stats.other += 1
    return stats
