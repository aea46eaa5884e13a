"""``burnctl``: parse, run one verb, turn every failure into one line and a documented exit code."""

from __future__ import annotations

import argparse
import asyncio
import sys

from burnd.errors import BurndError

from burnctl.cli import build_parser
from burnctl.client import Daemon, bus_choice
from burnctl.exitcodes import CliError, Exit, exit_for
from burnctl.output import Output


def output_for(args: argparse.Namespace) -> Output:
    return Output(json=getattr(args, "json", False), quiet=getattr(args, "quiet", False),
                  verbose=getattr(args, "verbose", False))


async def run_daemon_verb(args: argparse.Namespace, out: Output) -> Exit:
    daemon = await Daemon.connect(bus_choice(getattr(args, "bus", None)))
    async with daemon:
        return await args.handler(args, out, daemon)


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = output_for(args)
    try:
        if args.local:
            return int(args.handler(args, out))
        return int(asyncio.run(run_daemon_verb(args, out)))
    except CliError as exc:
        out.error(exc.message)
        return int(exc.code)
    except BurndError as exc:
        out.error(str(exc))
        return int(exit_for(exc.dbus_name))
    except BrokenPipeError:
        return int(Exit.OK)
    except OSError as exc:
        out.error(f"{exc.filename or 'burnctl'}: {exc.strerror or exc}")
        return int(Exit.FAILED)
    except KeyboardInterrupt:
        out.error("interrupted")
        return int(Exit.CANCELLED)


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
