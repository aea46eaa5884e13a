"""Every protocol driver against the simulator over a real pty: motions, and each error state."""

from __future__ import annotations

import pytest

from burnd.robot.base import (
    Bin,
    InputBinEmpty,
    RejectBinFull,
    RobotError,
    RobotJammed,
    RobotNotResponding,
    TrayNotOpen,
)
from burnd.robot.batch import close_tray, open_tray
from tests.robot.conftest import BAYS

PROTOCOLS = sorted(BAYS)


def load(rig, bay: int) -> None:  # type: ignore[no-untyped-def]
    open_tray(rig.drives[bay])
    rig.robot.load(bay)
    close_tray(rig.drives[bay])


def unload(rig, bay: int, target: Bin) -> None:  # type: ignore[no-untyped-def]
    open_tray(rig.drives[bay])
    rig.robot.unload(bay, target)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_load_puts_a_blank_in_the_drive_and_unload_sorts_it(make_rig, protocol: str) -> None:
    rig = make_rig(protocol, blanks=3)
    rig.robot.init()
    assert rig.robot.status().ready
    last = BAYS[protocol] - 1
    load(rig, last)
    report = rig.drives[last].media_report()
    assert report.present and report.blank
    assert len(rig.mech.input) == 2
    unload(rig, last, Bin.ACCEPT)
    assert rig.burners[last].medium is None
    load(rig, 0)
    unload(rig, 0, Bin.REJECT)
    assert [d.number for d in rig.mech.bins[Bin.ACCEPT]] == [1]
    assert [d.number for d in rig.mech.bins[Bin.REJECT]] == [2]
    assert [d.number for d in rig.mech.input] == [3]


@pytest.mark.parametrize("protocol", ["generic", "rimage-ras13", "aleratec-apls"])
def test_empty_input_bin_is_reported(make_rig, protocol: str) -> None:
    rig = make_rig(protocol, blanks=0)
    rig.robot.init()
    open_tray(rig.drives[0])
    with pytest.raises(InputBinEmpty):
        rig.robot.load(0)


def test_composer_cannot_tell_an_empty_bin_from_a_jam(make_rig) -> None:
    rig = make_rig("primera-composer", blanks=0)
    open_tray(rig.drives[0])
    with pytest.raises(RobotError, match="empty input bin or a stuck arm") as caught:
        rig.robot.load(0)
    assert caught.value.raw == "MN"


@pytest.mark.parametrize("protocol", ["generic", "rimage-ras13", "aleratec-apls"])
def test_jam_is_reported_and_lasts_until_cleared(make_rig, protocol: str) -> None:
    rig = make_rig(protocol)
    rig.robot.init()
    rig.mech.inject("jam")
    open_tray(rig.drives[0])
    with pytest.raises(RobotJammed):
        rig.robot.load(0)
    with pytest.raises(RobotJammed):
        rig.robot.load(0)
    rig.mech.clear_jam()
    rig.robot.init()
    rig.robot.load(0)
    assert rig.mech.held[0] is not None


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_silent_robot_is_not_responding(make_rig, protocol: str) -> None:
    rig = make_rig(protocol)
    rig.mech.inject("silent")
    open_tray(rig.drives[0])
    with pytest.raises(RobotNotResponding):
        rig.robot.load(0)


@pytest.mark.parametrize("protocol", ["generic", "rimage-ras13", "aleratec-apls"])
def test_silent_robot_fails_status_after_retries(make_rig, protocol: str) -> None:
    rig = make_rig(protocol)
    rig.mech.inject("silent")
    before = len(rig.sim.received)
    with pytest.raises(RobotNotResponding):
        rig.robot.status()
    sent = bytes(rig.sim.received[before:])
    assert len(sent) > 0


def test_generic_status_query_is_resent_once(make_rig) -> None:
    rig = make_rig("generic")
    rig.mech.inject("silent")
    with pytest.raises(RobotNotResponding):
        rig.robot.status()
    assert bytes(rig.sim.received).count(b"S") == 2


@pytest.mark.parametrize("protocol", ["rimage-ras13", "primera-composer"])
def test_full_reject_bin_is_reported_before_the_disc_moves(make_rig, protocol: str) -> None:
    rig = make_rig(protocol)
    rig.robot.init()
    rig.mech.inject("reject full")
    load(rig, 0)
    open_tray(rig.drives[0])
    with pytest.raises(RejectBinFull):
        rig.robot.unload(0, Bin.REJECT)
    assert rig.mech.held[0] is not None


@pytest.mark.parametrize("protocol", ["generic", "aleratec-apls"])
def test_closed_tray_jams_the_arm(make_rig, protocol: str) -> None:
    rig = make_rig(protocol)
    rig.robot.init()
    with pytest.raises(RobotJammed):
        rig.robot.load(0)


def test_rimage_closed_tray_is_reported_and_the_disc_goes_back(make_rig) -> None:
    rig = make_rig("rimage-ras13", blanks=2)
    rig.robot.init()
    with pytest.raises(TrayNotOpen):
        rig.robot.load(1)
    assert [d.number for d in rig.mech.input] == [1, 2]
    assert rig.mech.gripper is None


def test_rimage_reports_bin_counts(make_rig) -> None:
    rig = make_rig("rimage-ras13", blanks=7)
    load(rig, 2)
    unload(rig, 2, Bin.ACCEPT)
    status = rig.robot.status()
    assert status.bins == {Bin.INPUT: 6, Bin.ACCEPT: 1, Bin.REJECT: 0}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unloading_an_empty_drive_is_an_error(make_rig, protocol: str) -> None:
    rig = make_rig(protocol)
    rig.robot.init()
    open_tray(rig.drives[0])
    with pytest.raises(RobotError):
        rig.robot.unload(0, Bin.ACCEPT)


def test_aleratec_uncalibrated_unit_needs_configured_values(make_rig) -> None:
    rig = make_rig("aleratec-apls")
    rig.mech.calibrated = False
    with pytest.raises(RobotError, match="calibration"):
        rig.robot.init()


def test_bay_numbers_are_checked(make_rig) -> None:
    rig = make_rig("aleratec-apls")
    with pytest.raises(ValueError):
        rig.robot.load(3)
