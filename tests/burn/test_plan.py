"""plan_burn, table-driven: every medium × (blank, appendable, complete) × (fits, too large),
then the options (multisession, simulate, speed, padding, strategy, spare areas, consent)."""

from __future__ import annotations

import dataclasses

import pytest

from burnd.burn import plan as p
from burnd.burn.errors import (
    BurnRefused,
    MediumMissing,
    MediumNotBlank,
    MediumNotWritable,
    MediumTooSmall,
    OptionNotSupported,
    SessionOpen,
    WrongMedium,
)
from burnd.drive.report import MediaReport, TrackReport
from burnd.scsi.mmc import CloseFunction, FormattableCapacity, MultiSession, WriteType
from burnd.scsi.profiles import Profile

CAP = 100_000
USED = 20_000
NWA = 31_400
BLOCK = 2048

CODES = {
    "cd-r": 0x09, "cd-rw": 0x0A, "dvd-r": 0x11, "dvd-rw": 0x14, "dvd-r-dl": 0x15, "dvd+r": 0x1B,
    "dvd+r-dl": 0x2B, "bd-r": 0x41, "dvd+rw": 0x1A, "dvd-ram": 0x12, "dvd-rw-ro": 0x13, "bd-re": 0x43,
}
SEQUENTIAL = ("cd-r", "cd-rw", "dvd-r", "dvd-rw", "dvd-r-dl", "dvd+r", "dvd+r-dl", "bd-r")
OVERWRITABLE = ("dvd+rw", "dvd-ram", "dvd-rw-ro", "bd-re")


def track(number: int, session: int, start: int, size: int, *, nwa: int | None = None, free: int = 0,
          blank: bool = False) -> TrackReport:
    return TrackReport(number=number, session=session, start=start, size=size, nwa=nwa, free_blocks=free,
                       track_mode=4, data_mode=1, data=True, blank=blank)


def facts(media: str, state: str = "blank", *, capacity: int = CAP, incremental: bool = True,
          formatted: bool | None = True, volume: int | None = None, has_data: bool = False,
          formattable: tuple[FormattableCapacity, ...] = ()) -> p.MediumFacts:
    """Facts as gather_facts would assemble them for a medium in ``state``."""
    code = CODES[media]
    profile = Profile(code, True)
    if media in OVERWRITABLE:
        report = MediaReport(present=True, profile=profile, disc_status="complete", sessions=1,
                             tracks=(track(1, 1, 0, capacity),), capacity_blocks=capacity, free_blocks=capacity,
                             formatted=formatted)
        if state != "blank":
            volume, has_data = (USED if state == "appendable" else None), True
        return p.MediumFacts(report, incremental=incremental, volume_blocks=volume, has_data=has_data,
                             formattable=formattable)
    if state == "blank":
        tracks = (track(1, 1, 0, capacity, nwa=0, free=capacity, blank=True),)
        free, used, sessions = capacity, 0, 1
    elif state == "appendable":
        tracks = (track(1, 1, 0, USED), track(2, 2, NWA, capacity - NWA, nwa=NWA, free=capacity - NWA, blank=True))
        free, used, sessions = capacity - NWA, NWA, 2
    else:
        tracks = (track(1, 1, 0, USED),)
        free, used, sessions = 0, USED, 1
    report = MediaReport(present=True, profile=profile, disc_status=state, sessions=sessions, tracks=tracks,
                         capacity_blocks=capacity, free_blocks=free, used_blocks=used, erasable=media.endswith("rw"))
    return p.MediumFacts(report, incremental=incremental, formattable=formattable)


def kinds(plan: p.BurnPlan) -> list[str]:
    return [type(s).__name__ for s in plan.steps]


FITS = 10_000 * BLOCK + 5
TOO_LARGE_BLANK = (CAP + 1) * BLOCK
TOO_LARGE_APPEND = (CAP - NWA + 1) * BLOCK

