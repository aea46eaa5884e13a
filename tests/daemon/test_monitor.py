"""The uevent path with real kernel events: loop devices emit them when attached and detached."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from burnd.devices.udev import UdevWatch, enable_media_polling, is_optical, polling_needed

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/loop-control")
                                or shutil.which("losetup") is None,
                                reason="needs root, /dev/loop-control and losetup (util-linux)")


def test_watch_delivers_kernel_events_of_a_loop_device(tmp_path):
    backing = tmp_path / "disk.img"
    backing.write_bytes(bytes(1 << 20))

    async def scenario():
        events = []
        got = asyncio.Event()
        watch = UdevWatch(lambda e: (events.append(e), got.set()), source="kernel")
        watch.start(asyncio.get_running_loop())
        device = ""
        try:
            device = subprocess.run(["losetup", "--find", "--show", str(backing)], capture_output=True, text=True,
                                    check=True).stdout.strip()
            name = Path(device).name
            while not any(e.sys_name == name for e in events):
                got.clear()
                await asyncio.wait_for(got.wait(), 10)
        finally:
            watch.stop()
            if device:
                subprocess.run(["losetup", "--detach", device], check=True)
        return name, events

    name, events = asyncio.run(scenario())
    mine = [e for e in events if e.sys_name == name]
    assert {e.action for e in mine} & {"add", "change"}
    assert not any(is_optical(e.sys_name, e.properties) for e in mine)


@pytest.mark.parametrize(("device", "default", "needed"), [(-1, 0, True), (-1, 2000, False), (0, 2000, True),
                                                           (500, 0, False)])
def test_polling_needed(device, default, needed):
    assert polling_needed(device, default) is needed


def test_enable_media_polling_writes_only_where_off(tmp_path):
    sysfs = tmp_path
    (sysfs / "block" / "sr0").mkdir(parents=True)
    (sysfs / "module" / "block" / "parameters").mkdir(parents=True)
    (sysfs / "module" / "block" / "parameters" / "events_dfl_poll_msecs").write_text("0\n")
    knob = sysfs / "block" / "sr0" / "events_poll_msecs"
    knob.write_text("-1\n")
    assert enable_media_polling("sr0", 2000, str(sysfs)) is True
    assert knob.read_text() == "2000"
    assert enable_media_polling("sr0", 1000, str(sysfs)) is False
    assert knob.read_text() == "2000"
