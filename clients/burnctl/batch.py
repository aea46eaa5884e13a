"""What a robot-write batch says while burnctl follows it: each disc as it lands in a bin, and
when (and why) the batch pauses for the operator.

Pure: the Job's properties go in, the lines not said yet come out; the Follower decides where
they go. A pause is news for the operator (stderr, even with --json or --quiet); a disc is a
result (stdout)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from burnctl.views import disc_line, object_id

ROBOT_WRITE = "robot-write"
PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class Note:
    text: str
    attention: bool
    """True: the operator has to do something (or may stop doing it): stderr."""


def pause_text(robot: str, error_name: str, message: str) -> str:
    """Why the batch waits and the one command that continues it."""
    resume = f"`burnctl robot resume {robot}`"
    if not error_name:
        return f"batch paused{': ' + message if message else ' on request'}; run {resume} to continue"
    short = error_name.rsplit(".", 1)[-1]
    return f"batch paused ({short}): {message or 'the robot needs attention'}; fix it, then run {resume}"


class BatchNarrator:
    """Remembers what it already said, so each disc and each pause is told once."""

    def __init__(self) -> None:
        self._discs = 0
        self._pause: tuple[str, str] | None = None

    def notes(self, props: dict[str, Any]) -> list[Note]:
        discs = props.get("Discs") or []
        told = [Note(disc_line(disc), attention=False) for disc in discs[self._discs:]]
        self._discs = max(self._discs, len(discs))
        pause = (props.get("ErrorName", ""), props.get("ErrorMessage", "")) if props.get("Phase") == PAUSED else None
        if pause != self._pause:
            if pause is not None:
                told.append(Note(pause_text(object_id(props.get("Robot", "")), *pause), attention=True))
            elif props.get("State") == "running":
                told.append(Note("batch resumed", attention=True))
            self._pause = pause
        return told