WRITE_ONCE_CLOSE = ["WriteData", "Sync", "CloseTrack", "CloseSession"]
# Default options (single session, no consent) per medium and state: steps when the image fits.
DEFAULT = {
    ("cd-r", "blank"): ["WriteParameters", "SendCueSheet", "WriteData", "Sync"],
    ("cd-rw", "blank"): ["WriteParameters", "SendCueSheet", "WriteData", "Sync"],
    ("dvd-r", "blank"): ["WriteParameters", "ReserveTrack", "WriteData", "Sync"],
    ("dvd-rw", "blank"): ["WriteParameters", "ReserveTrack", "WriteData", "Sync"],
    ("dvd-r-dl", "blank"): ["WriteParameters", "ReserveTrack", "WriteData", "Sync"],
    ("dvd+r", "blank"): WRITE_ONCE_CLOSE,
    ("dvd+r-dl", "blank"): WRITE_ONCE_CLOSE,
    ("bd-r", "blank"): WRITE_ONCE_CLOSE,
    ("dvd+rw", "blank"): ["WriteData", "Sync"],
    ("dvd-ram", "blank"): ["WriteData", "Sync"],
    ("dvd-rw-ro", "blank"): ["WriteData", "Sync"],
    ("bd-re", "blank"): ["WriteData", "Sync"],
}
STATE_REFUSAL = {"appendable": MediumNotBlank, "complete": MediumNotWritable}

MATRIX = [(m, s, fits) for m in CODES for s in ("blank", "appendable", "complete") for fits in (True, False)]


def _expected(media: str, state: str, fits: bool) -> list[str] | type[Exception]:
    if media in OVERWRITABLE:
        if state != "blank":
            return MediumNotBlank
        return DEFAULT[(media, state)] if fits else MediumTooSmall
    if state != "blank":
        return MediumNotBlank if media in ("cd-rw", "dvd-rw") or state == "appendable" else MediumNotWritable
    return DEFAULT[(media, state)] if fits else MediumTooSmall


@pytest.mark.parametrize(("media", "state", "fits"), MATRIX, ids=[f"{m}-{s}-{'fits' if f else 'large'}" for m, s, f in MATRIX])
def test_default_matrix(media: str, state: str, fits: bool) -> None:
    expected = _expected(media, state, fits)
    size = FITS if fits else (TOO_LARGE_APPEND if state == "appendable" else TOO_LARGE_BLANK)
    if isinstance(expected, list):
        plan = p.plan_burn(facts(media, state), size)
        assert kinds(plan) == expected
        assert plan.start_lba == 0
        assert plan.data_blocks == 10_001
    else:
        with pytest.raises(expected) as info:
            p.plan_burn(facts(media, state), size)
        if expected is MediumTooSmall:
            assert f"{size // BLOCK + (1 if size % BLOCK else 0)}" in str(info.value) or "needs" in str(info.value)
            assert str(CAP) in str(info.value)


MS_MATRIX = [(m, s) for m in SEQUENTIAL if m != "dvd-r-dl" for s in ("blank", "appendable")]


@pytest.mark.parametrize(("media", "state"), MS_MATRIX, ids=[f"{m}-{s}" for m, s in MS_MATRIX])
def test_multisession_leaves_appendable_and_appends_at_nwa(media: str, state: str) -> None:
    plan = p.plan_burn(facts(media, state), FITS, p.BurnOptions(multisession=True))
    assert plan.start_lba == (NWA if state == "appendable" else 0)
    assert plan.previous_session == (0 if state == "appendable" else None)
    assert not plan.closes
    closing = [s for s in plan.steps if isinstance(s, p.CloseSession)]
    assert closing == [p.CloseSession(CloseFunction.SESSION)]
    params = [s for s in plan.steps if isinstance(s, p.WriteParameters)]
    if media.startswith(("cd", "dvd-r")):
        assert params[0].multisession is MultiSession.OPEN
        assert plan.strategy in (p.Strategy.TAO, p.Strategy.INCREMENTAL)
    else:
        assert params == []


