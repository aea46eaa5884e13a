"""udev-rules/70-burnd.rules run by udevd's own engine (`udevadm test`) on a real device.

There is no optical drive here, so a loop device stands in: a test-only rule marks it
ID_CDROM=1 first, exactly what 60-cdrom_id.rules does for a drive. The rules directory is a
tmpfs in a private mount namespace, so the machine's udev configuration is never touched;
/run gets a private tmpfs too, since `udevadm test` writes the udev database there.
A second run without the marker checks that other disks are left alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "udev-rules" / "70-burnd.rules"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("udevadm") is None or shutil.which("unshare") is None
    or shutil.which("losetup") is None, reason="needs root, udevadm (udev), unshare and losetup (util-linux)")


@pytest.fixture
def loop_device(tmp_path):
    image = tmp_path / "disk.img"
    image.write_bytes(bytes(1 << 20))
    device = subprocess.run(["losetup", "--find", "--show", str(image)], capture_output=True, text=True,
                            check=True).stdout.strip()
    yield Path(device).name
    subprocess.run(["losetup", "--detach", device], check=True)


def udev_test(name: str, marker: bool) -> dict[str, str]:
    extra = f"printf '%s\\n' 'SUBSYSTEM==\"block\", KERNEL==\"{name}\", ENV{{ID_CDROM}}=\"1\"' " \
            f"> /etc/udev/rules.d/00-test.rules && " if marker else ""
    script = (f"mount -t tmpfs none /etc/udev/rules.d && mount -t tmpfs none /run && mkdir /run/udev && "
              f"{extra}cp {RULES} /etc/udev/rules.d/ && udevadm test --action=add /sys/class/block/{name}")
    out = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, check=True)
    assert "70-burnd.rules" in out.stdout + out.stderr
    assert "invalid" not in (out.stdout + out.stderr).lower()
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line and " " not in line)


def test_optical_drive_is_tagged_and_starts_burnd(loop_device):
    props = udev_test(loop_device, marker=True)
    assert "burnd" in props["TAGS"].split(":")
    assert props["SYSTEMD_WANTS"] == "burnd.service"
    assert props["BURND_DRIVE"] == "1"


def test_other_disks_are_left_alone(loop_device):
    props = udev_test(loop_device, marker=False)
    assert "burnd" not in props.get("TAGS", "").split(":")
    assert "BURND_DRIVE" not in props
