"""burnctl's command line: the one source that --help, the man page and the shell completions
are all generated from.

Every sub-parser carries ``handler`` (the verb's function) and ``local`` (True when it runs
without the daemon). Positional metavars double as completion hints (see ``completion``)."""

from __future__ import annotations

import argparse
import re

from burnctl import attach_verbs as av
from burnctl import daemon_verbs as dv
from burnctl import image_verbs as iv
from burnctl import robot_verbs as rv
from burnctl.exitcodes import describe

PROG = "burnctl"
SUMMARY = "Burn, verify, rip and inspect discs and disc images through the burnd daemon."
DRIVE_HELP = ("/dev/srN, /dev/sgN, a /dev/disk/by-id link, a drive id or a virtual burner's name; "
              "may be left out when only one drive can write")
ROBOT_HELP = "a disc robot's name, as `burnctl robot list` shows it"
ENVIRONMENT = (
    ("BURNCTL_BUS", "the bus burnd is on when --bus is not given: system (default), session or a D-Bus address"),
    ("NO_COLOR", "when set, burnctl prints no colours"),
    ("TMPDIR", "where directories are mastered and discs are read for verify --sha256 and copy"),
)


def epilog() -> str:
    return "exit codes:\n" + describe() + "\n\nenvironment:\n" + "\n".join(
        f"  {name:<12} {text}" for name, text in ENVIRONMENT)