def test_multisession_then_finalize_closes_the_disc() -> None:
    plan = p.plan_burn(facts("dvd+r", "appendable"), FITS, p.BurnOptions(multisession=True, finalize=True))
    assert plan.steps[-1] == p.CloseSession(CloseFunction.FINALIZE)
    dl = p.plan_burn(facts("dvd+r-dl", "blank"), FITS)
    assert dl.steps[-1] == p.CloseSession(CloseFunction.FINALIZE_MINIMAL_RADIUS)
    cd = p.plan_burn(facts("cd-r", "appendable"), FITS, p.BurnOptions(multisession=True, finalize=True))
    assert cd.steps[0] == p.WriteParameters(WriteType.TAO, MultiSession.FINAL, False, track_mode=4)


def test_track_numbers_come_from_the_disc() -> None:
    plan = p.plan_burn(facts("bd-r", "appendable"), FITS, p.BurnOptions(multisession=True))
    assert p.CloseTrack(2) in plan.steps


def test_appendable_too_large_names_both_numbers() -> None:
    with pytest.raises(MediumTooSmall) as info:
        p.plan_burn(facts("dvd+r", "appendable"), TOO_LARGE_APPEND + 100 * BLOCK, p.BurnOptions(multisession=True))
    message = str(info.value)
    assert str(CAP - NWA) in message and str(CAP - NWA + 101) in message


def test_erasable_with_consent_blanks_first() -> None:
    for media, state in (("cd-rw", "complete"), ("cd-rw", "appendable"), ("dvd-rw", "complete")):
        plan = p.plan_burn(facts(media, state), FITS, p.BurnOptions(overwrite=True))
        assert plan.steps[0] == p.Blank(full=False)
        assert plan.start_lba == 0 and plan.free_blocks == CAP
    full = p.plan_burn(facts("cd-rw", "complete"), FITS, p.BurnOptions(overwrite=True, blank_fast=False))
    assert full.steps[0] == p.Blank(full=True)


def test_dvd_rw_multisession_after_minimal_blank_needs_full_blank() -> None:
    plan = p.plan_burn(facts("dvd-rw", "blank", incremental=False), FITS, p.BurnOptions(multisession=True))
    assert plan.steps[0] == p.Blank(full=True)
    assert plan.strategy is p.Strategy.INCREMENTAL
    erase = p.plan_burn(facts("dvd-rw", "complete"), FITS, p.BurnOptions(multisession=True, overwrite=True))
    assert erase.steps[0] == p.Blank(full=True)
    with pytest.raises(OptionNotSupported):
        p.plan_burn(facts("dvd-r", "blank", incremental=False), FITS, p.BurnOptions(multisession=True))
    single = p.plan_burn(facts("dvd-rw", "blank", incremental=False), FITS)
    assert single.strategy is p.Strategy.DAO and not any(isinstance(s, p.Blank) for s in single.steps)


def test_dvd_r_dl_refuses_multisession() -> None:
    with pytest.raises(OptionNotSupported, match="multi-session"):
        p.plan_burn(facts("dvd-r-dl", "blank"), FITS, p.BurnOptions(multisession=True))


@pytest.mark.parametrize("media", ["cd-r", "cd-rw", "dvd-r", "dvd-rw"])
def test_simulate_sets_test_write(media: str) -> None:
    plan = p.plan_burn(facts(media), FITS, p.BurnOptions(simulate=True))
    assert plan.simulate
    assert all(s.test_write for s in plan.steps if isinstance(s, p.WriteParameters))


@pytest.mark.parametrize("media", ["dvd+r", "dvd+r-dl", "bd-r", "dvd+rw", "dvd-ram", "dvd-rw-ro", "bd-re"])
def test_simulate_refused_where_impossible(media: str) -> None:
    with pytest.raises(OptionNotSupported, match="simulation"):
        p.plan_burn(facts(media), FITS, p.BurnOptions(simulate=True))


def test_simulation_never_blanks() -> None:
    with pytest.raises(OptionNotSupported, match="simulation"):
        p.plan_burn(facts("cd-rw", "complete"), FITS, p.BurnOptions(simulate=True, overwrite=True))


