"""Verbs for disc robots (``robot list|status|pause|resume|simulate``) and ``write --robot``.

A robot batch is one Job like any other write, so it is followed by the same code; only the
submission differs: Robot.Write instead of Drive.Write, and options that make sense for a
robot's own drives."""

from __future__ import annotations

import argparse
from typing import Any

from burnctl import daemon_verbs as dv
from burnctl.client import MANAGER, ROBOT, ROOT, Daemon, DaemonError, options
from burnctl.exitcodes import CliError, Exit
from burnctl.output import Output
from burnctl.views import document, robot_details, robot_line, robot_view

#: write options that only make sense for one drive the caller names
DRIVE_ONLY = (("DRIVE", "drive"), ("--multisession", "multisession"), ("--blank", "blank"), ("--eject", "eject"))


async def all_robots(daemon: Daemon) -> list[dict[str, Any]]:
    paths = await daemon.get(ROOT, MANAGER, "Robots")
    return [robot_view(path, await daemon.get_all(path, ROBOT)) for path in paths]


async def resolve_robot(daemon: Daemon, name: str) -> str:
    """A robot's object path from its name (or the path itself)."""
    robots = await all_robots(daemon)
    for robot in robots:
        if name in (robot["id"], robot["object_path"]):
            return robot["object_path"]
    if not robots:
        raise CliError(f"burnd drives no disc robot, so none is called {name!r}; add a [[robot]] entry to "
                       "burnd.toml and restart burnd", Exit.NO_DRIVE)
    names = ", ".join(r["id"] for r in robots)
    raise CliError(f"burnd knows no robot called {name!r}; its robots: {names}", Exit.NO_DRIVE)


async def robot_list(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    robots = await all_robots(daemon)
    doc = document("robots", robots=robots)
    if args.names:
        out.listing(doc, robots, lambda r: r["id"], None)
    else:
        out.listing(doc, robots, robot_line, "no robots (configure one with [[robot]] in burnd.toml)")
    return Exit.OK


async def status(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    """The robot's properties and its answer to QueryStatus; a robot that cannot answer is
    still shown (its State and Detail say why) before the error ends the verb."""
    path = await resolve_robot(daemon, args.robot)
    answer: dict[str, Any] | None = None
    failure: DaemonError | None = None
    try:
        answer = await daemon.call(path, ROBOT, "QueryStatus", "a{sv}", [{}])
    except DaemonError as exc:
        if exc.code is not Exit.ROBOT:
            raise
        failure = exc
    robot = robot_view(path, await daemon.get_all(path, ROBOT))
    if out.json:
        out.document(document("robot", robot=robot, status=answer))
    else:
        for line in robot_details(robot, answer):
            out.text(line)
    if failure is not None:
        raise failure
    return Exit.OK


async def tell(daemon: Daemon, name: str, member: str, *words: str) -> None:
    """One Robot method taking ``words`` (strings) and the trailing options."""
    path = await resolve_robot(daemon, name)
    await daemon.call(path, ROBOT, member, "s" * len(words) + "a{sv}", [*words, {}])


async def pause(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    await tell(daemon, args.robot, "Pause")
    out.info(f"{args.robot} loads no more discs; those being burned finish. "
             f"`burnctl robot resume {args.robot}` continues the batch")
    return Exit.OK


async def resume(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    await tell(daemon, args.robot, "Resume")
    out.info(f"{args.robot} resumes its batch")
    return Exit.OK


async def simulate(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    action = " ".join(args.action)
    await tell(daemon, args.robot, "Simulate", action)
    out.info(f"{args.robot}: {action}")
    return Exit.OK


async def write(args: argparse.Namespace, out: Output, daemon: Daemon) -> Exit:
    """``write``: with --robot a batch on the robot's drives, else a write to one drive."""
    if args.robot is None:
        if args.pause_on_empty:
            raise CliError("--pause-on-empty is for a robot's input bin; add --robot NAME", Exit.USAGE)
        return await dv.write(args, out, daemon)
    clashes = [flag for flag, dest in DRIVE_ONLY if getattr(args, dest)]
    if clashes:
        raise CliError(f"--robot burns in the robot's own drives; leave out {', '.join(clashes)}", Exit.USAGE)
    robot = await resolve_robot(daemon, args.robot)
    opts = options(copies=args.copies, verify=args.verify, speed=args.speed, simulate=args.simulate or None,
                   finalize=args.finalize, expected_sha256=args.sha256, pause_on_empty=args.pause_on_empty or None)
    with dv.image_fd(args.image, out, args.tmpdir) as fd:
        path = await daemon.call(robot, ROBOT, "Write", "ha{sv}", [0, opts], [fd])
    return dv.outcome(await dv.run_job(daemon, path, out, args), args)
