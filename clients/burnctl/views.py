"""Daemon objects as burnctl's stable --json documents and as human text.

The JSON keys are snake_case copies of the D-Bus properties plus ``id``; they are documented in
clients/burnctl/README.md and only ever grow (a new key never renames an old one)."""

from __future__ import annotations

import re
from typing import Any

from burnctl.client import ROOT
from burnctl.progress import human_bytes

SCHEMA_VERSION = 1
WRITE_ONCE_MEDIA = frozenset({"optical_cd_r", "optical_dvd_r", "optical_dvd_plus_r", "optical_dvd_r_dl",
                              "optical_dvd_plus_r_dl", "optical_bd_r", "optical_hddvd_r"})
TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled", "interrupted"})


def snake(name: str) -> str:
    """``FreeBytes`` → ``free_bytes``, ``StartedByUID`` → ``started_by_uid``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def document(kind: str, **body: Any) -> dict[str, Any]:
    """A top-level --json document: ``schema`` names its shape and version."""
    return {"schema": f"burnctl.{kind}/{SCHEMA_VERSION}", **body}


def object_id(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def virtual_drive_view(path: str, props: dict[str, Any]) -> dict[str, Any]:
    """An attached image: ``id`` is the loop device's name (loop0)."""
    return {"id": object_id(path), "object_path": path, **{snake(k): v for k, v in sorted(props.items())}}


def virtual_drive_line(drive: dict[str, Any]) -> str:
    flags = ["ro" if drive["read_only"] else "rw", drive["view"]] + (["auto"] if drive["auto_attached"] else [])
    return f"{drive['device']}  {drive['backing_file']}  ({drive['format']}, {', '.join(flags)})"


def drive_view(path: str, props: dict[str, Any]) -> dict[str, Any]:
    view = {"id": props.get("Id") or object_id(path), "object_path": path}
    view.update({snake(k): v for k, v in sorted(props.items()) if k != "Id"})
    view["current_job"] = "" if view.get("current_job", "/") == "/" else object_id(view["current_job"])
    return view


def job_view(path: str, props: dict[str, Any]) -> dict[str, Any]:
    """``drive`` and ``robot`` are ids, "" for "/" (a robot-write batch has no one drive; other
    jobs have no robot)."""
    view = {"id": object_id(path), "object_path": path}
    view.update({snake(k): v for k, v in sorted(props.items())})
    view["drive"] = object_id(view.get("drive", ""))
    view["robot"] = object_id(view.get("robot", ""))
    return view


def job_target(job: dict[str, Any]) -> str:
    """What a job runs on: its drive, or a robot-write batch's robot."""
    return job.get("drive") or job.get("robot", "")


def robot_view(path: str, props: dict[str, Any]) -> dict[str, Any]:
    """A robot: ``id`` is its name; ``drives`` the drive ids in bay order ("" for a bay whose
    configured drive is not present); ``current_job`` a job id or ""."""
    view = {"id": props.get("Name") or object_id(path), "object_path": path}
    view.update({snake(k): v for k, v in sorted(props.items())})
    view["drives"] = [object_id(d) for d in view.get("drives", [])]
    view["current_job"] = object_id(view.get("current_job", ""))
    return view


BIN_ORDER = ("input", "accept", "reject")


def bins_text(bins: dict[str, Any]) -> str:
    """``input 25, accept 3, reject 0``; "?" for a bin the robot cannot count."""
    return ", ".join(f"{name} {bins.get(name, '?')}" for name in BIN_ORDER)


def robot_line(robot: dict[str, Any]) -> str:
    """``tower  rimage-ras13  /dev/pts/3  idle  drives tower_bay0,tower_bay1  bins …`` — one row
    of ``burnctl robot list``."""
    drives = ",".join(d or "(missing)" for d in robot.get("drives", [])) or "-"
    flag = "  [virtual]" if robot.get("virtual") else ""
    return (f"{robot['id']:<12} {robot.get('protocol', ''):<16} {robot.get('port', ''):<14} "
            f"{robot.get('state', ''):<8} drives {drives}  bins {bins_text(robot.get('bins', {}))}{flag}")


def robot_details(robot: dict[str, Any], status: dict[str, Any] | None) -> list[str]:
    """``burnctl robot status`` as aligned ``key: value`` lines; ``status`` is QueryStatus's
    answer (None when the robot gave none)."""
    bays = ", ".join(f"bay {bay}: {drive or '(missing)'}" for bay, drive in enumerate(robot.get("drives", [])))
    rows = [
        ("Robot", robot["id"] + (" (virtual)" if robot.get("virtual") else "")),
        ("Protocol", robot.get("protocol", "")),
        ("Port", robot.get("port", "")),
        ("State", robot.get("state", "")),
        ("Detail", robot.get("detail", "")),
        ("Error", robot.get("error_name", "").rsplit(".", 1)[-1]),
        ("Drives", bays or "-"),
        ("Bins", bins_text(robot.get("bins", {}))),
        ("Current job", robot.get("current_job") or "-"),
    ]
    if status is not None:
        rows += [("Ready", "yes" if status.get("ready") else "no"), ("Robot says", status.get("raw", ""))]
    return aligned(rows)


def aligned(rows: list[tuple[str, str]]) -> list[str]:
    """``Key:  value`` lines with the values in one column; empty values are left out."""
    return [f"{key + ':':<14}{value}" for key, value in rows if value != ""]


