"""Extract an image's files into a directory without ever writing outside it.

Names inside an image are attacker-controlled. Every path is opened component by component
with ``O_NOFOLLOW`` relative to directory fds (openat-style), so neither '..' nor a symlink —
including one this very extraction created a moment ago — can redirect a write. Symlinks that
would point outside the target are not created; devices, FIFOs and sockets are never created.
Everything skipped is reported with the reason. File data is copied in bounded chunks with
``copy_file_range`` (in-kernel, no Python buffer) and falls back to pread/write.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Iterable

from burnd.errors import BurndError
from burnd.image.boundary import guard
from burnd.image.iso.entry import Entry, Kind, Run
from burnd.image.iso.nodes import copy_span
from burnd.image.iso.reader import IsoImage
from burnd.image.iso.zisofs import zisofs_source

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class ExtractError(BurndError):
    """The extraction target itself cannot be used."""

    dbus_name = "ExtractFailed"


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str


@dataclass(slots=True)
class ExtractReport:
    files: int = 0
    directories: int = 0
    symlinks: int = 0
    bytes: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    def skip(self, entry: Entry, reason: str) -> None:
        self.skipped.append(Skipped(entry.path, reason))

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "directories": self.directories,
            "symlinks": self.symlinks,
            "bytes": self.bytes,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
        }


def unsafe_component(name: str) -> str | None:
    """Why a single path component may not be created, or None when it is fine."""
    if name in ("", ".", ".."):
        return f"name {name!r} is not a plain file name"
    if "/" in name or "\x00" in name:
        return "name contains '/' or NUL"
    return None


def symlink_escapes(parts: tuple[str, ...], target: str) -> bool:
    """True when ``target``, placed at ``parts``, lexically resolves outside the tree root."""
    if target.startswith("/") or "\x00" in target:
        return True
    depth = len(parts) - 1
    for component in target.split("/"):
        if component == "..":
            depth -= 1
            if depth < 0:
                return True
        elif component not in ("", "."):
            depth += 1
    return False


def wanted(entry: Entry, selection: list[tuple[str, ...]] | None) -> bool:
    """Selected paths, their subtrees, and the directories leading to them."""
    if selection is None:
        return True
    return any(entry.parts[: len(chosen)] == chosen or chosen[: len(entry.parts)] == entry.parts for chosen in selection)


def extract(image_path: str, target: str, *, force: bool = False, paths: Iterable[str] | None = None) -> ExtractReport:
    """Extract the image (or only ``paths`` and their subtrees) into ``target``.

    Existing files are left alone unless ``force``; modes (without set-id bits) and mtimes come
    from Rock Ridge / UDF. Returns what was written and what was skipped, with reasons."""
    selection = [tuple(p for p in path.split("/") if p) for path in paths] if paths is not None else None
    os.makedirs(target, exist_ok=True)
    try:
        root_fd = os.open(target, DIR_FLAGS)
    except OSError as exc:
        raise ExtractError(f"{target}: cannot open the extraction directory ({exc.strerror}); pass an existing directory you can write to") from exc
    try:
        with IsoImage(image_path) as image:
            entries = image.entries()
            with guard(image_path, "extract"):
                try:
                    return _Extractor(image.image.fd, root_fd, force).run(e for e in entries if wanted(e, selection))
                except OSError as exc:
                    raise ExtractError(f"{target}: extraction stopped ({exc.strerror or exc}); check free space and permissions") from exc
    finally:
        os.close(root_fd)


class _Extractor:
    def __init__(self, image_fd: int, root_fd: int, force: bool) -> None:
        self.image_fd = image_fd
        self.root_fd = root_fd
        self.force = force
        self.report = ExtractReport()
        self.dir_times: list[tuple[tuple[str, ...], Entry]] = []
        self.links: list[Entry] = []
        self.cached: tuple[tuple[str, ...], int] | None = None

    def run(self, entries: Iterable[Entry]) -> ExtractReport:
        try:
            for entry in entries:
                self._one(entry)
            self._drop_escaping_links()
            for parts, entry in reversed(self.dir_times):
                self._finish_dir(parts, entry)
        finally:
            self._drop_cache()
        return self.report

    def _one(self, entry: Entry) -> None:
        for part in entry.parts:
            problem = unsafe_component(part)
            if problem:
                self.report.skip(entry, problem)
                return
        if not entry.parts:
            return
        parent = self._parent_fd(entry.parts[:-1])
        if parent is None:
            self.report.skip(entry, "its parent directory was not extracted (skipped, or a symlink/file is in the way)")
            return
        handler = {Kind.DIR: self._dir, Kind.FILE: self._file, Kind.SYMLINK: self._symlink}.get(entry.kind)
        if handler is None:
            self.report.skip(entry, f"{entry.kind.value} nodes are never created by extraction")
            return
        handler(parent, entry)

    def _parent_fd(self, parts: tuple[str, ...]) -> int | None:
        """An fd for the directory ``parts`` under the root, opened without following links."""
        if not parts:
            return self.root_fd
        if self.cached is not None and self.cached[0] == parts:
            return self.cached[1]
        self._drop_cache()
        fd = os.dup(self.root_fd)
        for part in parts:
            try:
                next_fd = os.open(part, DIR_FLAGS, dir_fd=fd)
            except OSError:
                os.close(fd)
                return None
            os.close(fd)
            fd = next_fd
        self.cached = (parts, fd)
        return fd

    def _drop_cache(self) -> None:
        if self.cached is not None:
            os.close(self.cached[1])
            self.cached = None

    def _dir(self, parent: int, entry: Entry) -> None:
        try:
            os.mkdir(entry.name, 0o700, dir_fd=parent)
            self.report.directories += 1
        except FileExistsError:
            if not _is_real_dir(entry.name, parent):
                self.report.skip(entry, "a non-directory with this name already exists")
                return
        self.dir_times.append((entry.parts, entry))

    def _finish_dir(self, parts: tuple[str, ...], entry: Entry) -> None:
        parent = self._parent_fd(parts[:-1])
        if parent is None:
            return
        try:
            fd = os.open(parts[-1], DIR_FLAGS, dir_fd=parent)
        except OSError:
            return
        try:
            _apply_metadata(fd, entry, default=0o755)
        finally:
            os.close(fd)

    def _file(self, parent: int, entry: Entry) -> None:
        if entry.zisofs == "other":
            self.report.skip(entry, "compressed with a zisofs algorithm burnd does not read; mount the image or use xorriso -osirrox")
            return
        fd = self._create(parent, entry)
        if fd is None:
            return
        try:
            if entry.zisofs:
                zisofs_source(self.image_fd, entry.runs, entry.size).copy_to(fd)
                written = entry.size
            else:
                written = self._copy(fd, entry.runs)
            if written < entry.size:
                os.ftruncate(fd, entry.size)
            _apply_metadata(fd, entry, default=0o644)
        finally:
            os.close(fd)
        self.report.files += 1
        self.report.bytes += entry.size

    def _create(self, parent: int, entry: Entry) -> int | None:
        try:
            return os.open(entry.name, FILE_FLAGS, 0o600, dir_fd=parent)
        except FileExistsError:
            pass
        except OSError as exc:
            self.report.skip(entry, f"cannot create: {exc.strerror}")
            return None
        if not self.force:
            self.report.skip(entry, "exists already (use force to overwrite)")
            return None
        if _is_real_dir(entry.name, parent):
            self.report.skip(entry, "a directory with this name exists")
            return None
        os.unlink(entry.name, dir_fd=parent)
        return os.open(entry.name, FILE_FLAGS, 0o600, dir_fd=parent)

    def _copy(self, out_fd: int, runs: tuple[Run, ...]) -> int:
        written = 0
        for run in runs:
            if run.offset is None:
                written += run.length
                os.lseek(out_fd, written, os.SEEK_SET)
                continue
            copy_span(self.image_fd, run.offset, run.length, out_fd, "image file data")
            written += run.length
        return written

    def _symlink(self, parent: int, entry: Entry) -> None:
        target = entry.target or ""
        if symlink_escapes(entry.parts, target):
            self.report.skip(entry, f"symlink target {target!r} points outside the extraction directory")
            return
        try:
            os.symlink(target, entry.name, dir_fd=parent)
        except FileExistsError:
            if not self.force or _is_real_dir(entry.name, parent):
                self.report.skip(entry, "exists already (use force to overwrite)")
                return
            os.unlink(entry.name, dir_fd=parent)
            os.symlink(target, entry.name, dir_fd=parent)
        if entry.mtime is not None:
            try:
                os.utime(entry.name, (entry.mtime, entry.mtime), dir_fd=parent, follow_symlinks=False)
            except OSError:
                pass
        self.report.symlinks += 1
        self.links.append(entry)

    def _drop_escaping_links(self) -> None:
        """Links checked one by one can still escape together ('b' -> '.', 'a' -> 'b/..'):
        once all exist, resolve each through the real tree and remove those leaving it."""
        root = os.path.realpath(f"/proc/self/fd/{self.root_fd}")
        for entry in self.links:
            resolved = os.path.realpath(os.path.join(root, *entry.parts))
            if os.path.commonpath([root, resolved]) == root:
                continue
            parent = self._parent_fd(entry.parts[:-1])
            if parent is not None:
                os.unlink(entry.name, dir_fd=parent)
                self.report.symlinks -= 1
                self.report.skip(entry, f"symlink target {entry.target!r} resolves outside the extraction directory through other links")


def _is_real_dir(name: str, parent: int) -> bool:
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _apply_metadata(fd: int, entry: Entry, default: int) -> None:
    """Permission bits (never set-id or sticky) and the mtime, applied through the fd."""
    mode = (entry.mode & 0o777) if entry.mode is not None else default
    os.fchmod(fd, mode)
    if entry.mtime is not None:
        os.utime(fd, (entry.mtime, entry.mtime))

