"""Attach disc images as read-only loop devices, detach them, and survive restarts.

``VirtualDrives`` is the library the daemon's Manager.AttachImage and VirtualDrive objects sit
on. For each image it picks the cheapest way to give the kernel a 2048-byte view:

* ``direct``: the track is a plain byte range of one file (ISO, .cdr, MODE1/2048 cue, NRG and
  MDF 2048 tracks, 2048-byte PDI) → LOOP_CONFIGURE with offset + size limit, zero copy;
* ``translated``: raw or compressed data → a FUSE view process serves the track on demand
  (burnd.virtual.translate) and the loop device reads that file;
* ``cached``: no FUSE here, or a format without random access (ECM) → a converted ISO in a
  size-limited cache (burnd.virtual.cache); the attachment's ``note`` says so.

Nothing stale, nothing lost: every device is tagged ``burnd:<instance>:<id>`` in ``lo_file_name`` and
recorded in the state directory before the call returns; ``recover()`` after a restart (or
SIGKILL) re-adopts the live ones and tears down the leftovers; a device burnd did not create is
never detached; a busy device is refused with who holds it instead of being left to AUTOCLEAR.

Threading: every public method blocks (image parsing, view start, ioctls, fsync) and is
serialised by an internal lock, so the daemon calls them with ``asyncio.to_thread``.
``on_change(event, attachment)`` ("added"/"removed") is called from that worker thread; the
daemon forwards it to its loop with ``call_soon_threadsafe`` to emit ObjectManager signals.
"""

from __future__ import annotations

import fcntl
import grp
import hashlib
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from burnd import loop
from burnd.errors import BadImage, DeviceError, NotAuthorized, UnsupportedImage
from burnd.image.convert import choose_track
from burnd.image.detect import detect
from burnd.image.open import open_image
from burnd.image.source import USER_DATA_SIZE, PlainSlice
from burnd.virtual import registry
from burnd.virtual.cache import ConvertedCache
from burnd.virtual.registry import Attachment
from burnd.virtual.translate import (
    ServedView,
    fuse_available,
    is_view_server,
    mounted_view,
    start_view,
    stop_view,
    unmount,
)

#: formats whose data view has no random access: translating them would decode the whole
#: stream anyway, so they go to the cache
SEQUENTIAL_FORMATS = frozenset({"ecm"})
VIEWS = ("direct", "translated", "cached")
DEFAULT_CACHE_LIMIT = 4 << 30


class NotOurs(DeviceError):
    """The device was not attached by burnd (or is not attached at all)."""

    dbus_name = "NotAVirtualDrive"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Who asks: the D-Bus layer builds this from the caller's uid and pid."""

    uid: int
    gids: frozenset[int] = frozenset()

    @classmethod
    def of_pid(cls, pid: int) -> Credentials:
        """A process's effective uid and all its groups, from /proc (what the kernel checks)."""
        uid, gids = 0, set()
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key == "Uid":
                    uid = int(value.split()[1])
                elif key == "Gid":
                    gids.add(int(value.split()[1]))
                elif key == "Groups":
                    gids.update(int(g) for g in value.split())
        return cls(uid, frozenset(gids))


ROOT = Credentials(0, frozenset({0}))


def authorize(caller: Credentials, group: str) -> None:
    """Root always may; anyone else must be in ``group``."""
    if caller.uid == 0:
        return
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        gid = None
    if gid is None or gid not in caller.gids:
        raise NotAuthorized(
            f"uid {caller.uid} may not attach or detach images: only members of group {group!r} may; "
            f"ask an administrator to add you (usermod -aG {group} USER)"
        )


def readable_by(path: str, caller: Credentials) -> bool:
    """Whether ``caller`` could open ``path`` for reading itself, by mode bits (no ACLs): read
    on the file, search on every directory above it."""
    if caller.uid == 0:
        return True

    def allowed(st: os.stat_result, owner: int) -> bool:
        shift = 0 if st.st_uid == caller.uid else 3 if st.st_gid in caller.gids else 6
        return bool(st.st_mode & (owner >> shift))

    real = os.path.realpath(path)
    try:
        directory = os.path.dirname(real)
        while True:
            if not allowed(os.stat(directory), 0o100):
                return False
            if directory == "/":
                break
            directory = os.path.dirname(directory)
        return allowed(os.stat(real), 0o400)
    except OSError:
        return False