def test_padding_and_alignment() -> None:
    data = 10_001
    cd = p.plan_burn(facts("cd-r"), FITS)
    assert (cd.data_blocks, cd.total_blocks) == (data, data + p.CD_PAD_BLOCKS)
    assert cd.write.pregap == 150
    unpadded = p.plan_burn(facts("cd-r"), FITS, p.BurnOptions(pad=False))
    assert unpadded.total_blocks == data
    tiny = p.plan_burn(facts("cd-r"), 10 * BLOCK, p.BurnOptions(pad=False))
    assert tiny.total_blocks == p.CD_MIN_TRACK_BLOCKS
    dao = p.plan_burn(facts("dvd-r"), FITS)
    assert dao.total_blocks == 10_016 and p.ReserveTrack(10_016) in dao.steps
    bd = p.plan_burn(facts("bd-r"), FITS)
    assert (bd.total_blocks, bd.chunk_blocks) == (10_016, 32)
    bdre = p.plan_burn(facts("bd-re"), FITS)
    assert (bdre.total_blocks, bdre.chunk_blocks) == (data, 32)
    rigid = p.plan_burn(facts("dvd-rw-ro"), FITS)
    assert rigid.total_blocks == 10_016


def test_speed_step_only_when_asked() -> None:
    assert not any(isinstance(s, p.SetSpeed) for s in p.plan_burn(facts("bd-re"), FITS).steps)
    cd = p.plan_burn(facts("cd-r"), FITS, p.BurnOptions(speed_kbps=1764))
    assert p.SetSpeed(1764, True) in cd.steps
    bd = p.plan_burn(facts("bd-r"), FITS, p.BurnOptions(speed_kbps=8990))
    assert p.SetSpeed(8990, False) in bd.steps


def test_strategy_override() -> None:
    assert p.plan_burn(facts("cd-r"), FITS, p.BurnOptions(strategy="tao")).strategy is p.Strategy.TAO
    assert p.plan_burn(facts("dvd-r"), FITS, p.BurnOptions(strategy="incremental")).strategy is p.Strategy.INCREMENTAL
    with pytest.raises(OptionNotSupported, match="DAO"):
        p.plan_burn(facts("cd-r"), FITS, p.BurnOptions(strategy="dao"))
    with pytest.raises(OptionNotSupported, match="SAO"):
        p.plan_burn(facts("cd-r", "appendable"), FITS, p.BurnOptions(strategy="sao", multisession=True))
    with pytest.raises(OptionNotSupported, match="DAO"):
        p.plan_burn(facts("dvd-r"), FITS, p.BurnOptions(strategy="dao", multisession=True))
    with pytest.raises(OptionNotSupported, match="unknown"):
        p.plan_burn(facts("dvd-r"), FITS, p.BurnOptions(strategy="raw96"))


def test_unformatted_media_are_formatted_first() -> None:
    offers = (FormattableCapacity(CAP - 640, 0x00, 0x800), FormattableCapacity(CAP, 0x31, 0x800),
              FormattableCapacity(CAP, 0x26, 0))
    bdre = p.plan_burn(facts("bd-re", formatted=False, formattable=offers), FITS)
    assert bdre.steps[0] == p.Format(0x00, CAP - 640, type_parameter=0x800)
    assert bdre.free_blocks == CAP - 640
    nospare = p.plan_burn(facts("bd-re", formatted=False, formattable=offers), FITS, p.BurnOptions(spare_areas=False))
    assert nospare.steps[0] == p.Format(0x31, CAP, type_parameter=0x800)
    plus = p.plan_burn(facts("dvd+rw", formatted=False, formattable=offers), FITS)
    assert plus.steps[0] == p.Format(0x26, CAP)
    assert plus.steps[-1] == p.CloseSession(CloseFunction.SESSION)
    with pytest.raises(MediumTooSmall):
        p.plan_burn(facts("bd-re", formatted=False, formattable=offers), (CAP - 600) * BLOCK)
    with pytest.raises(OptionNotSupported):
        p.plan_burn(facts("bd-re", formatted=False), FITS)


def test_bd_r_spare_areas_format_srm_without_pow() -> None:
    offers = (FormattableCapacity(CAP - 640, 0x00, 0),)
    plan = p.plan_burn(facts("bd-r", formattable=offers), FITS, p.BurnOptions(spare_areas=True))
    assert plan.steps[0] == p.Format(0x00, CAP - 640, subtype=p.BD_R_SRM_NO_POW)
    assert not any(isinstance(s, p.Format) for s in p.plan_burn(facts("bd-r"), FITS).steps)


