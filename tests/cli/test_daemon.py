"""Every daemon verb as a real burnctl process against a real burnd on a private bus.

Each test creates its own virtual burners (named after the test), so the tests share one daemon
but never one drive."""

from __future__ import annotations

import hashlib
import signal
import subprocess
from pathlib import Path

import pycdlib

from tests.cli.conftest import Daemon, Lines, burnctl_argv, cli_env, run_burnctl
from tests.daemon.images import make_iso, sparse

DRIVE_KEYS = {"id", "object_path", "vendor", "model", "revision", "serial", "device_nodes", "virtual", "group",
              "profiles", "media_type", "media_state", "capacity", "free_bytes", "sessions", "tracks",
              "write_speeds", "busy", "current_job"}
JOB_KEYS = {"id", "object_path", "kind", "drive", "state", "phase", "progress", "bytes", "total_bytes", "rate",
            "start_time", "expected_end_time", "buffer_fill", "copy", "copies", "result", "error_name",
            "error_message", "started_by_uid", "cancelable"}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_drives_and_info(daemon: Daemon):
    daemon.burner("lister", "bd-r")
    doc = daemon.cli("drives", "--json").json()
    assert doc["schema"] == "burnctl.drives/1"
    drive = next(d for d in doc["drives"] if d["id"] == "lister")
    assert DRIVE_KEYS <= set(drive)
    assert drive["virtual"] is True and drive["media_type"] == "optical_bd_r" and drive["media_state"] == "blank"
    assert "lister" in daemon.cli("drives", "--ids").out.split()
    info = daemon.cli("info", "lister", "--json").json()
    assert info["schema"] == "burnctl.drive/1" and info["drive"]["free_bytes"] == 4000 * 2048
    text = daemon.cli("info", "lister").out
    assert "Drive:        lister" in text and "BD-R (blank" in text


def test_write_verify_rip_in_plain_non_tty_output(daemon: Daemon, iso: Path, world: Path):
    daemon.burner("flow", "bd-r")
    written = daemon.cli("write", str(iso), "flow")
    assert written.code == 0, written.err
    lines = written.out.splitlines()
    assert "\r" not in written.out and "\x1b" not in written.out  # not a terminal: plain lines only
    assert any(line.startswith("verifying: ") for line in lines)
    assert lines[-1] == f"write succeeded on flow: 348 KiB (sha256 {sha(iso)}, verified)"
    assert daemon.cli("verify", "flow", str(iso)).code == 0
    assert daemon.cli("verify", "flow", "--sha256", sha(iso)).code == 0
    sums = world / "SHA256SUMS"
    sums.write_text(f"{'1' * 64}  other.iso\n{sha(iso)}  small.iso\n")
    matched = daemon.cli("verify", "flow", "--sums", str(sums), "--json").json()
    assert matched == {"schema": "burnctl.verify/1", "drive": "flow", "sha256": sha(iso), "matched": "small.iso",
                       "ok": True}
    out = world / "flow-rip.iso"
    assert daemon.cli("rip", "flow", str(out)).code == 0
    assert sha(out) == sha(iso)
    again = daemon.cli("rip", "flow", str(out))
    assert again.code == 2 and "--force" in again.err


def test_verify_mismatch_exit_code(daemon: Daemon, iso: Path, world: Path):
    daemon.burner("mismatch", "bd-r")
    assert daemon.cli("write", str(iso), "mismatch", "--no-verify", "-q").code == 0
    other = make_iso(world / "other.iso", 300 * 1024, seed=99)
    result = daemon.cli("verify", "mismatch", str(other))
    assert result.code == 8 and "verify failed on mismatch" in result.err
    assert daemon.cli("verify", "mismatch", "--sha256", "0" * 64).code == 8


def test_write_json_document(daemon: Daemon, iso: Path):
    daemon.burner("jsonw", "dvd+r")
    result = daemon.cli("--json", "write", str(iso), "jsonw")
    assert result.code == 0, result.err
    doc = result.json()  # the whole of stdout is one document: no progress lines mixed in
    assert doc["schema"] == "burnctl.job/1" and JOB_KEYS <= set(doc["job"])
    job = doc["job"]
    assert (job["kind"], job["drive"], job["state"]) == ("write", "jsonw", "succeeded")
    assert job["result"]["sha256"] == sha(iso) and job["result"]["verified"] is True
    listed = daemon.cli("jobs", "--json").json()
    assert listed["schema"] == "burnctl.jobs/1"
    assert any(j["id"] == job["id"] and j["state"] == "succeeded" for j in listed["jobs"])


