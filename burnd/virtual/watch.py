"""The auto-attach watcher: kernel uevents, mounts appearing and vanishing, watched folders.

Three event sources, one thread, no polling loop:

* block-device uevents from the kernel's netlink socket (pyudev, ``source='kernel'``), so it
  works without udevd. Kernel events carry no ``ID_FS_*``: those come from udev's database,
  else from ``blkid -p`` (no udevd);
* ``/proc/self/mountinfo``, which the kernel flags with POLLPRI whenever the mount table
  changes (mount points appearing/vanishing). A new mount of a device no uevent armed a rule
  for is matched again then: udev may not have recorded it yet when its uevent came;
* inotify on every rule's folder.

The thread waits in ``poll()`` on all of them plus a wake-up pipe for ``stop()``. Actions call
``VirtualDrives.attach/detach`` right in this thread (they block briefly); each is wrapped so a
bad image fails alone, is logged and reported through ``on_event``, and the next rule still
runs. ``on_event`` is called from the watcher thread: the daemon forwards it to its loop with
``call_soon_threadsafe`` (log line + D-Bus signal).
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from burnd import loop
from burnd.errors import BurndError
from burnd.virtual import inotify
from burnd.virtual.attach import VirtualDrives
from burnd.virtual.autoattach import (
    Rule,
    device_matches,
    folder_matches,
    images_under,
    mount_matches,
    origin,
    origin_parts,
)
from burnd.virtual.mounts import parse as parse_mounts

log = logging.getLogger("burnd.virtual.auto")

MOUNTINFO = "/proc/self/mountinfo"


@dataclass(frozen=True, slots=True)
class AutoEvent:
    """One automatic action: ``action`` is ``attached``, ``detached`` or ``failed``."""

    rule: str
    action: str
    image: str
    device: str
    message: str


def parse_mountinfo(text: str) -> dict[str, str]:
    """Mount point → ``major:minor`` of what is mounted there (the topmost mount)."""
    return {m.mountpoint: m.device for m in parse_mounts(text)}


def blkid_probe(devnode: str) -> dict[str, str]:
    """ID_FS_* properties by low-level probing, as udev's builtin would set them."""
    try:
        done = subprocess.run(["blkid", "-p", "-o", "udev", devnode], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def udev_properties(number: str) -> dict[str, str]:
    """What udev recorded about block device ``major:minor`` (its rules run blkid when a device
    appears), read from udev's database: burnd then need not open the device, which the systemd
    unit's DevicePolicy forbids for disks. Without udevd only the kernel's own properties."""
    import pyudev

    try:
        major, minor = (int(n) for n in number.split(":"))
        device = pyudev.Devices.from_device_number(pyudev.Context(), "block", os.makedev(major, minor))
    except (ValueError, pyudev.DeviceNotFoundError):
        return {}
    return dict(device.properties)


def _block_name(number: str) -> str:
    """The kernel name (``sdb1``) of block device ``major:minor``; empty for anything else, such
    as the anonymous devices of tmpfs, proc or FUSE mounts."""
    try:
        return os.path.basename(os.readlink(f"/sys/dev/block/{number}"))
    except OSError:
        return ""


def _size(name: str) -> int:
    try:
        with open(f"/sys/class/block/{name}/size") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def _burnd_loop(name: str) -> bool:
    """A loop device some burnd attached: its own images must not trigger rules."""
    if not name.startswith("loop"):
        return False
    try:
        info = loop.get_status(name)
    except OSError:
        return False
    return info is not None and info.tag is not None


class AutoAttacher:
    """Applies ``rules`` to what happens on the machine, attaching through ``drives``."""

    def __init__(self, drives: VirtualDrives, rules: Iterable[Rule], *,
                 on_event: Callable[[AutoEvent], None] | None = None,
                 probe: Callable[[str], dict[str, str]] = blkid_probe) -> None:
        self.drives = drives
        self.rules = tuple(rules)
        self._on_event = on_event
        self._probe = probe
        self._armed: dict[str, set[str]] = {}  # major:minor → glob rules whose match holds
        self._mounts: dict[str, str] = {}
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1

    # --- actions ------------------------------------------------------------------------------

    def _emit(self, event: AutoEvent) -> None:
        (log.warning if event.action == "failed" else log.info)(
            "auto-attach rule %s: %s %s %s %s", event.rule, event.action, event.image, event.device, event.message)
        if self._on_event is not None:
            self._on_event(event)

    def _attach(self, rule: Rule, image: str, where: str) -> None:
        if any(a.backing_file == image and a.origin == where for a in self.drives.list()):
            return
        try:
            attached = self.drives.attach(image, session=rule.session, track=rule.track, origin=where)
        except (BurndError, OSError) as e:
            self._emit(AutoEvent(rule.name, "failed", image, "", str(e)))
            return
        self._emit(AutoEvent(rule.name, "attached", image, attached.device_path, attached.note))

    def _detach_where(self, test: Callable[[Mapping[str, str]], bool], why: str) -> None:
        for attachment in self.drives.list():
            parts = origin_parts(attachment.origin)
            if not attachment.auto_attached or not test(parts):
                continue
            try:
                self.drives.detach(attachment.device)
            except (BurndError, OSError) as e:
                self._emit(AutoEvent(parts.get("rule", ""), "failed", attachment.backing_file, attachment.device_path, str(e)))
                continue
            self._emit(AutoEvent(parts.get("rule", ""), "detached", attachment.backing_file, attachment.device_path, why))

    def _attach_glob(self, rule: Rule, root: str, **where: str) -> None:
        for image in images_under(root, rule.glob):
            self._attach(rule, image, origin(rule, **where))

    # --- event handlers (the thread calls these; tests may call them directly) ----------------

    def handle_device(self, action: str, properties: Mapping[str, str]) -> None:
        """A block-device uevent: (dis)arm glob rules, attach/detach named images."""
        name = properties.get("DEVNAME", "").removeprefix("/dev/")
        number = f"{properties.get('MAJOR', '')}:{properties.get('MINOR', '')}"
        if not name or _burnd_loop(name):
            return
        present = action != "remove" and _size(name) > 0
        props = self._properties(name, number, properties) if present else dict(properties)
        for rule in self.rules:
            if not rule.match:
                continue
            if present and device_matches(rule, props):
                self._arm(rule, number, name)
            else:
                self._armed.get(number, set()).discard(rule.name)
                self._detach_where(lambda p, r=rule: p.get("rule") == r.name and p.get("device") == number,
                                   f"/dev/{name} went away or no longer matches")

    def _properties(self, name: str, number: str, given: Mapping[str, str]) -> dict[str, str]:
        """A device's properties to match rules on: the event's, else udev's record of the
        device, else a probe of the device itself (without udevd, as in the tests)."""
        props = dict(given)
        if "ID_FS_TYPE" not in props:
            props = {**udev_properties(number), **props}
        if "ID_FS_TYPE" not in props:
            props.update(self._probe(f"/dev/{name}"))
        return props

    def _arm_mounted(self, number: str) -> None:
        """Arm the glob rules a newly mounted device matches if its uevent armed none: that
        uevent may have come before udev recorded the device's file system, or burnd may not
        have been allowed to probe the device (the unit's DevicePolicy); its mount is the next
        chance to look."""
        globbing = [rule for rule in self.rules if rule.match and rule.glob]
        name = _block_name(number)
        if not globbing or not name or self._armed.get(number) or _burnd_loop(name):
            return
        props = self._properties(name, number, {})
        for rule in globbing:
            if device_matches(rule, props):
                self._armed.setdefault(number, set()).add(rule.name)

    def _arm(self, rule: Rule, number: str, name: str) -> None:
        if rule.image:
            self._attach(rule, rule.image, origin(rule, device=number))
            return
        self._armed.setdefault(number, set()).add(rule.name)
        for mountpoint, mounted in self._mounts.items():
            if mounted == number:
                self._attach_glob(rule, mountpoint, device=number, mount=mountpoint)

    def handle_mounts(self, mounts: Mapping[str, str]) -> None:
        """The mount table changed: attach from new mounts, detach what came from gone ones.

        A mount is its mount point *and* device: when one stick replaces another at the same
        path between two reads of the table (changes coalesce while this thread is busy), the
        old stick's images go and the new one's come."""
        old, self._mounts = self._mounts, dict(mounts)
        for mountpoint in sorted(m for m, number in old.items() if mounts.get(m) != number):
            self._detach_where(lambda p, m=mountpoint, n=old[mountpoint]: p.get("mount") == m and p.get("device") == n,
                               f"{mountpoint} was unmounted")
        own = self.drives.state_dir.rstrip("/") + "/"
        for mountpoint in sorted(m for m, number in mounts.items() if old.get(m) != number):
            if mountpoint.startswith(own):
                continue  # burnd's own translated views
            number = mounts[mountpoint]
            self._arm_mounted(number)
            for rule in self.rules:
                if rule.name in self._armed.get(number, ()) or mount_matches(rule, mountpoint):
                    self._attach_glob(rule, mountpoint, device=number, mount=mountpoint)

    def handle_file(self, path: str, present: bool) -> None:
        """A file appeared in or vanished from a watched folder."""
        if not present:
            self._detach_where(lambda p: p.get("file") == path, f"{path} was removed")
            return
        for rule in self.rules:
            if folder_matches(rule, path):
                self._attach(rule, path, origin(rule, folder=rule.folder, file=path))

    def _scan_folders(self) -> None:
        for rule in self.rules:
            if rule.folder:
                for image in images_under(rule.folder, rule.glob):
                    self._attach(rule, image, origin(rule, folder=rule.folder, file=image))

    def _reconcile(self, devices: set[str]) -> None:
        """After the first look around: drop automatic attachments whose source is gone
        (they were made before a restart)."""
        self._detach_where(lambda p: "file" in p and not os.path.exists(p["file"]), "its file is gone")
        self._detach_where(lambda p: "mount" in p and self._mounts.get(p["mount"]) != p.get("device"), "its mount is gone")
        self._detach_where(lambda p: "device" in p and p["device"] not in devices, "its device is gone")

    # --- the thread ---------------------------------------------------------------------------

    def _look_around(self, context, notify: inotify.Inotify, mountinfo) -> None:
        """Watch the rules' folders and apply the rules to what is already there."""
        for rule in self.rules:
            if rule.folder:
                try:
                    notify.add(rule.folder)
                except OSError as e:
                    self._emit(AutoEvent(rule.name, "failed", rule.folder, "", f"cannot watch the folder: {e}"))
        self.handle_mounts(parse_mountinfo(mountinfo.read()))
        devices = set()
        for device in context.list_devices(subsystem="block"):
            properties = dict(device.properties)
            devices.add(f"{properties.get('MAJOR')}:{properties.get('MINOR')}")
            self.handle_device("add", properties)
        self._scan_folders()
        self._reconcile(devices)

    def start(self) -> None:
        """Open the event sources, apply the rules to what is already there, then watch."""
        import pyudev

        context = pyudev.Context()
        monitor = pyudev.Monitor.from_netlink(context, source="kernel")
        monitor.filter_by("block")
        monitor.start()
        notify = inotify.Inotify()
        mountinfo = open(MOUNTINFO)  # noqa: SIM115 - owned by the watcher thread, closed when it ends
        try:
            self._look_around(context, notify, mountinfo)
        except BaseException:
            notify.close()
            mountinfo.close()
            raise
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC)
        self._thread = threading.Thread(target=self._run, args=(monitor, notify, mountinfo),
                                        name="burnd-autoattach", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        os.write(self._wake_w, b"x")
        self._thread.join()
        os.close(self._wake_w)
        self._thread = None

    def _run(self, monitor, notify: inotify.Inotify, mountinfo) -> None:
        poller = select.poll()
        poller.register(monitor.fileno(), select.POLLIN)
        poller.register(notify.fd, select.POLLIN)
        poller.register(mountinfo.fileno(), select.POLLPRI | select.POLLERR)
        poller.register(self._wake_r, select.POLLIN)
        try:
            while True:
                ready = {fd for fd, _ in poller.poll()}
                if self._wake_r in ready:
                    return
                if monitor.fileno() in ready:
                    for device in iter(lambda: monitor.poll(0), None):
                        self._guarded(self.handle_device, device.action or "change", dict(device.properties))
                if mountinfo.fileno() in ready:
                    mountinfo.seek(0)
                    self._guarded(self.handle_mounts, parse_mountinfo(mountinfo.read()))
                if notify.fd in ready:
                    self._folder_events(notify)
        finally:
            os.close(self._wake_r)
            notify.close()
            mountinfo.close()

    def _folder_events(self, notify: inotify.Inotify) -> None:
        for event in notify.read():
            if event.mask & inotify.IN_Q_OVERFLOW:
                self._guarded(self._scan_folders)
                continue
            if event.mask & inotify.IN_ISDIR or event.wd not in notify.paths:
                continue
            path = os.path.join(notify.paths[event.wd], event.name)
            self._guarded(self.handle_file, path, bool(event.mask & inotify.APPEARED))

    def _guarded(self, handler: Callable[..., None], *args: object) -> None:
        """Run one handler; an unexpected error is logged and the watcher keeps going."""
        try:
            handler(*args)
        except Exception:
            log.exception("auto-attach: handling an event failed")