def drive_line(drive: dict[str, Any]) -> str:
    """``virtual0  BD-R (blank)  23.3 GiB free  [virtual]`` — one row of ``burnctl drives``."""
    nodes = ",".join(drive.get("device_nodes") or []) or "-"
    media = media_text(drive)
    flags = [f for f, on in (("virtual", drive.get("virtual")), ("busy", drive.get("busy"))) if on]
    model = " ".join(p for p in (drive.get("vendor", ""), drive.get("model", "")) if p)
    return f"{drive['id']:<12} {nodes:<18} {model:<28.28} {media}" + (f"  [{', '.join(flags)}]" if flags else "")


def media_text(drive: dict[str, Any]) -> str:
    kind = drive.get("media_type", "")
    if not kind:
        return "no disc"
    name = kind.removeprefix("optical_").replace("_plus_", "+").replace("_", "-").upper()
    free = f", {human_bytes(drive.get('free_bytes', 0))} free" if drive.get("free_bytes") else ""
    return f"{name} ({drive.get('media_state', '')}{free})"


def drive_details(drive: dict[str, Any]) -> list[str]:
    """``burnctl info`` as aligned ``key: value`` lines."""
    rows = [
        ("Drive", drive["id"]),
        ("Device", ", ".join(drive.get("device_nodes") or []) or "(virtual burner)"),
        ("Model", " ".join(p for p in (drive.get("vendor"), drive.get("model"), drive.get("revision")) if p)),
        ("Serial", drive.get("serial", "")),
        ("Group", drive.get("group", "")),
        ("Medium", media_text(drive)),
        ("Capacity", human_bytes(drive.get("capacity", 0))),
        ("Sessions", str(drive.get("sessions", 0))),
        ("Write speeds", ", ".join(f"{s} kB/s" for s in drive.get("write_speeds", [])) or "-"),
        ("Profiles", ", ".join(drive.get("profiles", [])) or "-"),
        ("Current job", drive.get("current_job") or "-"),
    ]
    lines = aligned(rows)
    for track in drive.get("tracks", []):
        kind = "data" if track.get("data") else "audio"
        lines.append(f"  track {track.get('number')}: session {track.get('session')}, {kind}, "
                     f"start {track.get('start')}, {track.get('blocks')} blocks"
                     + (", blank" if track.get("blank") else ""))
    return lines


def job_line(job: dict[str, Any]) -> str:
    """``3  write  virtual0  running  writing  42%`` — one row of ``burnctl jobs`` (a robot-write
    batch names its robot where other jobs name their drive)."""
    percent = f"{job.get('progress', 0.0) * 100:.0f}%"
    return f"{job['id']:<5} {job.get('kind', ''):<11} {job_target(job):<12} {job.get('state', ''):<12} " \
           f"{job.get('phase', ''):<26} {percent}"


def job_path(spec: str) -> str:
    """A job number or object path → its object path."""
    return spec if spec.startswith("/") else f"{ROOT}/jobs/{spec}"


def batch_counts(job: dict[str, Any]) -> tuple[int, int]:
    """(accepted, rejected) discs of a robot-write batch: the daemon's final count once it has
    one, else the discs listed so far."""
    result, discs = job.get("result") or {}, job.get("discs") or []
    accepted = sum(1 for disc in discs if disc.get("accepted"))
    return int(result.get("accepted", accepted)), int(result.get("rejected", len(discs) - accepted))


def batch_summary(job: dict[str, Any]) -> str:
    """``20 of 20 copies accepted, 2 rejected``."""
    accepted, rejected = batch_counts(job)
    return f"{accepted} of {job.get('copies', 0)} copies accepted, {rejected} rejected"


def batch_result_line(job: dict[str, Any]) -> str:
    """How a robot-write batch ended: the counts, and for a failure burnd's reason (which
    often carries the counts itself: they are not said twice)."""
    kind, state, summary = job.get("kind", "robot-write"), job.get("state", ""), batch_summary(job)
    head = f"{kind} {state} on {job_target(job)}"
    if state == "succeeded":
        empty = "; the input bin is now empty" if (job.get("result") or {}).get("input_exhausted") else ""
        return f"{head}: {summary}{empty}"
    reason = job.get("error_message") or state
    return f"{head}: {reason}" if summary.split(",")[0] in reason else f"{head}: {summary}: {reason}"


def disc_line(disc: dict[str, Any]) -> str:
    """``disc 3 (bay 1, tower_bay1): accepted`` or ``…: rejected: <why>`` — one disc of a batch."""
    where = f"disc {disc.get('number', '?')} (bay {disc.get('bay', '?')}, {disc.get('drive', '')})"
    if disc.get("accepted"):
        return f"{where}: accepted"
    return f"{where}: rejected: {disc.get('error') or disc.get('error_name') or 'no reason given'}"


def result_line(job: dict[str, Any]) -> str:
    """The one line that ends a job: what happened, in terms a person reads at a glance."""
    kind, state = job.get("kind", "job"), job.get("state", "")
    result = job.get("result") or {}
    if kind == "robot-write":
        return batch_result_line(job)
    if state == "succeeded":
        amount = human_bytes(result.get("bytes", job.get("bytes", 0)))
        extra = []
        if result.get("sha256"):
            extra.append(f"sha256 {result['sha256']}")
        if kind == "write":
            extra.append("verified" if result.get("verified") else "not verified")
            if result.get("simulated"):
                extra.append("simulated")
        return f"{kind} succeeded on {job.get('drive', '')}: {amount}" + (f" ({', '.join(extra)})" if extra else "")
    message = job.get("error_message") or state
    return f"{kind} {state} on {job_target(job)}: {message}"
