"""Differential: burnd's emulated blank DVD+R against tgt's, seen through the same OpticalDrive.

Two independent MMC implementations of the same medium must produce the same media report on
every field that describes the medium. Fields where they legitimately differ are listed with
the reason, and the reason itself is asserted, so the list cannot silently go stale.
"""

from __future__ import annotations

from typing import Any

import pytest

from burnd.drive import OpticalDrive
from burnd.emu import VirtualBurner
from tests.vm.oracles import free_blocks_of_track_information
from tests.vm.scenario import Scenario

pytestmark = pytest.mark.vm

AGREED = (
    "present", "profile", "disc_status", "last_session_state", "erasable", "overwritable",
    "sessions", "capacity_blocks", "free_blocks", "used_blocks", "block_size", "bg_format_status",
)
TRACK_AGREED = (
    "number", "session", "start", "size", "nwa", "free_blocks", "data", "blank", "damaged",
    "reserved", "last_recorded",
)
DIFFERENT = {
    "formatted": "tgt has no READ FORMAT CAPACITIES (5/20/00), so burnd cannot tell (None); "
                 "the emulator answers with an unformatted-media descriptor (False)",
    "toc": "no TOC exists before the first session is closed: the emulator refuses READ TOC on a "
           "blank disc, tgt invents track 1 plus a lead-out at LBA 0",
    "sources": "which commands answered follows from the two rows above",
    "tracks": "the invisible track's Track Mode, Data Mode and packet bits are implementation "
              "choices (tgt: mode 7, data mode 1, no packet bits; the emulator: mode 5, data mode "
              "Fh, fixed packets); only the fields in TRACK_AGREED must match",
}


@pytest.fixture(scope="module")
def reports(tgt_scenario: Scenario) -> tuple[dict[str, Any], dict[str, Any]]:
    capacity = free_blocks_of_track_information(tgt_scenario.ok("tool.read_track_information"))
    emulated = OpticalDrive(VirtualBurner(media="dvd+r", capacity=capacity)).media_report().to_dict()
    return emulated, tgt_scenario.ok("drive.media_report")


def test_every_report_field_is_either_agreed_or_explained(reports: tuple[dict, dict]) -> None:
    emulated, real = reports
    assert set(emulated) == set(real) == set(AGREED) | set(DIFFERENT)


@pytest.mark.parametrize("field", AGREED)
def test_medium_fields_agree(reports: tuple[dict, dict], field: str) -> None:
    emulated, real = reports
    assert emulated[field] == real[field]


def test_invisible_track_agrees_where_it_matters(reports: tuple[dict, dict]) -> None:
    emulated, real = reports
    assert len(emulated["tracks"]) == len(real["tracks"]) == 1
    assert {k: emulated["tracks"][0][k] for k in TRACK_AGREED} == {k: real["tracks"][0][k] for k in TRACK_AGREED}


def test_track_modes_differ_only_within_what_writers_accept(reports: tuple[dict, dict]) -> None:
    """growisofs copies track 1's mode into page 05h and needs Data Mode 1 or Fh (reference 3.7)."""
    for report in reports:
        track = report["tracks"][0]
        assert track["track_mode"] & 0x0C == 0x04, "a data track (not audio)"
        assert track["data_mode"] in (0x1, 0xF)


def test_formatted_differs_because_tgt_lacks_read_format_capacities(reports: tuple[dict, dict]) -> None:
    emulated, real = reports
    assert "READ FORMAT CAPACITIES" not in real["sources"] and real["formatted"] is None
    assert "READ FORMAT CAPACITIES" in emulated["sources"] and emulated["formatted"] is False


def test_toc_differs_because_a_blank_disc_has_none(reports: tuple[dict, dict]) -> None:
    emulated, real = reports
    assert emulated["toc"] == [] and "READ TOC" not in emulated["sources"]
    assert [e["start"] for e in real["toc"] if e["lead_out"]] == [0]
    assert set(emulated["sources"]) ^ set(real["sources"]) == {"READ TOC", "READ FORMAT CAPACITIES"}
