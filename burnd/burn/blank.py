"""Blank and format as standalone jobs (reference §5.5, §5.7, §5.8, §3.11, §3.12).

Both refuse, before sending anything, media that cannot be blanked or formatted that way,
and report the drive's own progress indicator while it works ("format in progress"). The
tray is locked for the duration and unlocked on every exit path.
"""

from __future__ import annotations

from typing import Callable

from burnd.burn import ops
from burnd.burn import plan as p
from burnd.burn.errors import MediumNotBlank, MediumNotWritable, OptionNotSupported
from burnd.burn.progress import DRIVE_SCALE, Phase, ProgressCallback, ProgressMeter
from burnd.drive import MediaReport, OpticalDrive
from burnd.scsi.mmc import FormattableCapacity
from burnd.scsi.sense import IllegalRequest

BLANKABLE = frozenset({p.PROFILE_CD_RW, p.PROFILE_DVD_RW, p.PROFILE_DVD_RW_RO})
FORMAT_DVD_RAM = 0x00
FORMAT_BD_RE_SPARES = 0x30
FORMAT_BD_R_SPARES = 0x32


def _with_meter(progress: ProgressCallback | None, phase: Phase, work: Callable[[Callable[[float], None]], None]) -> None:
    meter = ProgressMeter(progress, phase, DRIVE_SCALE)
    meter.update(0)
    work(meter.fraction)
    meter.finish()


def run_blank(drive: OpticalDrive, full: bool, progress: ProgressCallback | None, poll: float) -> None:
    """BLANK and wait, reporting the drive's progress indicator (also used inside a burn plan)."""
    _with_meter(progress, Phase.BLANKING, lambda report: ops.blank(drive, full, on_progress=report, poll=poll))


def run_format(drive: OpticalDrive, step: p.Format, progress: ProgressCallback | None, poll: float) -> None:
    """FORMAT UNIT and wait, reporting the drive's progress indicator ("format in progress")."""
    _with_meter(progress, Phase.FORMATTING, lambda report: ops.format_unit(drive, step, on_progress=report, poll=poll))


def blank(drive: OpticalDrive, fast: bool = True, *, progress: ProgressCallback | None = None,
          poll: float = 0.2) -> MediaReport:
    """BLANK a CD-RW or DVD-RW (minimal when ``fast``, else full); returns the new report.

    A DVD-RW in restricted overwrite goes back to sequential recording. Fast-blanked DVD-RW
    cannot be written incrementally (multi-session); blank fully for that.
    """
    report = ops.ready_report(drive, "a disc")
    assert report.profile is not None
    if report.profile.code not in BLANKABLE:
        raise MediumNotWritable(f"a {report.profile.name} cannot be blanked; only CD-RW and DVD-RW can"
                                + (" — to reuse it, just burn over it (allow overwriting)" if report.overwritable
                                   else ""))
    with ops.tray_locked(drive):
        run_blank(drive, not fast, progress, poll)
    return drive.media_report()


def _offer(offers: tuple[FormattableCapacity, ...], format_type: int, name: str) -> FormattableCapacity:
    offer = next((o for o in offers if o.format_type == format_type), None)
    if offer is None:
        raise OptionNotSupported(f"the drive offers no format of type {format_type:02X}h for this {name}")
    return offer


def format_step(report: MediaReport, offers: tuple[FormattableCapacity, ...], *,
                spare_areas: bool | None = None, restricted_overwrite: bool = False,
                force: bool = False) -> p.Format:
    """The FORMAT UNIT for a medium (pure): DVD+RW 26h; DVD-RAM 00h; BD-RE 00h/30h/31h;
    blank BD-R 00h SRM without POW (or 32h); DVD-RW → restricted overwrite 15h (quick) or 00h.

    ``force`` is the consent to reformat media that already hold data.
    """
    code = report.profile.code if report.profile else 0
    name = report.profile.name if report.profile else "disc"
    if code == p.PROFILE_DVD_PLUS_RW:
        offer = _offer(offers, p.FORMAT_DVD_PLUS_RW, name)
        return p.Format(p.FORMAT_DVD_PLUS_RW, offer.blocks)
    if code == p.PROFILE_DVD_RAM:
        offer = _offer(offers, FORMAT_DVD_RAM, name)
        return p.Format(FORMAT_DVD_RAM, offer.blocks, type_parameter=offer.type_parameter)
    if code == p.PROFILE_BD_RE:
        kind = {None: p.FORMAT_FULL, True: FORMAT_BD_RE_SPARES, False: p.FORMAT_BD_RE_NO_SPARES}[spare_areas]
        offer = _offer(offers, kind, name)
        return p.Format(kind, offer.blocks, type_parameter=offer.type_parameter)
    if code == p.PROFILE_BD_R:
        if not report.blank or report.formatted:
            raise MediumNotWritable(f"only a blank, unformatted BD-R can be formatted; this one is "
                                    f"{report.disc_status} — it stays as it is")
        if spare_areas is False:
            raise OptionNotSupported("a BD-R without spare areas needs no formatting; just burn it")
        offer = _offer(offers, p.FORMAT_FULL, name)
        return p.Format(p.FORMAT_FULL, offer.blocks, subtype=p.BD_R_SRM_NO_POW)
    if code in (p.PROFILE_DVD_RW, p.PROFILE_DVD_RW_RO) and (restricted_overwrite or code == p.PROFILE_DVD_RW_RO):
        if code == p.PROFILE_DVD_RW and not report.blank and not force:
            raise MediumNotBlank("the DVD-RW holds data; formatting it erases everything — allow it to proceed")
        kind = p.FORMAT_DVD_RW_QUICK if code == p.PROFILE_DVD_RW else p.FORMAT_FULL
        offer = _offer(offers, kind, name)
        return p.Format(kind, offer.blocks, type_parameter=offer.type_parameter)
    raise MediumNotWritable(f"a {name} cannot be formatted"
                            + ("; DVD-RW can be formatted for restricted overwrite (restricted_overwrite)"
                               if code == p.PROFILE_DVD_RW else ""))


def format_medium(drive: OpticalDrive, *, spare_areas: bool | None = None, restricted_overwrite: bool = False,
                  force: bool = False, progress: ProgressCallback | None = None, poll: float = 0.2) -> MediaReport:
    """Format the disc in the drive (see :func:`format_step`); returns the new report."""
    report = ops.ready_report(drive, "a disc")
    try:
        offers = drive.format_capacities().formattable
    except IllegalRequest:
        offers = ()
    if report.overwritable and report.formatted and not force:
        raise MediumNotBlank(f"the {report.profile} is already formatted; reformatting erases it — allow it "
                             f"to proceed, or just burn over it")
    step = format_step(report, offers, spare_areas=spare_areas, restricted_overwrite=restricted_overwrite,
                       force=force)
    with ops.tray_locked(drive):
        run_format(drive, step, progress, poll)
    return drive.media_report()
