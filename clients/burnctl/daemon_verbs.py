"""Verbs that talk to burnd. Each is ``async def verb(args, out, daemon) -> Exit``.

burnctl never burns: it opens files with the user's own permissions and passes the fds; the
daemon does the work and reports through the Job object this module follows."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from burnctl.client import DRIVE, JOB, MANAGER, ROOT, Daemon, options
from burnctl.exitcodes import CliError, Exit, exit_for
from burnctl.follow import Follower
from burnctl.output import Output
from burnctl.views import (TERMINAL_STATES, WRITE_ONCE_MEDIA, document, drive_details, drive_line, drive_view,
                           job_line, job_path, job_view, object_id, result_line)

RECORDABLE = re.compile(r"-R\b|RW|-RE|RAM|\+R\b")


# --- drives -----------------------------------------------------------------------------------


async def all_drives(daemon: Daemon) -> list[dict[str, Any]]:
    objects = await daemon.objects()
    return [drive_view(path, ifaces[DRIVE]) for path, ifaces in sorted(objects.items()) if DRIVE in ifaces]


async def resolve_drive(daemon: Daemon, spec: str | None) -> str:
    """A drive's object path from /dev/srN, /dev/sgN, a by-id link, an Id or a virtual burner's
    name; with no spec, the only drive that can write."""
    if spec:
        return await daemon.call(ROOT, MANAGER, "GetDriveByDevice", "sa{sv}", [spec, {}])
    drives = await all_drives(daemon)
    writers = [d for d in drives if any(RECORDABLE.search(p) for p in d.get("profiles", []))] or drives
    if len(writers) == 1:
        return writers[0]["object_path"]
    if not writers:
        raise CliError("burnd knows no drive; connect one, or create a virtual burner with "
                       "`burnctl virtual create bd-r`", Exit.NO_DRIVE)
    names = ", ".join(d["id"] for d in writers)
    raise CliError(f"several drives can write ({names}); name one", Exit.USAGE)


async def drive_info(daemon: Daemon, path: str) -> dict[str, Any]:
    return drive_view(path, await daemon.get_all(path, DRIVE))


async def drives(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    found = await all_drives(daemon)
    if args.virtual_only:
        found = [d for d in found if d.get("virtual")]
    if args.ids:
        out.listing(document("drives", drives=found), found, lambda d: d["id"], None)
    else:
        out.listing(document("drives", drives=found), found, drive_line, "no drives")
    return Exit.OK


async def info(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    drive = await drive_info(daemon, await resolve_drive(daemon, args.drive))
    if out.json:
        out.document(document("drive", drive=drive))
    else:
        for line in drive_details(drive):
            out.text(line)
    return Exit.OK


async def eject(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    path = await resolve_drive(daemon, args.drive)
    await daemon.call(path, DRIVE, "Eject", "a{sv}", [{}])
    out.info(f"ejected {object_id(path)}")
    return Exit.OK


async def load(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    path = await resolve_drive(daemon, args.drive)
    await daemon.call(path, DRIVE, "Load", "a{sv}", [options(media=args.media)])
    out.info(f"loaded {object_id(path)}")
    return Exit.OK


# --- jobs -------------------------------------------------------------------------------------


def job_exit(job: dict[str, Any]) -> Exit:
    state = job.get("state")
    if state == "succeeded":
        return Exit.OK
    if state == "cancelled":
        return Exit.CANCELLED
    if job.get("error_name"):
        return exit_for(job["error_name"])
    return Exit.WRITE_FAILED if state == "interrupted" else Exit.FAILED


async def run_job(daemon: Daemon, path: str, out: Output, args: argparse.Namespace, *,
                  write_once: bool = False, report: bool = True) -> dict[str, Any]:
    """Detach (print the id) or follow the job to its end; the final job view."""
    if getattr(args, "detach", False):
        view = job_view(path, await daemon.get_all(path, JOB))
        if out.json:
            out.document(document("job", job=view))
        else:
            out.text(view["id"])
        return view
    out.info(f"job {object_id(path)} started")
    view = await Follower(daemon, path, out, write_once=write_once).run()
    if report:
        show_result(view, out)
    return view


def show_result(view: dict[str, Any], out: Output) -> None:
    if out.json:
        out.document(document("job", job=view))
    elif view.get("state") == "succeeded":
        out.text(result_line(view))
    else:
        out.error(result_line(view))


def outcome(view: dict[str, Any], args: argparse.Namespace) -> Exit:
    return Exit.OK if getattr(args, "detach", False) else job_exit(view)


async def jobs(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    objects = await daemon.objects()
    found = [job_view(p, ifaces[JOB]) for p, ifaces in objects.items() if JOB in ifaces]
    found.sort(key=lambda j: int(j["id"]) if j["id"].isdigit() else 0)
    if args.active:
        found = [j for j in found if j.get("state") not in TERMINAL_STATES]
    out.listing(document("jobs", jobs=found), found, job_line, "no jobs")
    return Exit.OK


async def watch(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    follower = Follower(daemon, job_path(args.job), out, cancel_on_interrupt=False)
    view = await follower.run()
    if follower.stopped:
        return Exit.OK
    show_result(view, out)
    return job_exit(view)


async def cancel(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    path = job_path(args.job)
    await daemon.call(path, JOB, "Cancel", "a{sv}", [{}])
    out.info(f"cancel requested for job {object_id(path)}")
    return Exit.OK


# --- burning ----------------------------------------------------------------------------------


def volume_id_for(directory: str) -> str:
    name = re.sub(r"[^A-Z0-9_]", "_", os.path.basename(os.path.abspath(directory)).upper())
    return name[:32] or "CDROM"


@contextlib.contextmanager
def image_fd(path: str, out: Output, tmpdir: str | None) -> Iterator[int]:
    """An fd to burn from, opened with the caller's permissions. A directory is mastered into an
    unlinked temporary ISO first (the daemon reads images with pread, so it needs a file, not a
    pipe)."""
    if not os.path.isdir(path):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise CliError(f"{path}: cannot open the image ({exc.strerror})", Exit.BAD_IMAGE) from exc
        try:
            yield fd
        finally:
            os.close(fd)
        return
    from burnd.image.iso import create

    workdir = tempfile.mkdtemp(prefix="burnctl-", dir=tmpdir)
    try:
        target = os.path.join(workdir, "image.iso")
        out.info(f"mastering {path} into an ISO image")
        report = create(path, target, volume_id=volume_id_for(path))
        for skipped, reason in report.skipped:
            out.info(f"left out {skipped}: {reason}")
        fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        yield fd
    finally:
        os.close(fd)


def scratch_fd(tmpdir: str | None) -> int:
    """An anonymous file (no name, gone on close) for a disc image read back from a drive."""
    directory = tmpdir or tempfile.gettempdir()
    try:
        return os.open(directory, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise CliError(f"{directory}: cannot create a temporary file ({exc.strerror}); pass --tmpdir") from exc


async def submit(daemon: Daemon, drive: str, member: str, fd: int | None, opts: dict) -> str:
    if fd is None:
        return await daemon.call(drive, DRIVE, member, "a{sv}", [opts])
    return await daemon.call(drive, DRIVE, member, "ha{sv}", [0, opts], [fd])


async def write(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    drive = await resolve_drive(daemon, args.drive)
    media = await daemon.get(drive, DRIVE, "MediaType")
    opts = options(verify=args.verify, copies=args.copies, speed=args.speed, simulate=args.simulate or None,
                   multisession=args.multisession or None, finalize=args.finalize,
                   blank_first=args.blank or None, eject=args.eject or None, expected_sha256=args.sha256)
    with image_fd(args.image, out, args.tmpdir) as fd:
        path = await submit(daemon, drive, "Write", fd, opts)
    return outcome(await run_job(daemon, path, out, args, write_once=media in WRITE_ONCE_MEDIA), args)


async def blank(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    drive = await resolve_drive(daemon, args.drive)
    path = await submit(daemon, drive, "Blank", None, options(full=args.full or None))
    return outcome(await run_job(daemon, path, out, args), args)


async def format_(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    drive = await resolve_drive(daemon, args.drive)
    opts = options(force=args.force or None, spare_areas=args.spare_areas,
                   restricted_overwrite=args.restricted_overwrite or None)
    path = await submit(daemon, drive, "Format", None, opts)
    return outcome(await run_job(daemon, path, out, args), args)


async def rip(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    drive = await resolve_drive(daemon, args.drive)
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | (os.O_TRUNC if args.force else os.O_EXCL)
    try:
        fd = os.open(args.out, flags, 0o644)
    except FileExistsError as exc:
        raise CliError(f"{args.out} exists; pass --force to overwrite it", Exit.USAGE) from exc
    except OSError as exc:
        raise CliError(f"{args.out}: cannot create the output file ({exc.strerror})") from exc
    try:
        path = await submit(daemon, drive, "Rip", fd, options(size=args.size))
    finally:
        os.close(fd)
    return outcome(await run_job(daemon, path, out, args), args)


def expected_digests(args: argparse.Namespace) -> dict[str, str]:
    """digest → the name it is listed under, from --sha256 or a SHA256SUMS file."""
    if args.sha256:
        return {args.sha256.lower(): "--sha256"}
    from burnd.image.checksum import parse_sums

    try:
        with open(args.sums, encoding="utf-8", errors="replace") as handle:
            lines = parse_sums(handle.read(4 << 20))
    except OSError as exc:
        raise CliError(f"{args.sums}: cannot read the checksum list ({exc.strerror})", Exit.USAGE) from exc
    found = {line.digest: line.name for line in lines
             if line.algorithm == "sha256" and (args.name is None or os.path.basename(line.name) == args.name)}
    if not found:
        raise CliError(f"{args.sums} lists no SHA-256 digest" + (f" for {args.name}" if args.name else ""), Exit.USAGE)
    return found


async def verify(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    drive = await resolve_drive(daemon, args.drive)
    if args.image:
        with image_fd(args.image, out, args.tmpdir) as fd:
            path = await submit(daemon, drive, "Verify", fd, {})
        return outcome(await run_job(daemon, path, out, args), args)
    wanted = expected_digests(args)
    fd = scratch_fd(args.tmpdir)
    try:
        path = await submit(daemon, drive, "Rip", fd, options(size=args.size))
        view = await run_job(daemon, path, out, args, report=False)
        if view.get("state") != "succeeded":
            show_result(view, out)
            return job_exit(view)
        actual = view.get("result", {}).get("sha256") or digest_of(fd)
    finally:
        os.close(fd)
    matched = wanted.get(actual)
    if out.json:
        out.document(document("verify", drive=object_id(drive), sha256=actual, matched=matched,
                              ok=matched is not None))
    elif matched:
        out.text(f"verify succeeded on {object_id(drive)}: sha256 {actual} matches {matched}")
    else:
        out.error(f"verify failed on {object_id(drive)}: the disc's sha256 {actual} is not the expected one")
    return Exit.OK if matched else Exit.VERIFY_MISMATCH


def digest_of(fd: int) -> str:
    hasher = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, 4 << 20, offset):
        hasher.update(chunk)
        offset += len(chunk)
    return hasher.hexdigest()


async def copy(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    source = await resolve_drive(daemon, args.source)
    target = await resolve_drive(daemon, args.target)
    media = await daemon.get(target, DRIVE, "MediaType")
    fd = scratch_fd(args.tmpdir)
    try:
        ripped = await run_job(daemon, await submit(daemon, source, "Rip", fd, {}), out, args, report=False)
        if ripped.get("state") != "succeeded":
            show_result(ripped, out)
            return job_exit(ripped)
        out.info(f"read {object_id(source)}; writing to {object_id(target)}")
        path = await submit(daemon, target, "Write", fd, options(verify=args.verify, blank_first=args.blank or None))
    finally:
        os.close(fd)
    return job_exit(await run_job(daemon, path, out, args, write_once=media in WRITE_ONCE_MEDIA))


# --- virtual burners --------------------------------------------------------------------------


async def virtual_create(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    opts = options(size=args.size, name=args.name, group=args.group, autoload=args.autoload or None,
                   faults=args.faults)
    path = await daemon.call(ROOT, MANAGER, "CreateVirtualBurner", "sa{sv}", [args.media, opts])
    out.text(object_id(path))
    return Exit.OK


async def virtual_remove(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    path = await resolve_drive(daemon, args.drive)
    if not await daemon.get(path, DRIVE, "Virtual"):
        raise CliError(f"{args.drive} is a real drive; only virtual burners can be removed", Exit.USAGE)
    await daemon.call(ROOT, MANAGER, "RemoveVirtualBurner", "oa{sv}", [path, {}])
    out.info(f"removed {object_id(path)}")
    return Exit.OK


async def virtual_list(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    args.virtual_only = True
    return await drives(args, out, daemon)

