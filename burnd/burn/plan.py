"""Choose how to burn: medium facts + image size + options → an ordered plan, or a refusal.

Pure: nothing here talks to a drive, so every medium × state × size combination is tested by
table. The rules are reference §5 (libburn and growisofs practice): the write type, the
reservation, the chunk size and padding, and the closing commands per profile. Every refusal
is raised here, before the executor sends the first command that changes the disc, with a
message naming what to do instead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from burnd.burn.errors import (
    MediumMissing,
    MediumNotBlank,
    MediumNotWritable,
    MediumTooSmall,
    OptionNotSupported,
    SessionOpen,
    WrongMedium,
)
from burnd.burn.grow import next_session_start
from burnd.drive.report import MediaReport
from burnd.scsi.mmc import BLOCK_SIZE, CloseFunction, FormattableCapacity, MultiSession, WriteType

CD_MAX_BLOCKS = 445_500
"""99-minute CD (reference §5.11): any image larger than this needs a DVD or BD."""
DVD_MAX_BLOCKS = 4_173_824
"""DVD+R DL, the largest DVD: anything larger needs a BD."""
CD_PAD_BLOCKS = 150
"""Zero blocks appended to CD data tracks so Linux read-ahead never hits the run-out (§5.1)."""
CD_MIN_TRACK_BLOCKS = 300

PROFILE_CD_R, PROFILE_CD_RW = 0x09, 0x0A
PROFILE_DVD_R, PROFILE_DVD_RAM, PROFILE_DVD_RW_RO, PROFILE_DVD_RW = 0x11, 0x12, 0x13, 0x14
PROFILE_DVD_R_DL, PROFILE_DVD_PLUS_RW, PROFILE_DVD_PLUS_R = 0x15, 0x1A, 0x1B
PROFILE_DVD_PLUS_RW_DL, PROFILE_DVD_PLUS_R_DL = 0x2A, 0x2B
PROFILE_BD_R, PROFILE_BD_RE = 0x41, 0x43

FORMAT_FULL, FORMAT_DVD_RW_QUICK = 0x00, 0x15
FORMAT_DVD_PLUS_RW = 0x26
FORMAT_BD_RE_NO_SPARES = 0x31
BD_R_SRM_NO_POW = 1
"""FORMAT 00h subtype on BD-R: SRM without pseudo-overwrite (burnd never formats to POW, §5.8)."""


class Strategy(str, enum.Enum):
    TAO = "tao"
    SAO = "sao"
    DAO = "dao"
    INCREMENTAL = "incremental"
    PLUS_R = "dvd+r"
    BD_R = "bd-r"
    OVERWRITE = "overwrite"


@dataclass(frozen=True, slots=True)
class BurnOptions:
    """What the user asked for.

    ``multisession``: leave the disc appendable and allow adding a session to an appendable
    disc (or growing the ISO on overwritable media); the image must then have been built for
    :attr:`BurnPlan.start_lba`. ``finalize`` overrides the default (finalize unless
    multisession). ``overwrite`` is the consent to blank or overwrite a disc holding data.
    ``spare_areas``: None = the medium's default (BD-RE formatted with spares, BD-R written
    without pre-formatting). ``strategy``: "auto" or one of :class:`Strategy`'s values.
    """

    multisession: bool = False
    simulate: bool = False
    speed_kbps: int | None = None
    finalize: bool | None = None
    pad: bool = True
    overwrite: bool = False
    blank_fast: bool = True
    spare_areas: bool | None = None
    strategy: str = "auto"
    verify: bool = True
    md5: bool = False
    fifo_bytes: int = 32 << 20

    @property
    def closes_disc(self) -> bool:
        return (not self.multisession) if self.finalize is None else self.finalize


@dataclass(frozen=True, slots=True)
class MediumFacts:
    """Everything the planner needs about the drive's medium, gathered by the executor.

    ``incremental``: feature 0021h is current (DVD-RW after a minimal blank lacks it).
    ``volume_blocks``: the ISO 9660 volume space size found at LBA 16 of an overwritable disc
    (None when there is no ISO there); ``has_data``: block 16 is not empty (a filesystem burnd
    cannot grow, or an ISO). ``formattable``: READ FORMAT CAPACITIES' descriptors.
    """

    report: MediaReport
    incremental: bool = True
    volume_blocks: int | None = None
    has_data: bool = False
    formattable: tuple[FormattableCapacity, ...] = ()


# ----------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class Blank:
    full: bool


@dataclass(frozen=True, slots=True)
class Format:
    format_type: int
    blocks: int
    subtype: int = 0
    type_parameter: int = 0


@dataclass(frozen=True, slots=True)
class SetSpeed:
    """SET CD SPEED on CD, SET STREAMING on DVD/BD."""

    kbps: int
    cd: bool


@dataclass(frozen=True, slots=True)
class WriteParameters:
    """Mode page 05h for CD and DVD-R[W] (reference §5.1, §5.2, §5.4)."""

    write_type: WriteType
    multisession: MultiSession
    test_write: bool
    track_mode: int
    data_block_type: int = 8
    packet: bool = False


@dataclass(frozen=True, slots=True)
class SendCueSheet:
    blocks: int


@dataclass(frozen=True, slots=True)
class ReserveTrack:
    blocks: int


@dataclass(frozen=True, slots=True)
class WriteData:
    """Write the image at ``start`` (checked against the drive's NWA), padded to ``total``.

    ``pregap``: zero blocks written before ``start`` (CD SAO's LBA −150…−1).
    """

    start: int
    data_blocks: int
    total_blocks: int
    chunk_blocks: int
    pregap: int = 0


@dataclass(frozen=True, slots=True)
class Sync:
    pass


@dataclass(frozen=True, slots=True)
class CloseTrack:
    track: int


@dataclass(frozen=True, slots=True)
class CloseSession:
    function: CloseFunction


@dataclass(frozen=True, slots=True)
class GrowVolume:
    """Copy the new session's volume descriptors to LBA 16 (ISO growing, reference §5.7)."""

    start: int
    blocks: int


Step = Blank | Format | SetSpeed | WriteParameters | SendCueSheet | ReserveTrack | WriteData \
    | Sync | CloseTrack | CloseSession | GrowVolume


@dataclass(frozen=True, slots=True)
class BurnPlan:
    """An ordered list of steps plus what the caller needs to know about the result.

    ``start_lba`` is where the image goes (a multi-session image must be built for it);
    ``previous_session`` is the first number of mkisofs ``-C a,b`` (start of the last
    session), None on a fresh disc. ``closes`` tells whether the disc will be finalized.
    """

    medium: str
    strategy: Strategy
    steps: tuple[Step, ...]
    image_bytes: int
    start_lba: int
    data_blocks: int
    total_blocks: int
    chunk_blocks: int
    free_blocks: int
    previous_session: int | None = None
    closes: bool = False
    simulate: bool = False
    cancel_steps: tuple[Step, ...] = field(default=())

    @property
    def write(self) -> WriteData:
        return next(s for s in self.steps if isinstance(s, WriteData))

    def describe(self) -> str:
        names = ", ".join(type(s).__name__ for s in self.steps)
        return (f"{self.medium}: {self.strategy.value} at LBA {self.start_lba}, {self.data_blocks} data + "
                f"{self.total_blocks - self.data_blocks} padding blocks of {self.free_blocks} free; {names}")


# ----------------------------------------------------------------------------- helpers


def blocks_for(size: int) -> int:
    return -(-size // BLOCK_SIZE)


def _align(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def _mb(blocks: int) -> str:
    return f"{blocks} blocks ({blocks * BLOCK_SIZE / 1e6:.1f} MB)"


def _check_fits(name: str, data: int, need: int, free: int, code: int) -> None:
    """Refuse an image the medium class or the free space cannot hold; ``need`` = data + padding."""
    extra = f" ({_mb(data)} of image + {need - data} padding blocks)" if need > data else ""
    if code in (PROFILE_CD_R, PROFILE_CD_RW) and need > CD_MAX_BLOCKS:
        raise WrongMedium(f"the image needs {_mb(need)}, more than any CD holds ({_mb(CD_MAX_BLOCKS)}); "
                          f"this {name} cannot take it — insert a DVD or BD")
    if 0x10 <= code <= 0x2B and need > DVD_MAX_BLOCKS:
        raise WrongMedium(f"the image needs {_mb(need)}, more than any DVD holds ({_mb(DVD_MAX_BLOCKS)}); "
                          f"this {name} cannot take it — insert a BD")
    if need > free:
        raise MediumTooSmall(f"the image needs {_mb(need)}{extra}, but the {name} has only {_mb(free)} free — "
                             f"use a larger or blank disc, or make the image smaller")


def _speed(options: BurnOptions, cd: bool = False) -> tuple[Step, ...]:
    """SET CD SPEED / SET STREAMING only when a speed was asked for: drives default to maximum."""
    return (SetSpeed(options.speed_kbps, cd),) if options.speed_kbps else ()


def _strategy_choice(options: BurnOptions, allowed: tuple[Strategy, ...], default: Strategy, name: str) -> Strategy:
    if options.strategy == "auto":
        return default
    try:
        wanted = Strategy(options.strategy)
    except ValueError:
        raise OptionNotSupported(f"unknown write strategy {options.strategy!r}; use auto, "
                                 + ", ".join(s.value for s in Strategy)) from None
    if wanted not in allowed:
        raise OptionNotSupported(f"{name} cannot be written {wanted.value.upper()}; use "
                                 + " or ".join(s.value for s in allowed) + " (or auto)")
    return wanted


def _no_simulation(options: BurnOptions, name: str) -> None:
    if options.simulate:
        raise OptionNotSupported(f"{name} has no test-write (simulation) mode; only CD-R/RW and "
                                 f"DVD-R/RW can simulate — burn for real or use such a disc to test")


def _last_track(report: MediaReport) -> int:
    return report.tracks[-1].number if report.tracks else 1


def _next_writable(report: MediaReport) -> tuple[int, int]:
    """(NWA, free blocks) of the writable track of a sequential disc."""
    track = next((t for t in reversed(report.tracks) if t.writable), None)
    if track is None or track.nwa is None:
        return 0, report.free_blocks
    return track.nwa, track.free_blocks


def open_session_holds_data(report: MediaReport) -> bool:
    """Whether the writable track shares its (open) session with recorded tracks."""
    writable = next((t for t in reversed(report.tracks) if t.writable), None)
    if writable is None or report.last_session_state != "incomplete":
        return False
    return any(not t.blank and t.session == writable.session and t is not writable for t in report.tracks)


def _previous_session_start(report: MediaReport) -> int | None:
    """Start of the first track of the last session holding data (mkisofs -C's first number)."""
    recorded = [t for t in report.tracks if not t.blank and t.session is not None]
    if not recorded:
        return None
    last_session = recorded[-1].session
    return min(t.start for t in recorded if t.session == last_session)


# ----------------------------------------------------------------------------- planner


def plan_burn(facts: MediumFacts, image_size: int, options: BurnOptions = BurnOptions()) -> BurnPlan:
    """The plan for writing ``image_size`` bytes onto the medium, or a :class:`BurnRefused`."""
    report = facts.report
    if not report.present:
        raise MediumMissing("there is no disc in the drive — insert a writable disc and close the tray")
    if report.profile is None:
        raise MediumNotWritable("the drive reports no current profile for this disc, so it cannot write it — "
                                "try another disc")
    if image_size <= 0:
        raise OptionNotSupported("the image is empty; there is nothing to burn — pick a non-empty image")
    name = report.profile.name
    if report.profile.read_only:
        raise MediumNotWritable(f"the disc is a pressed {name} and cannot be written — insert a recordable disc")
    planner = _PLANNERS.get(report.profile.code)
    if planner is None:
        raise MediumNotWritable(f"burnd cannot write {report.profile} media — use CD-R/RW, DVD±R/RW, "
                                f"DVD-RAM, BD-R or BD-RE")
    return planner(facts, image_size, options, name)


def _sequential_state(facts: MediumFacts, options: BurnOptions, name: str, erasable: bool) -> str:
    """'blank', 'append' or 'erase' (blank first); refuses complete or unconsented discs."""
    report = facts.report
    status = report.disc_status
    if status == "blank" or (status == "appendable" and not report.used_blocks):
        return "blank"
    if status == "appendable" and options.multisession:
        if open_session_holds_data(report):
            raise SessionOpen(f"the last session of the {name} was left open by an interrupted burn; a new "
                              f"session written into it would stay invisible — close that session first "
                              f"(close_session), then build the image for the new start address")
        return "append"
    if erasable:
        if not options.overwrite:
            raise MediumNotBlank(f"the {name} holds data ({report.sessions} session(s)); "
                                 + ("pass multisession to add a session, or " if status == "appendable" else "")
                                 + "allow overwriting to blank it first")
        if options.simulate:
            raise OptionNotSupported(f"the {name} must be blanked before this burn, and a simulation "
                                     f"must not change the disc — blank it first, then simulate")
        return "erase"
    if status == "appendable":
        raise MediumNotBlank(f"the {name} already holds data and is appendable; pass multisession to add a session (image built for LBA "
                             f"{_next_writable(report)[0]}) or insert a blank disc")
    raise MediumNotWritable(f"the {name} is finalized (complete) and cannot be written again — "
                            f"insert a blank disc")


def _plan_cd(facts: MediumFacts, size: int, options: BurnOptions, name: str) -> BurnPlan:
    report = facts.report
    state = _sequential_state(facts, options, name, report.profile is not None and report.profile.code == PROFILE_CD_RW)
    data = blocks_for(size)
    total = max(data + (CD_PAD_BLOCKS if options.pad else 0), CD_MIN_TRACK_BLOCKS)
    fresh = state != "append"
    default = Strategy.SAO if fresh and not options.multisession else Strategy.TAO
    strategy = _strategy_choice(options, (Strategy.TAO, Strategy.SAO), default, name)
    if strategy is Strategy.SAO and not fresh:
        raise OptionNotSupported(f"SAO writes only blank CDs; this {name} is appendable — use TAO")
    start, free = (0, report.capacity_blocks) if state == "erase" else _next_writable(report)
    _check_fits(name, data, total, free, report.profile.code if report.profile else 0)
    prep: tuple[Step, ...] = (Blank(full=not options.blank_fast),) if state == "erase" else ()
    ms = MultiSession.FINAL if options.closes_disc else MultiSession.OPEN
    params = WriteParameters(WriteType.SAO if strategy is Strategy.SAO else WriteType.TAO, ms,
                             options.simulate, track_mode=4)
    write = WriteData(start, data, total, 16, pregap=150 if strategy is Strategy.SAO else 0)
    if strategy is Strategy.SAO:
        body: tuple[Step, ...] = (params, SendCueSheet(total), write, Sync())
        cancel: tuple[Step, ...] = (Sync(),)
    else:
        body = (params, write, Sync(), CloseSession(CloseFunction.SESSION))
        cancel = (Sync(), CloseSession(CloseFunction.SESSION))
    return BurnPlan(name, strategy, prep + _speed(options, cd=True) + body, size, start, data, total, 16, free,
                    previous_session=_previous_session_start(report) if state == "append" else None,
                    closes=options.closes_disc, simulate=options.simulate, cancel_steps=cancel)


def _plan_dvd_minus(facts: MediumFacts, size: int, options: BurnOptions, name: str) -> BurnPlan:
    report = facts.report
    code = report.profile.code if report.profile else 0
    if code == PROFILE_DVD_R_DL and options.multisession:
        raise OptionNotSupported(f"{name} has no multi-session; burn a single session or use DVD+R DL / BD-R")
    state = _sequential_state(facts, options, name, code == PROFILE_DVD_RW)
    if state == "append" and not facts.incremental:
        raise OptionNotSupported(f"the drive offers no incremental writing on this appendable {name}, "
                                 f"so no session can be added — use another disc")
    incremental_ok = facts.incremental or (state == "erase" and not options.blank_fast)
    wants_open = options.multisession or state == "append"
    default = Strategy.INCREMENTAL if wants_open else Strategy.DAO
    strategy = _strategy_choice(options, (Strategy.DAO, Strategy.INCREMENTAL), default, name)
    if strategy is Strategy.DAO and wants_open:
        raise OptionNotSupported(f"DAO writes a single closed session; multi-session on {name} needs "
                                 f"incremental writing (strategy auto)")
    erase_full = state == "erase" and (not options.blank_fast or strategy is Strategy.INCREMENTAL)
    blank_needed = state == "erase"
    if strategy is Strategy.INCREMENTAL and not (incremental_ok or erase_full):
        if code != PROFILE_DVD_RW:
            raise OptionNotSupported(f"the drive offers no incremental writing for this {name}; burn "
                                     f"a single session (without multisession)")
        if options.simulate:
            raise OptionNotSupported(f"this {name} was minimally blanked and needs a full blank before "
                                     f"incremental writing; a simulation must not blank it")
        erase_full = blank_needed = True
    data = blocks_for(size)
    total = _align(data, 16)
    start, free = (0, report.capacity_blocks) if blank_needed else _next_writable(report)
    _check_fits(name, data, total, free, code)
    prep: tuple[Step, ...] = (Blank(full=erase_full),) if blank_needed else ()
    ms = MultiSession.FINAL if options.closes_disc else MultiSession.OPEN
    write = WriteData(start, data, total, 16)
    if strategy is Strategy.DAO:
        params = WriteParameters(WriteType.SAO, MultiSession.FINAL, options.simulate, track_mode=5)
        body: tuple[Step, ...] = (params, ReserveTrack(total), write, Sync())
        cancel: tuple[Step, ...] = (Sync(),)
    else:
        params = WriteParameters(WriteType.PACKET, ms, options.simulate, track_mode=5, packet=True)
        track = 1 if blank_needed else _last_track(report)
        closing: tuple[Step, ...] = (Sync(), CloseTrack(track), CloseSession(CloseFunction.SESSION))
        body = (params, write) + closing
        cancel = closing
    return BurnPlan(name, strategy, prep + _speed(options) + body, size, start, data, total, 16, free,
                    previous_session=_previous_session_start(report) if state == "append" else None,
                    closes=options.closes_disc or strategy is Strategy.DAO, simulate=options.simulate,
                    cancel_steps=cancel)


def _plan_write_once(facts: MediumFacts, size: int, options: BurnOptions, name: str) -> BurnPlan:
    """DVD+R (/DL) and BD-R SRM: write the next track, close it, close or finalize (§5.6, §5.8)."""
    report = facts.report
    code = report.profile.code if report.profile else 0
    bd = code == PROFILE_BD_R
    strategy = _strategy_choice(options, (Strategy.BD_R if bd else Strategy.PLUS_R,),
                                Strategy.BD_R if bd else Strategy.PLUS_R, name)
    _no_simulation(options, name)
    state = _sequential_state(facts, options, name, erasable=False)
    chunk = 32 if bd else 16
    data = blocks_for(size)
    total = _align(data, chunk)
    start, free = _next_writable(report)
    prep: tuple[Step, ...] = ()
    if bd and state == "blank" and options.spare_areas and not report.formatted:
        offer = next((f for f in facts.formattable if f.format_type == FORMAT_FULL), None)
        if offer is None:
            raise OptionNotSupported(f"the drive offers no spare-area format for this {name}; burn "
                                     f"without spare areas")
        prep = (Format(FORMAT_FULL, offer.blocks, subtype=BD_R_SRM_NO_POW),)
        free = min(free, offer.blocks)
    _check_fits(name, data, total, free, code)
    if options.closes_disc:
        finish = CloseFunction.FINALIZE_MINIMAL_RADIUS if code == PROFILE_DVD_PLUS_R_DL else CloseFunction.FINALIZE
    else:
        finish = CloseFunction.SESSION
    track = _last_track(report)
    closing: tuple[Step, ...] = (Sync(), CloseTrack(track), CloseSession(finish))
    steps = prep + _speed(options) + (WriteData(start, data, total, chunk),) + closing
    return BurnPlan(name, strategy, steps, size, start, data, total, chunk, free,
                    previous_session=_previous_session_start(report) if state == "append" else None,
                    closes=options.closes_disc,
                    cancel_steps=(Sync(), CloseTrack(track), CloseSession(CloseFunction.SESSION)))


def _format_step(facts: MediumFacts, options: BurnOptions, name: str) -> tuple[Format | None, int]:
    """The FORMAT UNIT an unformatted overwritable disc needs, and the size it will have."""
    report = facts.report
    code = report.profile.code if report.profile else 0
    if report.formatted is not False or code not in (PROFILE_DVD_PLUS_RW, PROFILE_DVD_PLUS_RW_DL, PROFILE_BD_RE):
        return None, report.free_blocks
    if code == PROFILE_BD_RE:
        wanted = FORMAT_BD_RE_NO_SPARES if options.spare_areas is False else FORMAT_FULL
    else:
        wanted = FORMAT_DVD_PLUS_RW
    offer = next((f for f in facts.formattable if f.format_type == wanted), None)
    if offer is None:
        raise OptionNotSupported(f"the drive offers no format of type {wanted:02X}h for this unformatted "
                                 f"{name}; format it with another tool or pick other spare-area settings")
    return Format(wanted, offer.blocks, type_parameter=offer.type_parameter), offer.blocks


def _plan_overwrite(facts: MediumFacts, size: int, options: BurnOptions, name: str) -> BurnPlan:
    """DVD+RW, DVD-RAM, BD-RE, DVD-RW restricted overwrite: format if needed, write, no close."""
    report = facts.report
    code = report.profile.code if report.profile else 0
    _no_simulation(options, name)
    fmt, capacity = _format_step(facts, options, name)
    chunk = 32 if code == PROFILE_BD_RE else 16
    data = blocks_for(size)
    rigid = code == PROFILE_DVD_RW_RO
    total = _align(data, 16) if rigid else data
    grow = options.multisession and fmt is None and facts.volume_blocks is not None
    start = next_session_start(facts.volume_blocks) if grow and facts.volume_blocks is not None else 0
    if fmt is None and facts.has_data and not grow and not options.overwrite:
        raise MediumNotBlank(f"the {name} holds data"
                             + (" (an ISO 9660 filesystem)" if facts.volume_blocks is not None else "")
                             + "; pass multisession to add to it (ISO growing) or allow overwriting")
    free = capacity - start
    _check_fits(name, data, total, free, code)
    steps: tuple[Step, ...] = ((fmt,) if fmt else ()) + _speed(options) + (WriteData(start, data, total, chunk), Sync())
    if grow:
        steps += (GrowVolume(start, data),)
    lead_out = (fmt is not None and code in (PROFILE_DVD_PLUS_RW, PROFILE_DVD_PLUS_RW_DL)) \
        or (rigid and report.formatted is not True)
    if lead_out:
        steps += (CloseSession(CloseFunction.SESSION),)
    return BurnPlan(name, Strategy.OVERWRITE, steps, size, start, data, total, chunk, free,
                    previous_session=16 if grow else None, closes=False,
                    cancel_steps=(Sync(),) + ((CloseSession(CloseFunction.SESSION),) if lead_out else ()))


_PLANNERS = {
    PROFILE_CD_R: _plan_cd,
    PROFILE_CD_RW: _plan_cd,
    PROFILE_DVD_R: _plan_dvd_minus,
    PROFILE_DVD_RW: _plan_dvd_minus,
    PROFILE_DVD_R_DL: _plan_dvd_minus,
    PROFILE_DVD_PLUS_R: _plan_write_once,
    PROFILE_DVD_PLUS_R_DL: _plan_write_once,
    PROFILE_BD_R: _plan_write_once,
    PROFILE_DVD_PLUS_RW: _plan_overwrite,
    PROFILE_DVD_PLUS_RW_DL: _plan_overwrite,
    PROFILE_DVD_RAM: _plan_overwrite,
    PROFILE_DVD_RW_RO: _plan_overwrite,
    PROFILE_BD_RE: _plan_overwrite,
}
