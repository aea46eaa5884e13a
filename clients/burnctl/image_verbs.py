"""Local image verbs: they run burnd's image library in this process, with the user's own
permissions, and need no daemon. Each is ``def verb(args, out) -> Exit``."""

from __future__ import annotations

import argparse
import os
import stat
import time
from typing import Any

from burnctl.exitcodes import CliError, Exit
from burnctl.output import Output
from burnctl.progress import human_bytes
from burnctl.views import document


def source_view(source: Any) -> dict[str, Any]:
    """A SectorSource's layout: format and the tracks of each session."""
    return {
        "format": source.format,
        "sessions": [{"number": s.number, "tracks": [
            {"number": t.number, "mode": t.mode.value, "start_lba": t.start_lba, "sectors": t.sectors,
             "sector_size": t.sector_size, "pregap": t.pregap, "data": t.is_data} for t in s.tracks]}
            for s in source.sessions],
    }


def info(args: argparse.Namespace, out: Output) -> Exit:
    from burnd.image.iso import inspect
    from burnd.image.open import open_image

    with open_image(args.image) as source:
        layout = source_view(source)
    iso = inspect(args.image).to_dict() if layout["format"] in ("iso", "udf") else None
    doc = document("image-info", path=args.image, size=os.stat(args.image).st_size, iso=iso, **layout)
    if out.json:
        out.document(doc)
        return Exit.OK
    out.text(f"{args.image}: {layout['format']} image, {human_bytes(doc['size'])}")
    for session in layout["sessions"]:
        for track in session["tracks"]:
            out.text(f"  session {session['number']} track {track['number']}: {track['mode']}, "
                     f"{track['sectors']} sectors from LBA {track['start_lba']}")
    if iso:
        volume = iso.get("volume") or {}
        out.text(f"  file system: {iso['file_system']}, volume {volume.get('volume_id') or iso.get('udf_volume_id') or '-'}")
        extras = [name for name, on in (("Joliet", iso["joliet_level"]), ("Rock Ridge", iso["rock_ridge"]),
                                        ("El Torito", iso["el_torito"]), ("UDF", iso["udf"])) if on]
        if extras:
            out.text(f"  extensions: {', '.join(extras)}")
        tree = iso["tree"]
        out.text(f"  {tree['files']} files, {tree['directories']} directories, {human_bytes(tree['total_bytes'])}")
    return Exit.OK


def mode_text(entry: dict[str, Any]) -> str:
    mode = entry.get("mode")
    if mode is None:
        return {"dir": "d", "symlink": "l"}.get(entry["type"], "-") + "?????????"
    return stat.filemode(mode)


def ls(args: argparse.Namespace, out: Output) -> Exit:
    from burnd.image.iso import list_image

    prefix = "/" + args.path.strip("/") if args.path else "/"
    entries = [e.to_dict() for e in list_image(args.image)]
    if prefix != "/":
        entries = [e for e in entries if e["path"] == prefix or e["path"].startswith(prefix + "/")]
        if not entries:
            raise CliError(f"{args.image}: no {prefix} in the image", Exit.USAGE)
    if out.json:
        out.document(document("image-ls", path=args.image, entries=entries))
        return Exit.OK
    for entry in entries:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(entry["mtime"])) if entry["mtime"] is not None else "-"
        target = f" -> {entry['target']}" if entry.get("target") else ""
        out.text(f"{mode_text(entry)} {entry['size']:>12} {when} {entry['path']}{target}")
    return Exit.OK


def extract(args: argparse.Namespace, out: Output) -> Exit:
    from burnd.image.iso import extract as run

    report = run(args.image, args.target, force=args.force, paths=args.paths or None).to_dict()
    if out.json:
        out.document(document("image-extract", **report))
    else:
        for skipped in report.get("skipped", []):
            out.error(f"skipped {skipped.get('path')}: {skipped.get('reason')}")
        out.text(f"extracted {args.image} into {args.target}")
    return Exit.OK


def create(args: argparse.Namespace, out: Output) -> Exit:
    from burnd.image.iso import create as run

    report = run(args.source, args.output, volume_id=args.volume_id, joliet=not args.no_joliet,
                 rock_ridge=not args.no_rock_ridge).to_dict()
    if out.json:
        out.document(document("image-create", output=args.output, **report))
    else:
        for skipped in report["skipped"]:
            out.error(f"left out {skipped['path']}: {skipped['reason']}")
        out.text(f"created {args.output}: {report['files']} files, {human_bytes(report['size'])}")
    return Exit.OK


def edit(args: argparse.Namespace, out: Output) -> Exit:
    from burnd.image.iso import edit as run

    if not args.operations and args.volume_id is None:
        raise CliError("nothing to do: give --add, --replace, --remove, --rename or --volume-id", Exit.USAGE)
    if (args.output is None) == (not args.in_place):
        raise CliError("give either -o OUTPUT or --in-place", Exit.USAGE)
    report = run(args.image, args.output, args.operations, volume_id=args.volume_id, in_place=args.in_place).to_dict()
    written = args.image if args.in_place else args.output
    if out.json:
        out.document(document("image-edit", output=written, **report))
    else:
        for dropped in report["dropped"]:
            out.error(f"dropped {dropped['path']}: {dropped['reason']}")
        out.text(f"wrote {written}: {human_bytes(report['size'])}")
    return Exit.OK


def convert(args: argparse.Namespace, out: Output) -> Exit:
    from burnd.image.convert import convert_to_iso, write_bin_cue
    from burnd.image.open import open_image

    target = args.to or ("cue" if args.output.lower().endswith((".cue", ".bin")) else "iso")
    if target == "cue":
        with open_image(args.image) as source:
            paths = write_bin_cue(source, os.path.splitext(args.output)[0] + ".cue", cooked=args.cooked)
        doc = document("image-convert", to="cue", outputs=list(paths), dropped=[])
    else:
        report = convert_to_iso(args.image, args.output, session=args.session, track=args.track)
        doc = document("image-convert", to="iso", outputs=[args.output], dropped=report.dropped,
                       sectors=report.sectors, bytes=report.bytes_written, edc_errors=report.edc_errors.count)
    if out.json:
        out.document(doc)
    else:
        for part in doc["dropped"]:
            out.error(f"left out: {part}")
        out.text(f"wrote {', '.join(doc['outputs'])}")
    return Exit.OK


def checksum(args: argparse.Namespace, out: Output) -> Exit:
    from burnd.image.checksum import check_image

    report = check_image(args.image, args.sums, args.algorithm or ("sha256",)).to_dict()
    failed = _mismatches(report)
    if out.json:
        out.document(document("image-checksum", path=args.image, ok=not failed, **report))
    else:
        for algorithm, digest in sorted(report["digests"].items()):
            out.text(f"{algorithm}  {digest}")
        for name, part in (("implanted MD5", report["implanted_md5"]), ("libisofs tags", report["libisofs"]),
                           ("SUMS file", report["sums"])):
            if part and part.get("status") not in (None, "absent"):
                out.text(f"{name}: {part['status']}")
    for what in failed:
        out.error(f"{args.image}: {what} does not match")
    return Exit.VERIFY_MISMATCH if failed else Exit.OK


def _mismatches(report: dict[str, Any]) -> list[str]:
    parts = (("the implanted MD5", report["implanted_md5"]), ("a libisofs checksum tag", report["libisofs"]),
             ("the SUMS file's digest", report["sums"]))
    return [name for name, part in parts if part and part.get("status") == "mismatch"]
