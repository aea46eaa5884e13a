"""End to end over a private bus: burnd as a process, virtual burners, jobs through D-Bus."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest
from dbus_fast import Variant

from tests.daemon.conftest import run
from tests.daemon.harness import ROOT, CallError, Client
from tests.daemon.images import sparse

ERR = "org.burnd.Burnd1.Error."


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_write_then_verify_then_rip(start_burnd, bus, iso, world):
    start_burnd("--virtual-burner", "bd-r:4000")
    out = world / "rip.iso"
    out.write_bytes(b"")

    async def scenario(c: Client):
        written = await c.run("virtual0", "Write", iso, verify=True)
        state = await c.drive("virtual0", "MediaState")
        verified = await c.run("virtual0", "Verify", iso)
        ripped = await c.run("virtual0", "Rip", out)
        return written, state, verified, ripped

    written, state, verified, ripped = run(scenario, bus.address)
    assert written["State"] == "succeeded", written["ErrorMessage"]
    assert written["Result"]["sha256"] == sha(iso)
    assert written["Result"]["verified"] is True
    assert written["Bytes"] == iso.stat().st_size and written["Progress"] == 1.0
    assert state == "complete"
    assert verified["State"] == "succeeded" and verified["Result"]["sha256"] == sha(iso)
    assert ripped["State"] == "succeeded", ripped["ErrorMessage"]
    assert out.read_bytes()[:iso.stat().st_size] == iso.read_bytes()


def test_blank_and_format(start_burnd, bus, iso):
    start_burnd("--virtual-burner", "cd-rw:4000", "--virtual-burner", "dvd+rw:4000")

    async def scenario(c: Client):
        await c.run("virtual0", "Write", iso)
        before = await c.drive("virtual0", "MediaState")
        blanked = await c.run("virtual0", "Blank")
        after = await c.drive("virtual0", "MediaState")
        formatted = await c.run("virtual1", "Format")
        rewritten = await c.run("virtual1", "Write", iso)
        return before, blanked, after, formatted, rewritten

    before, blanked, after, formatted, rewritten = run(scenario, bus.address)
    assert before == "complete"
    assert blanked["State"] == "succeeded", blanked["ErrorMessage"]
    assert after == "blank"
    assert formatted["State"] == "succeeded", formatted["ErrorMessage"]
    assert rewritten["State"] == "succeeded", rewritten["ErrorMessage"]


def test_group_spreads_copies_over_three_burners_in_parallel(start_burnd, bus, iso):
    daemon = start_burnd()

    async def scenario(c: Client):
        for n in range(3):
            await c.call(ROOT, "org.burnd.Burnd1.Manager", "CreateVirtualBurner", "sa{sv}",
                         ["bd-r", {"size": _u(4000), "name": _s(f"g{n}"), "group": _s("trio")}])
        fd = open(iso, "rb")
        try:
            paths = await c.call(ROOT, "org.burnd.Burnd1.Manager", "WriteToGroup", "sha{sv}",
                                 ["trio", 0, {"copies": _u(3)}], [fd.fileno()])
        finally:
            fd.close()
        results = await asyncio.gather(*(c.finished(p) for p in paths))
        return results

    results = run(scenario, bus.address)
    assert sorted(r["Drive"] for r in results) == [f"{ROOT}/drives/g{n}" for n in range(3)]
    assert sorted(r["Copy"] for r in results) == [1, 2, 3] and {r["Copies"] for r in results} == {3}
    assert all(r["State"] == "succeeded" and r["Result"]["sha256"] == sha(iso) for r in results)
    daemon.stop()


def test_copies_on_one_autoloading_drive(start_burnd, bus, iso):
    start_burnd()

    async def scenario(c: Client):
        await c.call(ROOT, "org.burnd.Burnd1.Manager", "CreateVirtualBurner", "sa{sv}",
                     ["dvd+r", {"size": _u(4000), "name": _s("auto"), "autoload": _b(True)}])
        return await c.run("auto", "Write", iso, copies=3)

    job = run(scenario, bus.address)
    assert job["State"] == "succeeded", job["ErrorMessage"]
    assert job["Result"]["copies_done"] == 3 and job["Copy"] == 3


def test_copies_continue_when_a_blank_disc_is_loaded(start_burnd, bus, iso):
    start_burnd("--virtual-burner", "bd-r:4000")

    async def scenario(c: Client):
        job = await c.write("virtual0", iso, copies=2)
        for _ in range(400):
            if await c.job(job, "Phase") == "waiting for blank medium":
                break
            await asyncio.sleep(0.05)
        busy = await c.drive("virtual0", "Busy")
        await c.submit("virtual0", "Load", media="bd-r")
        return busy, await c.finished(job)

    busy, job = run(scenario, bus.address)
    assert busy is True
    assert job["State"] == "succeeded", job["ErrorMessage"]
    assert job["Result"]["copies_done"] == 2 and job["Copy"] == 2


def test_cancel_while_waiting_for_blank_and_cancel_queued(start_burnd, bus, iso):
    start_burnd("--virtual-burner", "bd-r:4000")

    async def scenario(c: Client):
        first = await c.write("virtual0", iso, copies=2)
        second = await c.write("virtual0", iso)
        await c.watch(first)
        for _ in range(400):
            if await c.job(first, "Phase") == "waiting for blank medium":
                break
            await asyncio.sleep(0.05)
        phase = await c.job(first, "Phase")
        queued_state = await c.job(second, "State")
        await c.call(second, "org.burnd.Burnd1.Job", "Cancel", "a{sv}", [{}])
        await c.call(first, "org.burnd.Burnd1.Job", "Cancel", "a{sv}", [{}])
        return phase, queued_state, await c.finished(first), await c.finished(second)

    phase, queued_state, first, second = run(scenario, bus.address)
    assert phase == "waiting for blank medium" and queued_state == "queued"
    assert first["State"] == "cancelled" and first["ErrorName"] == ERR + "Cancelled"
    assert second["State"] == "cancelled" and not second["Cancelable"]


@pytest.mark.parametrize(("media", "options", "image_size", "error"), [
    ("bd-r:2000", {}, 8 << 20, "MediumTooSmall"),
    ("cd-r:4000", {}, 460_000 * 2048, "WrongMedium"),
    ("dvd+r:4000", {"simulate": True}, None, "OptionNotSupported"),
])
def test_refusals_of_the_engine(start_burnd, bus, iso, world, media, options, image_size, error):
    start_burnd("--virtual-burner", media)
    image = sparse(world / f"{error}.img", image_size) if image_size else iso
    job = run(lambda c: c.run("virtual0", "Write", image, **options), bus.address)
    assert job["State"] == "failed"
    assert job["ErrorName"] == ERR + error
    assert job["ErrorMessage"]


def test_refusals_depending_on_the_disc(start_burnd, bus, iso):
    start_burnd("--virtual-burner", "bd-r:4000", "--virtual-burner", "cd-rw:4000", "--virtual-burner", "dvd+r:4000")

    async def scenario(c: Client):
        await c.run("virtual0", "Write", iso)
        not_writable = await c.run("virtual0", "Write", iso)
        await c.run("virtual1", "Write", iso)
        not_blank = await c.run("virtual1", "Write", iso)
        consent = await c.run("virtual1", "Write", iso, blank_first=True)
        await c.submit("virtual2", "Eject")
        missing = await c.run("virtual2", "Write", iso)
        bad_hash = await c.run("virtual2", "Write", iso, expected_sha256="0" * 64)
        return not_writable, not_blank, consent, missing, bad_hash

    not_writable, not_blank, consent, missing, bad_hash = run(scenario, bus.address)
    assert not_writable["ErrorName"] == ERR + "MediumNotWritable"
    assert not_blank["ErrorName"] == ERR + "MediumNotBlank"
    assert consent["State"] == "succeeded", consent["ErrorMessage"]
    assert missing["ErrorName"] == ERR + "MediumMissing"
    assert bad_hash["ErrorName"] == ERR + "BadImage"


def test_call_time_errors(start_burnd, bus, iso):
    start_burnd("--virtual-burner", "bd-r:4000")

    async def expect(coro):
        try:
            await coro
        except CallError as exc:
            return exc.name
        return None

    async def scenario(c: Client):
        drive = f"{ROOT}/drives/virtual0"
        return [
            await expect(c.write("virtual0", iso, verfy=True)),
            await expect(c.write("virtual0", iso, copies=0)),
            await expect(c.call(ROOT, "org.burnd.Burnd1.Manager", "GetDriveByDevice", "sa{sv}", ["/dev/sr99", {}])),
            await expect(c.call(ROOT, "org.burnd.Burnd1.Manager", "CreateVirtualBurner", "sa{sv}", ["floppy", {}])),
            await expect(c.call(drive, "org.burnd.Burnd1.Drive", "Write", "ha{sv}", [0, {}], [_pipe()])),
            await c.call(ROOT, "org.burnd.Burnd1.Manager", "GetDriveByDevice", "sa{sv}", ["virtual0", {}]),
        ]

    names = run(scenario, bus.address)
    assert names == [ERR + "InvalidOption", ERR + "InvalidOption", ERR + "NoSuchDrive", ERR + "InvalidOption",
                     ERR + "BadImage", f"{ROOT}/drives/virtual0"]


def test_virtual_burner_lifecycle_and_drive_signals(start_burnd, bus):
    start_burnd()

    async def scenario(c: Client):
        path = await c.call(ROOT, "org.burnd.Burnd1.Manager", "CreateVirtualBurner", "sa{sv}",
                            ["cd-rw", {"size": _u(3000)}])
        listed = await c.get(ROOT, "org.burnd.Burnd1.Manager", "Drives")
        media = await c.get(path, "org.burnd.Burnd1.Drive", "MediaType")
        await c.call(path, "org.burnd.Burnd1.Drive", "Load", "a{sv}", [{"media": _s("bd-re")}])
        reloaded = await c.get(path, "org.burnd.Burnd1.Drive", "MediaType")
        await c.call(ROOT, "org.burnd.Burnd1.Manager", "RemoveVirtualBurner", "oa{sv}", [path, {}])
        return path, listed, media, reloaded, await c.get(ROOT, "org.burnd.Burnd1.Manager", "Drives")

    path, listed, media, reloaded, after = run(scenario, bus.address)
    assert path in listed and path not in after
    assert media == "optical_cd_rw" and reloaded == "optical_bd_re"


def _pipe() -> int:
    read, write = os.pipe()
    os.close(write)
    return read


def _u(value: int) -> Variant:
    return Variant("u", value)


def _s(value: str) -> Variant:
    return Variant("s", value)


def _b(value: bool) -> Variant:
    return Variant("b", value)


def test_failures_after_writing_began(start_burnd, bus, iso):
    start_burnd()

    async def scenario(c: Client):
        for name, rule in (("badwrite", "write lba>=100: 3/0C/00"), ("badread", "read lba>=100: 3/11/00")):
            await c.call(ROOT, "org.burnd.Burnd1.Manager", "CreateVirtualBurner", "sa{sv}",
                         ["bd-r", {"size": _u(4000), "name": _s(name), "faults": Variant("as", [rule])}])
        return await c.run("badwrite", "Write", iso), await c.run("badread", "Write", iso)

    write_failed, verify_failed = run(scenario, bus.address)
    assert write_failed["ErrorName"] == ERR + "WriteFailed"
    assert 0 < write_failed["Result"]["blocks_written"] <= 100
    assert verify_failed["ErrorName"] == ERR + "VerifyMismatch"
    assert 64 <= verify_failed["Result"]["bad_first_lba"] <= 100


def test_only_the_newest_ended_jobs_stay_exported(start_burnd, bus, iso, tmp_path):
    config = tmp_path / "burnd.toml"
    config.write_text('job_history = 2\n[[virtual_burner]]\nmedia = "dvd+rw"\nsize = 4000\nname = "rw"\n')
    start_burnd("--config", str(config))

    async def scenario(c: Client):
        jobs = [await c.finished(await c.write("rw", iso, blank_first=True)) for _ in range(3)]
        objects = await c.call(ROOT, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
        return jobs, sorted(p for p in objects if "/jobs/" in p)

    jobs, exported = run(scenario, bus.address)
    assert [j["State"] for j in jobs] == ["succeeded"] * 3
    assert exported == [f"{ROOT}/jobs/2", f"{ROOT}/jobs/3"]