def test_write_a_directory_masters_it(daemon: Daemon, world: Path):
    daemon.burner("dirw", "bd-r")
    source = world / "Holiday Photos"
    source.mkdir()
    (source / "a.txt").write_text("A" * 5000)
    result = daemon.cli("write", str(source), "dirw", "-v")
    assert result.code == 0, result.err
    assert "mastering" in result.err
    ripped = world / "dir-rip.iso"
    assert daemon.cli("rip", "dirw", str(ripped)).code == 0
    reader = pycdlib.PyCdlib()
    reader.open(str(ripped))
    try:
        assert reader.get_record(rr_path="/a.txt").data_length == 5000
        assert reader.pvd.volume_identifier.decode().strip() == "HOLIDAY_PHOTOS"
    finally:
        reader.close()


def test_refusals_have_their_exit_codes(daemon: Daemon, iso: Path, world: Path):
    daemon.burner("small", "bd-r", 2000)
    too_big = daemon.cli("write", str(sparse(world / "big.img", 8 << 20)), "small")
    assert too_big.code == 6, too_big.err
    daemon.burner("once", "bd-r")
    assert daemon.cli("write", str(iso), "once", "-q").code == 0
    full = daemon.cli("write", str(iso), "once")
    assert full.code == 5 and "write failed on once" in full.err
    daemon.burner("empty", "dvd+r")
    assert daemon.cli("eject", "empty").code == 0
    assert daemon.cli("info", "empty", "--json").json()["drive"]["media_type"] == ""
    assert daemon.cli("write", str(iso), "empty").code == 5
    assert daemon.cli("load", "empty").code == 0
    no_drive = daemon.cli("write", str(iso), "no-such-drive")
    assert no_drive.code == 11 and no_drive.err.count("\n") == 1
    missing = daemon.cli("write", str(world / "missing.iso"), "empty")
    assert missing.code == 10 and "cannot open the image" in missing.err
    bad_hash = daemon.cli("write", str(iso), "empty", "--sha256", "0" * 64)
    assert bad_hash.code == 10


def test_several_drives_need_a_name(daemon: Daemon, iso: Path):
    daemon.burner("pick1", "bd-r")
    result = daemon.cli("write", str(iso))
    assert result.code == 2 and "name one" in result.err and "pick1" in result.err


def test_blank_format_eject_load(daemon: Daemon, iso: Path):
    daemon.burner("rw", "cd-rw")
    assert daemon.cli("write", str(iso), "rw", "-q").code == 0
    blanked = daemon.cli("blank", "rw")
    assert blanked.code == 0 and blanked.out.splitlines()[-1].startswith("blank succeeded on rw")
    assert daemon.cli("info", "rw", "--json").json()["drive"]["media_state"] == "blank"
    daemon.burner("plus", "dvd+rw")
    assert daemon.cli("write", str(iso), "plus", "-q").code == 0
    assert daemon.cli("format", "plus").code == 5  # formatted already: needs consent
    assert daemon.cli("format", "plus", "--force").code == 0
    assert daemon.cli("load", "plus", "--media", "bd-re").code == 0
    assert daemon.cli("info", "plus", "--json").json()["drive"]["media_type"] == "optical_bd_re"


def test_copy_disc_to_disc(daemon: Daemon, iso: Path, world: Path):
    daemon.burner("master", "bd-r")
    daemon.burner("clone", "dvd+r")
    assert daemon.cli("write", str(iso), "master", "-q").code == 0
    copied = daemon.cli("copy", "master", "clone")
    assert copied.code == 0, copied.err
    assert copied.out.splitlines()[-1].startswith("write succeeded on clone")
    out = world / "clone.iso"
    assert daemon.cli("rip", "clone", str(out), "-q").code == 0
    assert sha(out) == sha(iso)


