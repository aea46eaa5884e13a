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
    view = {"id": object_id(path), "object_path": path}
    view.update({snake(k): v for k, v in sorted(props.items())})
    view["drive"] = object_id(view.get("drive", ""))
    return view


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
    lines = [f"{key + ':':<14}{value}" for key, value in rows if value != ""]
    for track in drive.get("tracks", []):
        kind = "data" if track.get("data") else "audio"
        lines.append(f"  track {track.get('number')}: session {track.get('session')}, {kind}, "
                     f"start {track.get('start')}, {track.get('blocks')} blocks"
                     + (", blank" if track.get("blank") else ""))
    return lines


def job_line(job: dict[str, Any]) -> str:
    """``3  write  virtual0  running  writing  42%`` — one row of ``burnctl jobs``."""
    percent = f"{job.get('progress', 0.0) * 100:.0f}%"
    return f"{job['id']:<5} {job.get('kind', ''):<7} {job.get('drive', ''):<12} {job.get('state', ''):<12} " \
           f"{job.get('phase', ''):<26} {percent}"


def job_path(spec: str) -> str:
    """A job number or object path → its object path."""
    return spec if spec.startswith("/") else f"{ROOT}/jobs/{spec}"


def result_line(job: dict[str, Any]) -> str:
    """The one line that ends a job: what happened, in terms a person reads at a glance."""
    kind, state = job.get("kind", "job"), job.get("state", "")
    result = job.get("result") or {}
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
    return f"{kind} {state} on {job.get('drive', '')}: {message}"
