"""Close an open session, or finalize an appendable disc, as a standalone job (reference §3.18).

Needed after an interrupted burn left the last session open (libburn closes such a session
before writing; burnd asks first, because the next session's image depends on where the new
session starts) and when the user wants to finalize a multi-session disc for players.
"""

from __future__ import annotations

from burnd.burn import ops
from burnd.burn import plan as p
from burnd.burn.errors import MediumNotWritable
from burnd.drive import MediaReport, OpticalDrive
from burnd.scsi.mmc import CloseFunction, MultiSession, WriteType

PAGE05_MEDIA = frozenset({p.PROFILE_CD_R, p.PROFILE_CD_RW, p.PROFILE_DVD_R, p.PROFILE_DVD_RW, p.PROFILE_DVD_R_DL})
SESSION_MEDIA = PAGE05_MEDIA | {p.PROFILE_DVD_PLUS_R, p.PROFILE_DVD_PLUS_R_DL, p.PROFILE_BD_R}


def close_session(drive: OpticalDrive, *, finalize: bool = False, poll: float = 0.2) -> MediaReport:
    """Close the open session (its unfinished track too) and, with ``finalize``, the disc.

    On CD and DVD-R[W] page 05h's Multi-session field decides whether CLOSE SESSION leaves the
    disc appendable, so it is set first; DVD+R and BD-R have their own finalize functions.
    Returns the new media report.
    """
    report = ops.ready_report(drive, "the disc to close")
    assert report.profile is not None
    code = report.profile.code
    if code not in SESSION_MEDIA:
        raise MediumNotWritable(f"a {report.profile.name} has no sessions to close")
    if report.disc_status != "appendable":
        raise MediumNotWritable(f"the {report.profile.name} is {report.disc_status}; only an appendable disc has a "
                                f"session to close or can be finalized")
    if report.last_session_state != "incomplete" and not finalize:
        raise MediumNotWritable(f"every session of the {report.profile.name} is already closed; pass finalize to "
                                f"close the disc")
    with ops.tray_locked(drive):
        if code in PAGE05_MEDIA:
            write_type = WriteType.TAO if report.profile.is_cd else WriteType.PACKET
            ops.set_write_parameters(drive, p.WriteParameters(
                write_type, MultiSession.FINAL if finalize else MultiSession.OPEN, False,
                track_mode=4 if report.profile.is_cd else 5, packet=not report.profile.is_cd))
        unfinished = next((t for t in report.tracks if not t.blank and t.nwa is not None), None)
        if unfinished is not None:
            ops.close(drive, CloseFunction.TRACK, unfinished.number, poll=poll)
        function = CloseFunction.SESSION
        if finalize and code not in PAGE05_MEDIA:
            function = CloseFunction.FINALIZE_MINIMAL_RADIUS if code == p.PROFILE_DVD_PLUS_R_DL else CloseFunction.FINALIZE
        ops.close(drive, function, poll=poll)
    return drive.media_report()