@pytest.mark.parametrize("media", OVERWRITABLE)
def test_iso_growing_on_overwritable_media(media: str) -> None:
    plan = p.plan_burn(facts(media, "appendable"), FITS, p.BurnOptions(multisession=True))
    assert plan.start_lba == USED  # already a multiple of 32
    assert plan.previous_session == 16
    assert p.GrowVolume(USED, 10_001) in plan.steps
    assert plan.free_blocks == CAP - USED
    odd = dataclasses.replace(facts(media, "appendable"), volume_blocks=USED + 1)
    assert p.plan_burn(odd, FITS, p.BurnOptions(multisession=True)).start_lba == USED + 32


def test_overwritable_with_foreign_data() -> None:
    with pytest.raises(MediumNotBlank):
        p.plan_burn(facts("bd-re", "complete"), FITS, p.BurnOptions(multisession=True))
    plan = p.plan_burn(facts("bd-re", "complete"), FITS, p.BurnOptions(overwrite=True))
    assert plan.start_lba == 0 and not any(isinstance(s, p.GrowVolume) for s in plan.steps)


def test_general_refusals() -> None:
    with pytest.raises(MediumMissing):
        p.plan_burn(p.MediumFacts(MediaReport(present=False)), FITS)
    rom = p.MediumFacts(MediaReport(present=True, profile=Profile(0x10, True), disc_status="complete"))
    with pytest.raises(MediumNotWritable, match="pressed"):
        p.plan_burn(rom, FITS)
    rrm = p.MediumFacts(MediaReport(present=True, profile=Profile(0x42, True), disc_status="blank"))
    with pytest.raises(MediumNotWritable, match="cannot write"):
        p.plan_burn(rrm, FITS)
    with pytest.raises(OptionNotSupported, match="empty"):
        p.plan_burn(facts("dvd+r"), 0)


def test_wrong_medium_class() -> None:
    with pytest.raises(WrongMedium, match="DVD or BD"):
        p.plan_burn(facts("cd-r", capacity=360_000), 500_000 * BLOCK)
    with pytest.raises(WrongMedium, match="BD"):
        p.plan_burn(facts("dvd+r", capacity=2_295_104), 5_000_000 * BLOCK)
    with pytest.raises(MediumTooSmall):
        p.plan_burn(facts("cd-r", capacity=360_000), 400_000 * BLOCK)


def test_every_refusal_is_actionable() -> None:
    """Messages say what to do: each names an alternative (insert, use, pass, allow, burn...)."""
    cases = [(facts("cd-r", "complete"), FITS, p.BurnOptions()),
             (facts("dvd+r", "appendable"), FITS, p.BurnOptions()),
             (facts("bd-re", "appendable"), FITS, p.BurnOptions()),
             (facts("dvd+r"), FITS, p.BurnOptions(simulate=True)),
             (facts("dvd+r"), TOO_LARGE_BLANK, p.BurnOptions())]
    for medium, size, options in cases:
        with pytest.raises(BurnRefused) as info:
            p.plan_burn(medium, size, options)
        assert any(word in str(info.value) for word in ("insert", "use", "pass", "allow", "burn"))


def test_appending_into_an_open_session_is_refused() -> None:
    medium = facts("dvd+r", "appendable")
    tracks = (track(1, 1, 0, USED), track(2, 1, NWA, CAP - NWA, nwa=NWA, free=CAP - NWA, blank=True))
    report = dataclasses.replace(medium.report, tracks=tracks, last_session_state="incomplete", sessions=1)
    with pytest.raises(SessionOpen, match="close"):
        p.plan_burn(dataclasses.replace(medium, report=report), FITS, p.BurnOptions(multisession=True))
    fresh = dataclasses.replace(report, tracks=(tracks[0], dataclasses.replace(tracks[1], session=2)))
    assert p.plan_burn(dataclasses.replace(medium, report=fresh), FITS, p.BurnOptions(multisession=True)).start_lba == NWA