def test_detach_jobs_cancel_watch(daemon: Daemon, iso: Path):
    daemon.burner("queue", "bd-r")
    started = daemon.cli("write", str(iso), "queue", "--copies", "2", "--detach")
    assert started.code == 0
    job = started.out.strip()
    assert job.isdigit()
    for _ in range(200):
        active = daemon.cli("jobs", "--active", "--json").json()["jobs"]
        mine = [j for j in active if j["id"] == job]
        if mine and mine[0]["phase"] == "waiting for blank medium":
            break
    assert mine and mine[0]["phase"] == "waiting for blank medium"
    assert job in daemon.cli("jobs", "--active").out.split()
    assert daemon.cli("cancel", job).code == 0
    watched = daemon.cli("watch", job)
    assert watched.code == 9 and "write cancelled on queue" in watched.err


def test_sigint_cancels_the_job(daemon: Daemon, iso: Path):
    daemon.burner("interrupt", "bd-r")
    process = subprocess.Popen(burnctl_argv("--bus", daemon.address, "write", str(iso), "interrupt", "--copies", "2"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                               env=cli_env())
    try:
        Lines(process.stdout).until(lambda line: line.startswith("waiting for blank medium"))
        process.send_signal(signal.SIGINT)
        err = process.stderr.read()
        assert process.wait(60) == 9, err
    finally:
        if process.poll() is None:
            process.kill()
    assert "cancelling" in err and "write cancelled on interrupt" in err and "Traceback" not in err


def test_virtual_burners(daemon: Daemon):
    created = daemon.cli("virtual", "create", "dvd-r", "--group", "trio", "--size", "3000")
    assert created.code == 0
    name = created.out.strip()
    listed = daemon.cli("virtual", "list", "--json").json()
    assert listed["schema"] == "burnctl.drives/1" and all(d["virtual"] for d in listed["drives"])
    mine = next(d for d in listed["drives"] if d["id"] == name)
    assert mine["group"] == "trio" and mine["media_type"] == "optical_dvd_r"
    assert daemon.cli("virtual", "create", "floppy").code == 2
    assert daemon.cli("virtual", "remove", name).code == 0
    assert name not in daemon.cli("drives", "--ids").out.split()
    assert daemon.cli("virtual", "remove", name).code == 11


def test_a_bus_without_burnd_is_unreachable(world: Path):
    from tests.daemon.harness import PrivateBus

    empty = PrivateBus(world / "empty-bus")
    try:
        result = run_burnctl("drives", "--json", bus=empty.address)
    finally:
        empty.stop()
    assert result.code == 3 and result.out == ""
    assert result.err.count("\n") == 1 and "no process owns org.burnd.Burnd1" in result.err


def test_burnd_going_away_mid_job_is_unreachable(world: Path, iso: Path):
    from tests.daemon.harness import Burnd, PrivateBus

    bus = PrivateBus(world / "dying-bus")
    burnd = Burnd(bus, world / "dying-state", "--virtual-burner", "bd-r:4000").start()
    process = subprocess.Popen(burnctl_argv("--bus", bus.address, "write", str(iso), "virtual0", "--copies", "2"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                               env=cli_env())
    try:
        Lines(process.stdout).until(lambda line: line.startswith("waiting for blank medium"))
        burnd.kill()
        err = process.stderr.read()
        assert process.wait(60) == 3, err
    finally:
        if process.poll() is None:
            process.kill()
        bus.stop()
    assert "burnd stopped while job 1 was running" in err and "Traceback" not in err


def test_the_only_writer_needs_no_name(world: Path, iso: Path):
    from tests.daemon.harness import Burnd, PrivateBus

    bus = PrivateBus(world / "single-bus")
    burnd = Burnd(bus, world / "single-state", "--virtual-burner", "dvd+r:4000").start()
    try:
        result = run_burnctl("write", str(iso), "-q", bus=bus.address)
        info = run_burnctl("info", "--json", bus=bus.address).json()
    finally:
        burnd.stop()
        bus.stop()
    assert result.code == 0 and result.out == ""
    assert info["drive"]["id"] == "virtual0" and info["drive"]["media_state"] == "complete"


def test_a_failing_write_exits_7(daemon: Daemon, iso: Path):
    daemon.burner("faulty", "bd-r", 4000, "--fault", "write lba>=50: 3/0C/00")
    result = daemon.cli("write", str(iso), "faulty")
    assert result.code == 7, result.err
    assert result.err.startswith("burnctl: write failed on faulty: ") and "Traceback" not in result.err
