"""Following a job to its end: PropertiesChanged drives the progress display, Completed ends
it, and Ctrl-C asks the daemon to cancel (after asking the user when a cancel would ruin a
write-once disc). A robot-write batch also tells each disc as it lands and each pause."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

from dbus_fast import Message, MessageType

from burnctl.batch import ROBOT_WRITE, BatchNarrator
from burnctl.client import JOB, NAME, PROPS, Daemon, DaemonError, plain
from burnctl.exitcodes import Exit
from burnctl.output import Output
from burnctl.progress import Snapshot
from burnctl.views import TERMINAL_STATES, job_view, object_id

DAMAGING_PHASES = frozenset({"writing", "closing"})


class Follower:
    """One job being watched. ``cancel_on_interrupt`` False means Ctrl-C just stops watching."""

    def __init__(self, daemon: Daemon, path: str, out: Output, *, write_once: bool = False,
                 cancel_on_interrupt: bool = True) -> None:
        self.daemon = daemon
        self.path = path
        self.out = out
        self.write_once = write_once
        self.cancel_on_interrupt = cancel_on_interrupt
        self.props: dict[str, Any] = {}
        self.writer = out.progress()
        self._done: asyncio.Future[None] | None = None
        self._warned = False
        self._asking = False  # no redraws while a question waits for its answer
        self._stopped = False
        self._lost = False  # burnd left the bus
        self._narrator: BatchNarrator | None = None

    async def run(self) -> dict[str, Any]:
        """Wait for the job's end and return its final view (or its current one if the user stopped
        watching)."""
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        loop.add_signal_handler(signal.SIGINT, lambda: asyncio.ensure_future(self._interrupt()))
        self.daemon.bus.add_message_handler(self._on_message)
        try:
            await self.daemon.add_match(f"type='signal',sender='org.burnd.Burnd1',path='{self.path}'")
            await self.daemon.add_match("type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',"
                                        "arg0='org.burnd.Burnd1'")
            self.props.update(await self.daemon.get_all(self.path, JOB))
            if self.props.get("Kind") == ROBOT_WRITE:
                self._narrator = BatchNarrator()
            self._draw()
            if self.props.get("State") in TERMINAL_STATES:
                self._finish()
            await self._done
            if self._lost:
                raise DaemonError("org.freedesktop.DBus.Error.Disconnected",
                                  f"burnd stopped while job {object_id(self.path)} was running; once it is back, "
                                  "`burnctl jobs` shows what became of the job", Exit.UNREACHABLE)
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            self.daemon.bus.remove_message_handler(self._on_message)
            if self.writer:
                self.writer.finish()
        if not self._stopped:
            self.props.update(await self.daemon.get_all(self.path, JOB))
            self._narrate()  # discs that landed after the last signal
        return job_view(self.path, self.props)

    @property
    def stopped(self) -> bool:
        """True when the user left the job running (watch + Ctrl-C)."""
        return self._stopped

    def _on_message(self, msg: Message) -> None:
        if msg.message_type is not MessageType.SIGNAL:
            return
        if msg.member == "NameOwnerChanged" and msg.body[0] == NAME and not msg.body[2]:
            self._lost = True
            self._finish()
            return
        if msg.path != self.path:
            return
        if self._done is not None and self._done.done():  # late signals must not redraw an older state
            return
        if msg.interface == PROPS and msg.member == "PropertiesChanged" and msg.body[0] == JOB:
            self.props.update(plain(msg.body[1]))
            self._draw()
        elif msg.interface == JOB and msg.member == "Completed":
            self._finish()

    def _draw(self) -> None:
        self._narrate()
        if self.writer and not self._asking:
            self.writer.update(Snapshot.of(self.props))

    def _narrate(self) -> None:
        if self._narrator is None:
            return
        for note in self._narrator.notes(self.props):
            if note.attention:
                self._say(note.text)
            elif not self.out.json:
                if self.writer:
                    self.writer.finish()
                self.out.text(note.text)

    def _finish(self) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    def _say(self, line: str) -> None:
        """A note on stderr (the bar, on stdout, is cleared first and redrawn by the next update)."""
        if self.writer:
            self.writer.finish()
        self.out.stderr.write(line + "\n")
        self.out.stderr.flush()

    async def _interrupt(self) -> None:
        if not self.cancel_on_interrupt:
            self._stopped = True
            self._say(f"stopped watching job {object_id(self.path)}; it keeps running")
            self._finish()
            return
        if self.write_once and self.props.get("Phase") in DAMAGING_PHASES and not await self._confirmed():
            return
        self._say("cancelling…")
        try:
            await self.daemon.call(self.path, JOB, "Cancel", "a{sv}", [{}])
        except DaemonError as exc:
            self._say(f"cannot cancel: {exc.message}")

    async def _confirmed(self) -> bool:
        """Ask on a terminal; without one, a second Ctrl-C within the run is the confirmation."""
        warning = "the disc is write-once: cancelling now leaves it unusable"
        if sys.stdin.isatty():
            if self.writer:
                self.writer.finish()
            self._asking = True
            try:
                answer = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: input(f"{warning}. Cancel anyway? [y/N] "))
            except EOFError:
                answer = ""
            finally:
                self._asking = False
            return answer.strip().lower() in ("y", "yes")
        if self._warned:
            return True
        self._warned = True
        self._say(f"{warning}; press Ctrl-C again to cancel")
        return False