def check_data_files(path: str, image: int | str, caller: Credentials) -> None:
    """Refuse an image whose descriptor names files the caller could not read itself.

    burnd opens a cue's BIN or an MDS's MDF by path with its own (root) rights; without this a
    caller could hand over a cue naming any file on the machine and read it back through the
    device. The file behind the caller's own fd was opened with the caller's rights already."""
    if caller.uid == 0:
        return
    found = detect(path)
    for data in {found.descriptor_path, *found.data_paths}:
        if isinstance(image, int) and _same_file(image, data):
            continue
        if not readable_by(data, caller):
            raise NotAuthorized(f"{data}: the image refers to this file, which uid {caller.uid} cannot read; burnd "
                                "only reads files for a caller that it could read itself (fix the file's permissions)")


def _same_file(fd: int, path: str) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def choose_view(has_plain_slice: bool, format: str, fuse_problem: str | None) -> tuple[str, str]:
    """The view kind for an image and, for the cache, why it was chosen."""
    if has_plain_slice:
        return "direct", ""
    if format in SEQUENTIAL_FORMATS:
        return "cached", f"{format} images have no random access, so they are converted once into the attach cache"
    if fuse_problem:
        return "cached", f"translated views are unavailable ({fuse_problem}); the image was converted into the attach cache"
    return "translated", ""


def loop_window(view_size: int, offset: int, size: int) -> tuple[int, int]:
    """Validate a caller's offset/size inside the 2048-byte view; return (offset, size limit)."""
    if offset % USER_DATA_SIZE or size % USER_DATA_SIZE or offset < 0 or size < 0:
        raise BadImage(f"offset {offset} and size {size} must be non-negative multiples of 2048 bytes")
    if offset >= view_size or offset + size > view_size:
        raise BadImage(f"offset {offset} + size {size} do not fit in the track's {view_size} bytes")
    return offset, size or view_size - offset


def resolve_image(image: int | str) -> str:
    """The path of the image a caller passed as an fd (the file it opened with its own rights).

    Descriptor formats (cue, mds, ccd, split images) name sibling files, so the readers need
    the real path; it must still be the very file behind the fd."""
    if isinstance(image, str):
        return os.path.abspath(image)
    path = os.readlink(f"/proc/self/fd/{image}")
    try:
        if os.path.samestat(os.stat(path), os.fstat(image)):
            return path
    except OSError:
        pass
    raise BadImage(f"the image behind fd {image} ({path}) is no longer reachable by its path (deleted or moved); "
                   "attach it from where it is now")


def _matches_fd(fd: int, path: str, read_only: bool) -> bool:
    """Whether the caller's fd can back the loop device itself (same file, right access)."""
    return _same_file(fd, path) and (read_only or fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR)


def _view_problem(view: ServedView, info: loop.LoopInfo) -> str | None:
    """Why a translated device's view no longer serves it, or None while it does: its server
    runs, still has the view mounted (in its namespace), and that mount is the file system the
    loop device reads from."""
    if not is_view_server(view):
        return f"its view is gone (server pid {view.pid} has exited)"
    mounted = mounted_view(view)
    if mounted is None:
        return f"its view is gone (server pid {view.pid} no longer has {view.mountpoint} mounted)"
    if mounted != f"{os.major(info.backing_device)}:{os.minor(info.backing_device)}":
        return f"its view is gone (the device no longer reads the file system mounted at {view.mountpoint})"
    return None


@dataclass(slots=True)
class Recovery:
    """What ``recover()`` found: devices re-adopted, and what it tore down (with why)."""

    adopted: list[Attachment] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)


