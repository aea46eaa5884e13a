"""Batch jobs over the simulated robots: copies, rejects, pauses on robot errors, resume, cancel."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from burnd.burn import BurnOptions
from burnd.drive import OpticalDrive
from burnd.robot.base import (
    AcceptBinFull,
    Bin,
    RejectBinFull,
    RobotJammed,
    RobotNotResponding,
)
from burnd.robot.batch import Batch, BatchEvent, BatchState, close_tray, open_tray
from tests.fixtures.robot_images import verified_discs
from tests.robot.conftest import DISC_BLOCKS

BAD_BURN = ["write lba>=300: 3/0C/00 x1"]
FAST = {"poll": 0.005}


def wait_for(batch: Batch, state: BatchState) -> None:
    """Block until the batch reaches ``state`` (it runs in its own threads)."""
    deadline = time.monotonic() + 60
    while batch.status().state is not state:
        assert time.monotonic() < deadline, f"the batch never became {state.value}: {batch.status()}"
        time.sleep(0.01)


def test_twenty_copies_with_two_bad_burns(make_rig, image: Path) -> None:
    rig = make_rig("rimage-ras13", blanks=25, burner_faults={1: BAD_BURN, 3: BAD_BURN})
    rig.robot.init()
    events: list[BatchEvent] = []
    batch = Batch(rig.robot, rig.drives, image, 20, on_event=events.append, **FAST)
    status = batch.run()
    assert status.state is BatchState.FINISHED
    assert (status.accepted, status.rejected) == (20, 2)
    accept = [d.path for d in rig.mech.bins[Bin.ACCEPT]]
    reject = [d.path for d in rig.mech.bins[Bin.REJECT]]
    assert (len(accept), len(reject), len(rig.mech.input)) == (20, 2, 3)
    assert verified_discs(accept, image, DISC_BLOCKS) == 20
    assert verified_discs(reject, image, DISC_BLOCKS) == 0
    rejected = [r for r in status.results if not r.accepted]
    assert sorted(r.bay for r in rejected) == [1, 3]
    assert all(r.error_name == "org.burnd.Burnd1.Error.WriteFailed" for r in rejected)
    assert {r.bay for r in status.results} == {0, 1, 2, 3}
    assert sum(e.kind == "disc" for e in events) == 22
    assert any(e.kind == "progress" for e in events)
    assert all(b.tray_open is False for b in rig.mech.bays)


def test_empty_input_bin_ends_the_batch_short(make_rig, image: Path) -> None:
    rig = make_rig("aleratec-apls", blanks=4)
    rig.robot.init()
    status = Batch(rig.robot, rig.drives, image, 6, **FAST).run()
    assert status.state is BatchState.FINISHED
    assert status.input_exhausted and status.accepted == 4
    assert "input bin ran out" in status.message


def test_empty_input_bin_can_pause_for_a_refill(make_rig, image: Path) -> None:
    rig = make_rig("generic", blanks=1)
    batch = Batch(rig.robot, rig.drives, image, 2, pause_on_empty=True, **FAST)
    batch.start()
    wait_for(batch, BatchState.PAUSED)
    assert batch.status().error.dbus_name == "InputBinEmpty"
    rig.mech.add_blanks(1)
    batch.resume()
    status = batch.wait(60)
    assert status.state is BatchState.FINISHED and status.accepted == 2


def test_jam_pauses_the_batch_until_cleared(make_rig, image: Path) -> None:
    rig = make_rig("rimage-ras13", blanks=8)
    rig.robot.init()
    rig.mech.inject("jam after 9")
    batch = Batch(rig.robot, rig.drives, image, 6, **FAST)
    batch.start()
    wait_for(batch, BatchState.PAUSED)
    paused = batch.status()
    assert isinstance(paused.error, RobotJammed)
    assert paused.error.dbus_name == "RobotJammed"
    rig.mech.clear_jam()
    batch.resume()
    status = batch.wait(60)
    assert status.state is BatchState.FINISHED
    assert (status.accepted, status.rejected) == (6, 0)
    assert len(rig.mech.bins[Bin.ACCEPT]) == 6


def test_silent_robot_pauses_then_resumes(make_rig, image: Path) -> None:
    rig = make_rig("primera-composer", blanks=4)
    rig.mech.inject("silent")
    batch = Batch(rig.robot, rig.drives, image, 2, **FAST)
    batch.start()
    wait_for(batch, BatchState.PAUSED)
    assert isinstance(batch.status().error, RobotNotResponding)
    rig.mech.silent = False
    batch.resume()
    status = batch.wait(60)
    assert status.state is BatchState.FINISHED and status.accepted == 2


def test_counted_reject_capacity_pauses_before_overfilling(make_rig, image: Path) -> None:
    rig = make_rig("aleratec-apls", blanks=6, burner_faults={0: ["write lba>=300: 3/0C/00 x2"]})
    rig.robot.init()
    batch = Batch(rig.robot, rig.drives, image, 3, reject_capacity=1, **FAST)
    batch.start()
    wait_for(batch, BatchState.PAUSED)
    assert isinstance(batch.status().error, RejectBinFull)
    assert len(rig.mech.bins[Bin.REJECT]) == 1
    rig.mech.bins[Bin.REJECT].clear()
    batch.resume()
    status = batch.wait(60)
    assert status.state is BatchState.FINISHED
    assert (status.accepted, status.rejected) == (3, 2)


def test_counted_accept_capacity(make_rig, image: Path) -> None:
    rig = make_rig("generic", blanks=3)
    batch = Batch(rig.robot, rig.drives, image, 3, accept_capacity=2, **FAST)
    batch.start()
    wait_for(batch, BatchState.PAUSED)
    assert isinstance(batch.status().error, AcceptBinFull)
    batch.resume()
    assert batch.wait(60).accepted == 3


def test_cancel_rejects_the_disc_being_burned(make_rig, image: Path) -> None:
    rig = make_rig("generic", blanks=3)
    batch: Batch

    def cancel_when_writing(event: BatchEvent) -> None:
        if event.kind == "progress" and event.progress is not None and event.progress.phase.value == "writing":
            batch.cancel()

    batch = Batch(rig.robot, rig.drives, image, 3, BurnOptions(fifo_bytes=1 << 20), on_event=cancel_when_writing,
                  **FAST)
    status = batch.run()
    assert status.state is BatchState.CANCELLED
    assert status.accepted == 0 and status.rejected == 1
    assert status.results[0].error_name == "org.burnd.Burnd1.Error.Cancelled"
    assert len(rig.mech.bins[Bin.REJECT]) == 1 and len(rig.mech.input) == 2


def test_user_pause_stops_loading(make_rig, image: Path) -> None:
    rig = make_rig("generic", blanks=3)
    batch: Batch
    paused = threading.Event()

    def pause_after_first(event: BatchEvent) -> None:
        if event.kind == "disc" and not paused.is_set():
            paused.set()
            batch.pause()

    batch = Batch(rig.robot, rig.drives, image, 3, on_event=pause_after_first, **FAST)
    batch.start()
    wait_for(batch, BatchState.PAUSED)
    assert batch.status().error is None
    assert len(rig.mech.input) == 2
    batch.resume()
    assert batch.wait(60).accepted == 3


def test_unreadable_image_fails_without_using_up_blanks(make_rig, tmp_path: Path) -> None:
    rig = make_rig("generic", blanks=3)
    status = Batch(rig.robot, rig.drives, tmp_path / "missing.iso", 3, **FAST).run()
    assert status.state is BatchState.FAILED
    assert status.error.dbus_name == "BadImage"
    assert len(rig.mech.input) == 2 and len(rig.mech.bins[Bin.REJECT]) == 1


def test_image_given_as_a_descriptor(make_rig, image: Path) -> None:
    rig = make_rig("primera-composer", blanks=2)
    with open(image, "rb") as f:
        status = Batch(rig.robot, rig.drives, f.fileno(), 2, **FAST).run()
    assert status.accepted == 2


def test_drive_count_must_match_the_robot(make_rig, image: Path) -> None:
    rig = make_rig("rimage-ras13")
    with pytest.raises(ValueError):
        Batch(rig.robot, rig.drives[:2], image, 1)


def test_cancel_while_paused_on_a_robot_error(make_rig, image: Path) -> None:
    rig = make_rig("aleratec-apls", blanks=5)
    rig.robot.init()
    rig.mech.inject("jam after 2")
    batch = Batch(rig.robot, rig.drives, image, 5, **FAST)
    batch.start()
    wait_for(batch, BatchState.PAUSED)
    batch.cancel()
    status = batch.wait(60)
    assert status.state is BatchState.CANCELLED
    assert status.accepted + status.rejected <= 1


def test_a_disc_left_in_a_drive_goes_to_reject_before_the_batch(make_rig, image: Path, caplog) -> None:
    """A batch cut off by a crash leaves discs in the trays; the arm must not stack a blank on
    one (the simulator jams, as a real arm would)."""
    rig = make_rig("aleratec-apls", blanks=5)
    leftover = rig.mech.input[0].path
    sensor = rig.mech.bays[1]
    open_tray(OpticalDrive(sensor))
    rig.mech.pick_input()
    rig.mech.place_in_bay(1)
    close_tray(OpticalDrive(sensor))
    rig.robot.init()
    batch = Batch(rig.robot, rig.drives, image, 2, **FAST)
    batch.start()
    status = batch.wait(60)
    if status.state is not BatchState.FINISHED:
        batch.cancel()
        batch.wait(60)
    assert status.state is BatchState.FINISHED, status
    assert (status.accepted, status.rejected, status.leftovers) == (2, 0, 1)
    assert [d.path for d in rig.mech.bins[Bin.REJECT]] == [leftover]
    assert len(rig.mech.bins[Bin.ACCEPT]) == 2 and not rig.mech.jammed
    assert "already holds a disc" in caplog.text
