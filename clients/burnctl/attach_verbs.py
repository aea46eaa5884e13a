"""attach, detach, attached: disc images as loop devices through burnd (VirtualDrive objects).

burnctl opens the image with the user's own rights and passes the fd, exactly as for a write,
so burnd never reads a file for someone who could not read it."""

from __future__ import annotations

import argparse
import os
from typing import Any

from burnctl.client import MANAGER, ROOT, VIRTUAL_DRIVE, Daemon, options
from burnctl.exitcodes import CliError, Exit
from burnctl.output import Output
from burnctl.views import document, virtual_drive_line, virtual_drive_view


async def attached_drives(daemon: Daemon) -> list[dict[str, Any]]:
    objects = await daemon.objects()
    found = [virtual_drive_view(path, ifaces[VIRTUAL_DRIVE]) for path, ifaces in objects.items()
             if VIRTUAL_DRIVE in ifaces]
    return sorted(found, key=lambda d: int(d["id"].removeprefix("loop")))


def matching(drives: list[dict[str, Any]], spec: str) -> list[dict[str, Any]]:
    """The attachments ``spec`` names: a loop device (/dev/loopN, loopN, a link to it), the
    image file they were attached from (every attachment of it), or a folder — say a USB
    stick's mount point, which cannot be unmounted while images on it are attached."""
    device = os.path.realpath(spec if "/" in spec else "/dev/" + spec)
    image = os.path.realpath(spec)
    folder = image.rstrip("/") + "/" if os.path.isdir(spec) else None

    def named(drive: dict[str, Any]) -> bool:
        backing = os.path.realpath(drive["backing_file"])
        return drive["device"] == device or backing == image or (folder is not None and backing.startswith(folder))

    return [d for d in drives if named(d)]


async def attach(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    try:
        fd = os.open(args.image, (os.O_RDWR if args.rw else os.O_RDONLY) | os.O_CLOEXEC)
    except OSError as exc:
        raise CliError(f"cannot open {args.image}: {exc.strerror}", Exit.BAD_IMAGE) from None
    try:
        opts = options(read_only=not args.rw, session=args.session, track=args.track,
                       partscan=args.partscan or None)
        path = await daemon.call(ROOT, MANAGER, "AttachImage", "ha{sv}", [0, opts], [fd])
    finally:
        os.close(fd)
    drive = virtual_drive_view(path, await daemon.get_all(path, VIRTUAL_DRIVE))
    if out.json:
        out.document(document("virtual-drive", virtual_drive=drive))
    else:
        out.text(drive["device"])
        if drive["note"]:
            out.info(drive["note"])
    return Exit.OK


async def detach(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    found = matching(await attached_drives(daemon), args.target)
    if not found:
        raise CliError(f"{args.target} is not a device burnd attached, nor an image attached through burnd; "
                       "see `burnctl attached` (burnd never detaches loop devices it did not set up: use "
                       "losetup -d for those)", Exit.NO_DRIVE)
    for drive in found:
        await daemon.call(drive["object_path"], VIRTUAL_DRIVE, "Detach", "a{sv}", [{}])
        out.info(f"detached {drive['device']} ({drive['backing_file']})")
    return Exit.OK


async def attached(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    found = await attached_drives(daemon)
    out.listing(document("virtual-drives", virtual_drives=found), found, virtual_drive_line,
                "no images attached")
    return Exit.OK