class VirtualDrives:
    """The attached images of one burnd instance, recorded under ``state_dir``."""

    def __init__(self, state_dir: str, *, group: str = "cdrom", cache_limit: int = DEFAULT_CACHE_LIMIT,
                 on_change: Callable[[str, Attachment], None] | None = None) -> None:
        self.state_dir = state_dir
        self.group = group
        self.views_dir = os.path.join(state_dir, "views")
        self.cache = ConvertedCache(os.path.join(state_dir, "attach-cache"), cache_limit)
        self._on_change = on_change
        self._lock = threading.RLock()
        self._attachments: dict[str, Attachment] = {a.device: a for a in registry.load(state_dir)}
        # devices are tagged per state directory, so two instances (or a test beside the
        # daemon) never take each other's devices for leftovers
        self._instance = hashlib.sha256(os.path.realpath(state_dir).encode()).hexdigest()[:8]

    def _tag(self, attachment_id: str) -> str:
        return loop.tag_name(f"{self._instance}:{attachment_id}")

    def _ours(self, name: str) -> str | None:
        """The attachment id in a device's tag if this instance created it, else None."""
        return self._own_id(loop.get_status(name))

    def _own_id(self, info: loop.LoopInfo | None) -> str | None:
        if info is None or info.tag is None:
            return None
        instance, _, attachment_id = info.tag.partition(":")
        return attachment_id if instance == self._instance else None

    # --- queries ------------------------------------------------------------------------------

    def list(self) -> list[Attachment]:
        with self._lock:
            return sorted(self._attachments.values(), key=lambda a: int(a.device[4:]))

    def get(self, device: str) -> Attachment | None:
        with self._lock:
            return self._attachments.get(os.path.basename(device))

    # --- attach -------------------------------------------------------------------------------

    def attach(self, image: int | str, *, caller: Credentials = ROOT, read_only: bool = True,
               session: int | None = None, track: int | None = None, partscan: bool = False,
               offset: int = 0, size: int = 0, origin: str = "", view: str | None = None) -> Attachment:
        """Attach ``image`` (a path, or an fd the caller opened) and return the attachment.

        ``view`` forces a view kind (``translated`` or ``cached``; ``direct`` only where the
        track is a plain slice); ``origin`` marks an automatic attach and names its source."""
        authorize(caller, self.group)
        path = resolve_image(image)
        check_data_files(path, image, caller)
        with open_image(path) as source:
            chosen = choose_track(source, session, track)
            if not chosen.is_data:
                raise BadImage(f"{path}: track {chosen.number} is {chosen.mode.value}; only data tracks can be attached")
            plain = source.plain_slice(chosen)
            fmt = source.format
        kind, note = choose_view(plain is not None, fmt, fuse_available())
        if view is not None:
            if view not in VIEWS or (view == "direct" and plain is None):
                raise UnsupportedImage(f"{path}: view {view!r} is not possible for this {fmt} image; use one of "
                                       f"{[v for v in VIEWS if v != 'direct' or plain]}")
            kind = view
            note = note or ("attached from a converted copy in the attach cache, as requested" if view == "cached" else "")
        if not read_only and kind != "direct":
            raise UnsupportedImage(f"{path}: {fmt} images are served through a {kind} view, which is read-only; "
                                   "convert it to ISO to attach it writable")
        window = loop_window(chosen.sectors * USER_DATA_SIZE, offset, size)
        attachment_id = uuid.uuid4().hex
        with self._lock:
            backing = self._backing(kind, path, plain, chosen.session, chosen.number, attachment_id, note)
            try:
                borrowed = isinstance(image, int) and _matches_fd(image, backing.loop_file, read_only)
                fd = image if borrowed else os.open(backing.loop_file, (os.O_RDONLY if read_only else os.O_RDWR) | os.O_CLOEXEC)
                try:
                    device = loop.configure(fd, offset=backing.offset + window[0], sizelimit=window[1],
                                            read_only=read_only, partscan=partscan, tag=self._tag(attachment_id),
                                            # a view's file needs no page cache of its own: the
                                            # device's holds the data (one copy less per block)
                                            direct_io=kind == "translated")
                finally:
                    if not borrowed:
                        os.close(fd)
            except BaseException:
                self._release(backing)
                raise
            attachment = replace(backing, device=device, format=fmt, read_only=read_only, session=chosen.session,
                                 track=chosen.number, setup_by_uid=caller.uid, auto_attached=bool(origin),
                                 origin=origin, size=window[1])
            self._attachments[device] = attachment
            try:
                registry.add(self.state_dir, attachment)
            except BaseException:
                del self._attachments[device]
                loop.clear(device)
                self._release(backing)
                raise
        loop.send_change_uevent(device)
        self._notify("added", attachment)
        return attachment

    def _backing(self, kind: str, path: str, plain: PlainSlice | None, session: int, track: int, attachment_id: str, note: str) -> Attachment:
        """Prepare what the loop device will read; return a partial attachment describing it."""
        base = Attachment(attachment_id, "", path, "", True, session, track, 0, False, "", kind, path, 0, 0, note=note)
        if kind == "direct" and plain is not None:
            return replace(base, loop_file=plain.path, offset=plain.offset)
        if kind == "translated":
            served = start_view(path, os.path.join(self.views_dir, attachment_id), session=session, track=track)
            return replace(base, loop_file=served.file, view_pid=served.pid, view_mount=served.mountpoint)
        keep = {a.loop_file for a in self._attachments.values() if a.view == "cached"}
        copy = self.cache.get(path, session=session, track=track, keep=keep)
        return replace(base, loop_file=copy.path)

    def _release(self, attachment: Attachment) -> None:
        """Undo what ``_backing`` set up (the cached copy stays for a quick re-attach)."""
        if attachment.view == "translated":
            stop_view(ServedView(attachment.view_pid, attachment.view_mount))

    # --- detach -------------------------------------------------------------------------------

    def detach(self, device: str, *, caller: Credentials = ROOT) -> Attachment:
        """Detach a device burnd attached; DeviceBusy (saying who holds it) if it is in use."""
        authorize(caller, self.group)
        name = os.path.basename(device)
        with self._lock:
            attachment = self._attachments.get(name)
            if attachment is None:
                raise NotOurs(f"/dev/{name} was not attached by burnd; burnd only detaches its own virtual drives "
                              "(use losetup -d for others)")
            if self._ours(name) == attachment.id:
                loop.clear(name)
            self._forget(attachment)
        self._notify("removed", attachment)
        return attachment

    def _forget(self, attachment: Attachment) -> None:
        self._release(attachment)
        del self._attachments[attachment.device]
        registry.remove(self.state_dir, attachment.id)

    def _notify(self, event: str, attachment: Attachment) -> None:
        if self._on_change is not None:
            self._on_change(event, attachment)

    # --- restart ------------------------------------------------------------------------------

    def recover(self) -> Recovery:
        """Reconcile the records with the kernel after a start: keep live devices burnd created,
        tear down half-made or dead ones, drop records whose device is gone."""
        result = Recovery()
        with self._lock:
            tagged = self._tagged_devices()
            for attachment in list(self._attachments.values()):
                found = tagged.get(attachment.device)
                if found is None or found[0] != attachment.id:
                    result.cleaned.append(f"{attachment.device}: no longer attached to {attachment.backing_file}; record dropped")
                    self._forget(attachment)
                    continue
                del tagged[attachment.device]
                problem = self._problem(attachment, found[2])
                if problem is None:
                    result.adopted.append(attachment)
                    continue
                self._clear_quietly(attachment.device, result, f"{attachment.backing_file}: {problem}")
                self._forget(attachment)
            for name, (_, state, _) in tagged.items():
                self._clear_quietly(name, result, f"{state.backing_file}: attached by burnd but never recorded (interrupted attach)")
            self._unmount_orphan_views(result)
        return result

    def _tagged_devices(self) -> dict[str, tuple[str, loop.SysfsLoop, loop.LoopInfo]]:
        """The bound loop devices this instance created: name → (attachment id, sysfs, status)."""
        found = {}
        for state in loop.bound_loops():
            info = loop.get_status(state.name)
            if info is not None and (attachment_id := self._own_id(info)) is not None:
                found[state.name] = (attachment_id, state, info)
        return found

    @staticmethod
    def _problem(attachment: Attachment, info: loop.LoopInfo) -> str | None:
        """Why a recorded device cannot be kept, or None while it still reads what was attached."""
        if attachment.view == "translated":
            return _view_problem(ServedView(attachment.view_pid, attachment.view_mount), info)
        return None if os.path.exists(attachment.loop_file) else f"its file {attachment.loop_file} is gone"

    def _clear_quietly(self, name: str, result: Recovery, why: str) -> None:
        try:
            loop.clear(name)
            result.cleaned.append(f"{name}: {why}; detached")
        except DeviceError as e:
            result.cleaned.append(f"{name}: {why}; could not detach: {e}")

    def _unmount_orphan_views(self, result: Recovery) -> None:
        live = {a.view_mount for a in self._attachments.values() if a.view == "translated"}
        try:
            names = os.listdir(self.views_dir)
        except FileNotFoundError:
            return
        for entry in names:
            mountpoint = os.path.join(self.views_dir, entry.removesuffix(".log"))
            if mountpoint in live:
                continue
            if unmount(mountpoint, lazy=True):
                result.cleaned.append(f"{mountpoint}: view left behind; unmounted")
            stop_view(ServedView(0, mountpoint))
