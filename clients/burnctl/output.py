"""Where burnctl's words go: JSON documents, human text, progress and errors.

One object decides, from --json/--quiet/--verbose, NO_COLOR and whether stdout is a terminal,
so no verb makes those choices on its own."""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO, TypeVar

from burnctl.progress import ProgressWriter

T = TypeVar("T")


@dataclass
class Output:
    json: bool = False
    quiet: bool = False
    verbose: bool = False
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    @property
    def tty(self) -> bool:
        return self.stdout.isatty()

    @property
    def color(self) -> bool:
        return self.tty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"

    def document(self, doc: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")

    def listing(self, doc: dict[str, Any], items: list[T], line: Callable[[T], str],
                empty: str | None) -> None:
        """A list verb's output: its JSON document, else one line per item, else ``empty``
        (None: print nothing, for output meant for scripts such as ``drives --ids``)."""
        if self.json:
            self.document(doc)
        elif not items:
            if empty is not None:
                self.text(empty)
        else:
            for item in items:
                self.text(line(item))

    def text(self, line: str = "") -> None:
        """Normal output (results, listings): dropped by --quiet."""
        if not self.quiet:
            self.stdout.write(line + "\n")

    def info(self, line: str) -> None:
        """Extra detail: only with --verbose, on stderr so it never mixes into parsable output."""
        if self.verbose:
            self.stderr.write(line + "\n")

    def error(self, line: str) -> None:
        prefix = "\x1b[31mburnctl:\x1b[0m " if self.color and self.stderr.isatty() else "burnctl: "
        self.stderr.write(prefix + line + "\n")

    def progress(self) -> ProgressWriter | None:
        """The progress writer, or None when progress is not shown (--json, --quiet)."""
        if self.json or self.quiet:
            return None
        width = shutil.get_terminal_size((80, 24)).columns if self.tty else 80
        return ProgressWriter(self.stdout, self.tty, self.color, width)