class EditOperation(argparse.Action):
    """Collect --add/--replace/--remove/--rename in command-line order (edits apply in order)."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[override]
        from burnd.image.iso import Add, Remove, Rename, Replace

        operations = list(getattr(namespace, "operations", None) or [])
        if option_string == "--remove":
            operations.append(Remove(values))
        else:
            left, sep, right = values.partition("=")
            if not sep or not left or not right:
                parser.error(f"{option_string} wants ISO_PATH=HOST_PATH (or OLD=NEW), not {values!r}")
            kind = {"--add": Add, "--replace": Replace, "--rename": Rename}[option_string]
            operations.append(kind(left, right))
        namespace.operations = operations


def sha256_hex(value: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise argparse.ArgumentTypeError("a SHA-256 digest is 64 hexadecimal digits")
    return value.lower()


def positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return number


def common_options() -> argparse.ArgumentParser:
    """Options every verb accepts, before or after the verb."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("output")
    group.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print a JSON document (schema in the 'schema' key) instead of text")
    group.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                       help="print nothing but errors")
    group.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                       help="say more about what happens (on stderr)")
    group.add_argument("--bus", default=argparse.SUPPRESS, metavar="BUS",
                       help="system, session or a D-Bus address (default: $BURNCTL_BUS, else system)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(prog=PROG, description=SUMMARY, epilog=epilog(), parents=[common],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, handler, help: str, *, local: bool = False, sub=verbs) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common], epilog=epilog(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(handler=handler, local=local)
        return p

    def drive_arg(p: argparse.ArgumentParser, optional: bool = True, name: str = "drive") -> None:
        p.add_argument(name, metavar="DRIVE", nargs="?" if optional else None, help=DRIVE_HELP)

    def robot_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("robot", metavar="ROBOT", help=ROBOT_HELP)

    def job_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--detach", action="store_true", help="start the job, print its id and leave it running")

    p = verb("drives", dv.drives, "list the drives and virtual burners burnd knows")
    p.add_argument("--ids", action="store_true", help="print only the drive ids, one per line")
    p.set_defaults(virtual_only=False)

    drive_arg(verb("info", dv.info, "show a drive and its medium"))

    p = verb("write", rv.write, "burn an image (or a directory, mastered to ISO on the fly) to a disc, "
             "or to many discs with a disc robot (--robot)")
    p.add_argument("image", metavar="IMAGE", help="a disc image file, or a directory to put on the disc")
    drive_arg(p)
    p.add_argument("--no-verify", dest="verify", action="store_false", default=None,
                   help="do not read the disc back after writing (verify is on by default where the medium allows)")
    p.add_argument("--copies", type=positive, help="how many discs to write (a drive asks for a blank disc between "
                   "them; with --robot: how many good discs to make)")
    p.add_argument("--speed", type=positive, metavar="KB_S", help="write speed in kB/s (default: the drive's best)")
    p.add_argument("--simulate", action="store_true", help="dummy write: the laser stays off (where supported)")
    p.add_argument("--multisession", action="store_true", help="leave the disc appendable")
    p.add_argument("--no-finalize", dest="finalize", action="store_false", default=None,
                   help="do not close the disc")
    p.add_argument("--blank", action="store_true", help="blank or overwrite a disc that holds data (consent)")
    p.add_argument("--eject", action="store_true", help="eject the disc when done")
    p.add_argument("--sha256", "--expected-sha256", type=sha256_hex, metavar="HASH",
                   help="refuse the image unless its SHA-256 is HASH")
    p.add_argument("--tmpdir", metavar="DIR", help="where a directory is mastered (default: $TMPDIR)")
    p.add_argument("--robot", metavar="ROBOT", help="burn with this disc robot, in all its drives at once: load a "
                   "blank from its input bin, burn, verify, drop into the accept (or reject) bin, repeat")
    p.add_argument("--pause-on-empty", action="store_true",
                   help="with --robot: pause for a refill when the input bin runs out (default: end with fewer copies)")
    job_options(p)

    p = verb("verify", dv.verify, "compare a disc with an image, a SHA-256 digest or a SHA256SUMS file")
    drive_arg(p, optional=False)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("image", metavar="IMAGE", nargs="?", help="the image the disc should hold")
    what.add_argument("--sha256", type=sha256_hex, metavar="HASH", help="the disc's expected SHA-256")
    what.add_argument("--sums", metavar="SHA256SUMS", help="a checksum list; the disc must match one entry")
    p.add_argument("--name", help="with --sums: the entry to match (default: any)")
    p.add_argument("--size", type=positive, help="bytes to read with --sha256/--sums (default: the ISO volume)")
    p.add_argument("--tmpdir", metavar="DIR", help="where the disc is read to for --sha256/--sums")
    job_options(p)

    p = verb("blank", dv.blank, "blank a rewritable disc")
    drive_arg(p)
    p.add_argument("--full", action="store_true", help="blank the whole disc, not just its table of contents")
    job_options(p)

    p = verb("format", dv.format_, "format a disc (DVD+RW, DVD-RW, BD-RE, DVD-RAM)")
    drive_arg(p)
    p.add_argument("--force", action="store_true", help="format even a disc that is already formatted")
    p.add_argument("--no-spare-areas", dest="spare_areas", action="store_false", default=None,
                   help="BD-RE: format without spare areas (more space, no defect management)")
    p.add_argument("--restricted-overwrite", action="store_true", help="DVD-RW: restricted overwrite mode")
    job_options(p)

    drive_arg(verb("eject", dv.eject, "open the tray"))
    p = verb("load", dv.load, "close the tray (on a virtual burner, insert a new blank disc)")
    drive_arg(p)
    p.add_argument("--media", metavar="KIND", help="virtual burners: the kind of blank disc (bd-r, dvd+rw, cd-rw …)")

    p = verb("rip", dv.rip, "read a disc into an image file")
    drive_arg(p, optional=False)
    p.add_argument("out", metavar="OUT", help="the image file to create")
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    p.add_argument("--size", type=positive, help="bytes to read (default: the ISO volume, else the recorded area)")
    job_options(p)

    p = verb("copy", dv.copy, "copy a disc to another disc (read into a temporary image, then write)")
    drive_arg(p, optional=False, name="source")
    drive_arg(p, optional=False, name="target")
    p.add_argument("--no-verify", dest="verify", action="store_false", default=None, help="do not verify the copy")
    p.add_argument("--blank", action="store_true", help="blank or overwrite a target disc that holds data")
    p.add_argument("--tmpdir", metavar="DIR", help="where the disc is read to (default: $TMPDIR)")

    p = verb("jobs", dv.jobs, "list burnd's jobs")
    p.add_argument("--active", action="store_true", help="only jobs that are queued or running")
    verb("watch", dv.watch, "follow a job until it ends (Ctrl-C stops watching, not the job)").add_argument(
        "job", metavar="JOB", help="a job id (as `burnctl jobs` shows) or object path")
    verb("cancel", dv.cancel, "cancel a job").add_argument("job", metavar="JOB", help="a job id or object path")

    p = verb("attach", av.attach, "attach a disc image as a loop device (a virtual drive); prints the device")
    p.add_argument("image", metavar="IMAGE", help="an ISO, BIN/CUE, NRG, MDS, CCD, CDI, ECM … image")
    p.add_argument("--session", type=positive, help="the session to take the data track from")
    p.add_argument("--track", type=positive, help="the data track to attach (default: the first data track)")
    p.add_argument("--rw", action="store_true", help="attach writable (plain 2048-byte images only)")
    p.add_argument("--partscan", action="store_true", help="let the kernel scan the image for partitions")
    verb("detach", av.detach, "detach an image burnd attached").add_argument(
        "target", metavar="DEVICE_OR_IMAGE",
        help="the loop device (/dev/loopN), the image (detaches all its attachments), or a folder such as a "
             "USB stick's mount point (detaches every image under it, so the stick can be unmounted)")
    verb("attached", av.attached, "list the images burnd attached as loop devices")

    virtual = verb("virtual", None, "manage virtual burners (software drives for tests and demos)")
    vsub = virtual.add_subparsers(dest="virtual_verb", metavar="ACTION", required=True)
    p = verb("list", dv.virtual_list, "list the virtual burners", sub=vsub)
    p.set_defaults(ids=False)
    p = verb("create", dv.virtual_create, "create a virtual burner holding a blank disc", sub=vsub)
    p.add_argument("media", metavar="KIND", help="the blank disc's kind: cd-r, cd-rw, dvd-r, dvd+rw, bd-r, bd-re …")
    p.add_argument("--name", help="its id (default: virtualN)")
    p.add_argument("--size", type=positive, metavar="BLOCKS", help="capacity in 2048-byte blocks")
    p.add_argument("--group", help="a drive group to write copies to in parallel")
    p.add_argument("--autoload", action="store_true", help="insert a new blank disc after every eject")
    p.add_argument("--fault", dest="faults", action="append", metavar="RULE",
                   help="inject a drive fault, e.g. 'write lba>=1000: 3/0C/00' (repeatable; for tests)")
    drive_arg(verb("remove", dv.virtual_remove, "remove a virtual burner", sub=vsub), optional=False)

    robot = verb("robot", None, "disc robots (autoloaders, duplicator towers, publishers); "
                 "`burnctl write --robot` burns with one")
    rsub = robot.add_subparsers(dest="robot_verb", metavar="ACTION", required=True)
    p = verb("list", rv.robot_list, "list the disc robots: protocol, port, state, drives by bay, bins", sub=rsub)
    p.add_argument("--names", action="store_true", help="print only the robot names, one per line")
    robot_arg(verb("status", rv.status, "ask a robot for its status now and show it", sub=rsub))
    robot_arg(verb("pause", rv.pause, "pause a robot's batch: load no more discs (those being burned finish)",
                   sub=rsub))
    robot_arg(verb("resume", rv.resume, "continue a paused batch, once what paused it (a jam, a full bin …) is fixed",
                   sub=rsub))
    p = verb("simulate", rv.simulate, "virtual robots: play a fault or the operator (for tests and demos)", sub=rsub)
    robot_arg(p)
    p.add_argument("action", metavar="ACTION", nargs="+",
                   help="jam, jam after N, silent, answer, empty input, reject full, clear jam or refill N")

    image = verb("image", None, "work on image files locally (no daemon needed)", local=True)
    isub = image.add_subparsers(dest="image_verb", metavar="ACTION", required=True)
    p = verb("info", iv.info, "show an image's format, tracks and file system", local=True, sub=isub)
    p.add_argument("image", metavar="IMAGE")
    p = verb("ls", iv.ls, "list an ISO/UDF image's files", local=True, sub=isub)
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("path", metavar="PATH", nargs="?", help="only this file or directory (inside the image)")
    p = verb("extract", iv.extract, "copy files out of an ISO/UDF image", local=True, sub=isub)
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("target", metavar="DIR", help="the directory to extract into")
    p.add_argument("paths", metavar="PATH", nargs="*", help="only these paths (inside the image)")
    p.add_argument("--force", action="store_true", help="overwrite files that exist")
    p = verb("create", iv.create, "make an ISO image of a directory", local=True, sub=isub)
    p.add_argument("source", metavar="DIR")
    p.add_argument("output", metavar="OUT")
    p.add_argument("-V", "--volume-id", default="CDROM", help="the volume label (default CDROM)")
    p.add_argument("--no-joliet", action="store_true", help="leave out Joliet (Windows long names)")
    p.add_argument("--no-rock-ridge", action="store_true", help="leave out Rock Ridge (POSIX names and modes)")
    p = verb("edit", iv.edit, "add, replace, remove or rename files of an ISO image", local=True, sub=isub)
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("-o", "--output", metavar="OUT", help="write the edited image here")
    p.add_argument("--in-place", action="store_true", help="replace IMAGE (atomically)")
    p.add_argument("--add", action=EditOperation, metavar="ISO_PATH=HOST_PATH", help="add a host file or directory")
    p.add_argument("--replace", action=EditOperation, metavar="ISO_PATH=HOST_PATH", help="replace a file")
    p.add_argument("--remove", action=EditOperation, metavar="ISO_PATH", help="remove a file or directory")
    p.add_argument("--rename", action=EditOperation, metavar="OLD=NEW", help="move a file or directory")
    p.add_argument("-V", "--volume-id", help="set the volume label")
    p.set_defaults(operations=[])
    p = verb("convert", iv.convert, "convert an image to ISO (one data track) or BIN/CUE (every track)",
             local=True, sub=isub)
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("output", metavar="OUT", help="the new image (.iso, or .cue for BIN/CUE)")
    p.add_argument("--to", choices=("iso", "cue"), help="output format (default: from OUT's extension)")
    p.add_argument("--session", type=positive, help="ISO: the session to take the data track from")
    p.add_argument("--track", type=positive, help="ISO: the track to convert")
    p.add_argument("--cooked", action="store_true", help="BIN/CUE: data tracks as MODE1/2048")
    p = verb("checksum", iv.checksum, "hash an image and check its embedded and listed checksums",
             local=True, sub=isub)
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--sums", metavar="SHA256SUMS", help="check the image's entry in this checksum list")
    p.add_argument("--algorithm", action="append", choices=("sha256", "md5", "sha1", "sha512"),
                   help="digests to compute (repeatable; default sha256)")

    from burnctl import generate, notify

    p = verb("notify", notify.run, "show desktop notifications when your jobs finish or need a blank disc")
    p.add_argument("--session-bus", metavar="ADDRESS",
                   help="where org.freedesktop.Notifications is (default: the session bus)")
    p = verb("completion", generate.completion, "print a shell completion script", local=True)
    p.add_argument("shell", choices=("bash", "zsh", "fish"))
    verb("manpage", generate.manpage, "print the burnctl(1) man page (roff)", local=True)
    return parser
