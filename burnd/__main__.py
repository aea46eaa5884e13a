"""``python -m burnd``: parse the command line, set up logging, run the daemon."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys

from burnd.config import ConfigError, load, parse_virtual_burner_flag
from burnd.daemon import Daemon
from burnd.errors import BurndError
from burnd.robot.virtual import parse_virtual_robot_flag

SYSLOG_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    """``<priority>logger: message`` — journald reads the priority prefix on stderr."""

    def format(self, record: logging.LogRecord) -> str:
        priority = SYSLOG_PRIORITY.get(record.levelno, 6)
        text = f"<{priority}>{record.name}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="burnd", description="Burn discs over D-Bus (org.burnd.Burnd1).")
    parser.add_argument("--bus", help="system, session or a D-Bus address (default: the config's, else system)")
    parser.add_argument("--config", help="TOML configuration file (default /etc/burnd/burnd.toml if present)")
    parser.add_argument("--state-dir", help="where the job queue and virtual discs live (default /var/lib/burnd)")
    parser.add_argument("--virtual-burner", action="append", default=[], metavar="MEDIA[:SIZE]",
                        help="add a virtual burner with a blank MEDIA (bd-r, dvd+rw, cd-rw ...), SIZE in "
                             "2048-byte blocks; repeatable")
    parser.add_argument("--virtual-robot", action="append", default=[], metavar="PROTOCOL[:BAYS[:BLANKS]]",
                        help="add a simulated disc robot (generic, rimage-ras13, aleratec-apls, primera-composer) "
                             "with a virtual burner per bay and BLANKS CD-Rs in its input bin; repeatable")
    parser.add_argument("--debug", action="store_true", help="log every CDB and sense")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JournalFormatter())
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, handlers=[handler])
    try:
        config = load(args.config)
        changes = {k: v for k, v in (("bus", args.bus), ("state_dir", args.state_dir)) if v}
        config = dataclasses.replace(config, **changes)
        burners = tuple(parse_virtual_burner_flag(text) for text in args.virtual_burner)
        robots = tuple(parse_virtual_robot_flag(text, n) for n, text in enumerate(args.virtual_robot))
        asyncio.run(Daemon(config, burners, robots).run())
    except (ConfigError, BurndError) as exc:
        logging.getLogger("burnd").error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
