"""Ctrl-C while following a job: what is asked before a cancel, and what is sent."""

from __future__ import annotations

import asyncio
import io
import sys

import pytest

from burnctl.follow import Follower
from burnctl.output import Output


class RecordingDaemon:
    """Stands in for the connection: records the calls a Follower makes on Ctrl-C."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def call(self, path: str, interface: str, member: str, *args: object) -> None:
        self.calls.append((path, member))


def follower(phase: str, write_once: bool, cancel: bool = True) -> tuple[Follower, RecordingDaemon, io.StringIO]:
    daemon, err = RecordingDaemon(), io.StringIO()
    f = Follower(daemon, "/org/burnd/Burnd1/jobs/7", Output(stdout=io.StringIO(), stderr=err),  # type: ignore[arg-type]
                 write_once=write_once, cancel_on_interrupt=cancel)
    f.props["Phase"] = phase
    return f, daemon, err


@pytest.fixture(autouse=True)
def no_terminal_on_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO())


def test_rewritable_medium_cancels_at_once():
    f, daemon, err = follower("writing", write_once=False)
    asyncio.run(f._interrupt())
    assert daemon.calls == [("/org/burnd/Burnd1/jobs/7", "Cancel")] and "cancelling" in err.getvalue()


def test_write_once_disc_being_written_wants_a_second_ctrl_c_without_a_terminal():
    f, daemon, err = follower("writing", write_once=True)
    asyncio.run(f._interrupt())
    assert daemon.calls == [] and "press Ctrl-C again" in err.getvalue()
    asyncio.run(f._interrupt())
    assert daemon.calls == [("/org/burnd/Burnd1/jobs/7", "Cancel")]


def test_write_once_disc_not_yet_written_cancels_at_once():
    f, daemon, _ = follower("waiting for blank medium", write_once=True)
    asyncio.run(f._interrupt())
    assert [member for _, member in daemon.calls] == ["Cancel"]


def test_watch_only_stops_watching():
    f, daemon, err = follower("writing", write_once=False, cancel=False)

    async def interrupt() -> None:
        f._done = asyncio.get_running_loop().create_future()
        await f._interrupt()
        assert f._done.done()

    asyncio.run(interrupt())
    assert daemon.calls == [] and f.stopped and "keeps running" in err.getvalue()


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_color_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert Output(stdout=Tty()).color and not Output(stdout=io.StringIO()).color
    monkeypatch.setenv("NO_COLOR", "")
    assert not Output(stdout=Tty()).color


def test_json_and_quiet_show_no_progress():
    assert Output(json=True, stdout=Tty()).progress() is None
    assert Output(quiet=True, stdout=Tty()).progress() is None
    writer = Output(stdout=Tty()).progress()
    assert writer is not None and writer.tty
