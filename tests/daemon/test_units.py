"""Config, options, the store and fd handling, without a bus."""

from __future__ import annotations

import os

import pytest

from burnd.config import Config, ConfigError, parse, parse_virtual_burner_flag
from burnd.devices.drive import ManagedDrive
from burnd.devices.media import media_state, media_type
from burnd.drive import OpticalDrive
from burnd.emu import VirtualBurner
from burnd.jobs.errors import InvalidOption
from burnd.jobs.files import PositionalFile, reopen_as
from burnd.jobs.options import WRITE, check
from burnd.jobs.store import JobStore


def test_empty_config_has_every_default():
    assert parse("") == Config()


def test_config_with_virtual_burners():
    config = parse('state_dir = "/srv/burnd"\nshutdown_timeout = 5\n[[virtual_burner]]\nmedia = "bd-r"\n'
                   'size = 100\ngroup = "g"\nautoload = true\n')
    assert config.state_dir == "/srv/burnd" and config.shutdown_timeout == 5.0
    burner = config.virtual_burners[0]
    assert (burner.media, burner.size, burner.group, burner.autoload) == ("bd-r", 100, "g", True)


@pytest.mark.parametrize("text", ['stat_dir = "/x"', "[[virtual_burner]]\nmedia = 'floppy'",
                                  "[[virtual_burner]]\nmedia = 'bd-r'\nsize = -1", "bus = 3", "= broken",
                                  "robot = 1", "virtual_robot = 'x'"])
def test_bad_config_is_refused(text):
    with pytest.raises(ConfigError):
        parse(text)


def test_virtual_burner_flag():
    assert parse_virtual_burner_flag("dvd+rw:300").size == 300
    assert parse_virtual_burner_flag("bd-r").size is None
    with pytest.raises(ConfigError):
        parse_virtual_burner_flag("bd-r:lots")


def test_options_are_checked():
    assert check({"verify": False, "copies": 2}, WRITE, "Write") == {"verify": False, "copies": 2}
    for bad in ({"verfy": True}, {"verify": 1}, {"copies": 0}, {"expected_sha256": "abc"}):
        with pytest.raises(InvalidOption):
            check(bad, WRITE, "Write")


def test_store_recovers_queue_order_and_interrupts_running(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    jobs = [store.add("d", "write", {"copies": 1}, "/img", 1000, 1000, (1000, 24)) for _ in range(3)]
    jobs[0].state, jobs[0].bytes = "running", 4096
    store.save(jobs[0])
    store.close()
    queued, interrupted = JobStore(tmp_path / "jobs.sqlite").recover()
    assert [j.id for j in queued] == [jobs[1].id, jobs[2].id]
    assert queued[0].groups == (1000, 24)
    assert [(j.id, j.state, j.bytes) for j in interrupted] == [(jobs[0].id, "interrupted", 4096)]


def test_positional_files_do_not_share_an_offset(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * 16)
    fd = os.open(path, os.O_RDONLY)
    a, b = PositionalFile(fd), PositionalFile(fd)
    buf_a, buf_b = bytearray(10), bytearray(10)
    a.seek(100)
    assert a.readinto(buf_a) == 10 and b.readinto(buf_b) == 10
    assert bytes(buf_a) == bytes(range(100, 110)) and bytes(buf_b) == bytes(range(10))
    a.close()
    assert b.readinto(buf_b) == 10 and bytes(buf_b) == bytes(range(10, 20))
    os.close(fd)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root")
def test_reopen_uses_the_submitters_permissions(world):
    private, public = world / "private", world / "public"
    private.write_text("root only")
    private.chmod(0o600)
    public.write_text("anyone")
    public.chmod(0o644)
    fd = reopen_as(str(public), 65534, 65534, ())
    assert os.read(fd, 10) == b"anyone"
    os.close(fd)
    with pytest.raises(PermissionError):
        reopen_as(str(private), 65534, 65534, ())
    assert os.geteuid() == 0 and private.read_text() == "root only"


@pytest.mark.parametrize(("media", "kind", "state"), [("bd-r", "optical_bd_r", "blank"),
                                                      ("dvd+rw", "optical_dvd_plus_rw", "blank"),
                                                      ("cd-rw", "optical_cd_rw", "blank")])
def test_media_names_follow_udisks(media, kind, state):
    drive = OpticalDrive(VirtualBurner(media, capacity=1000))
    drive.wait_ready()
    report = drive.media_report()
    assert (media_type(report), media_state(report)) == (kind, state)


def test_real_drives_announce_media_changes_to_udev(tmp_path):
    (tmp_path / "block" / "sr0").mkdir(parents=True)
    real = ManagedDrive("sr0", nodes=("/dev/sg0", "/dev/sr0"), sys_name="sr0")
    real.announce(str(tmp_path))
    assert (tmp_path / "block" / "sr0" / "uevent").read_text() == "change"
    virtual = ManagedDrive("v", burner=VirtualBurner("bd-r", capacity=100))
    virtual.announce(str(tmp_path))
    assert not (tmp_path / "block" / "v").exists()
    real.close()
    virtual.close()


def test_the_unit_keeps_burnd_in_the_hosts_network_namespace():
    """udevd sends its events over netlink in the host's network namespace: PrivateNetwork=
    would leave burnd blind to drives and media coming and going (systemd.exec(5))."""
    from tests.daemon.harness import REPO

    settings = [line.split("=", 1) for line in (REPO / "dbus" / "burnd.service").read_text().splitlines()
                if "=" in line and not line.startswith("#")]
    assert ("PrivateNetwork", "yes") not in [(k.strip(), v.strip()) for k, v in settings]
    assert ("RestrictAddressFamilies", "AF_UNIX AF_NETLINK") in [(k.strip(), v.strip()) for k, v in settings]
