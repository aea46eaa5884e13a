"""The progress renderer is pure: a snapshot and a width in, one line out."""

from __future__ import annotations

import io
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from burnctl.progress import FULL, ProgressWriter, Snapshot, eta_text, human_bytes, render_bar, render_line

NOW = 1_000_000.0
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def snap(**kw) -> Snapshot:
    base = dict(kind="write", state="running", phase="writing", progress=0.5, done=50 << 20, total=100 << 20,
                rate=10e6, fifo=0.75)
    return Snapshot(**(base | kw))


def test_bar_shows_phase_percent_rate_eta_and_fifo():
    line = render_bar(snap(), 120, NOW)
    assert line.startswith("writing")
    assert " 50.0%" in line and "50 MiB/100 MiB" in line and "10.0 MB/s" in line
    assert "ETA 0:05" in line  # 50 MiB left at 10 MB/s
    assert "fifo  75%" in line


def test_bar_fill_is_proportional():
    half = render_bar(snap(progress=0.5), 120, NOW)
    full = render_bar(snap(progress=1.0), 120, NOW)
    inner = lambda line: line[line.index("[") + 1:line.index("]")]  # noqa: E731
    assert len(inner(half)) == len(inner(full))
    assert inner(full).count(FULL) == len(inner(full))
    assert abs(inner(half).count(FULL) - len(inner(half)) / 2) <= 1


def test_daemon_end_time_wins_over_rate():
    assert "ETA 1:02:03" in render_bar(snap(expected_end=NOW + 3723), 140, NOW)


def test_unknown_eta_and_no_fifo_for_reads():
    line = render_line(snap(kind="rip", rate=0.0, phase="reading"), NOW)
    assert line.startswith("reading: ") and "ETA --:--" in line and "fifo" not in line


def test_copies_are_shown():
    assert "copy 2/3" in render_line(snap(copy=2, copies=3), NOW)


@settings(max_examples=200, deadline=None)
@given(width=st.integers(20, 300), progress=st.floats(-1, 2), color=st.booleans(),
       phase=st.sampled_from(["writing", "waiting for blank medium", "", "verifying"]))
def test_bar_never_wider_than_the_terminal(width, progress, color, phase):
    line = ANSI.sub("", render_bar(snap(progress=progress, phase=phase), width, NOW, color))
    assert len(line) <= width


def test_color_only_when_asked():
    assert "\x1b[" not in render_bar(snap(), 100, NOW, color=False)
    assert "\x1b[32m" in render_bar(snap(), 100, NOW, color=True)


def test_units():
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(250 << 30) == "250 GiB"
    assert eta_text(None) == "--:--" and eta_text(59.6) == "1:00"


def test_snapshot_from_job_properties():
    s = Snapshot.of({"Kind": "write", "Phase": "closing", "Progress": 1.0, "Bytes": 7, "TotalBytes": 7,
                     "ExpectedEndTime": 2_000_000, "BufferFill": 0.5, "Copy": 1, "Copies": 2})
    assert (s.phase, s.done, s.expected_end, s.fifo, s.copies) == ("closing", 7, 2.0, 0.5, 2)


def test_writer_redraws_in_place_on_a_terminal():
    stream = io.StringIO()
    writer = ProgressWriter(stream, tty=True, color=False, width=80)
    writer.update(snap(progress=0.1))
    writer.update(snap(progress=0.2))
    writer.finish()
    text = stream.getvalue()
    assert "\n" not in text and text.count("\r\x1b[K") == 3


def test_writer_prints_plain_lines_only_on_change_when_not_a_terminal():
    stream = io.StringIO()
    writer = ProgressWriter(stream, tty=False, color=False)
    for p in (0.1, 0.2, 0.3):
        writer.update(snap(progress=p))
    writer.update(snap(phase="verifying", progress=0.0))
    lines = stream.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["writing", "verifying"]
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_a_narrow_terminal_drops_figures_before_the_bar():
    line = render_bar(snap(copies=2, copy=2), 70, NOW)
    assert "[" in line and "copy 2/2" in line and " 50.0%" in line
    assert "MiB/" not in line  # the amount goes first
    wide = render_bar(snap(copies=2, copy=2), 200, NOW)
    assert "50 MiB/100 MiB" in wide and "fifo" in wide and "ETA" in wide
