"""The systemd unit, the D-Bus activation file and the bus policy agree with each other."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tests.daemon.harness import REPO

DBUS = REPO / "dbus"


def _ini(path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment]
    parser.read(path)
    return parser


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed (systemd)")
def test_unit_passes_systemd_analyze_verify(tmp_path):
    text = (DBUS / "burnd.service").read_text()
    assert "ExecStart=/usr/bin/burnd " in text
    unit = tmp_path / "burnd.service"
    unit.write_text(text.replace("/usr/bin/burnd", f"{sys.executable} -m burnd"))
    out = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr


def test_activation_file_points_at_the_unit():
    unit = _ini(DBUS / "burnd.service")
    activation = _ini(DBUS / "org.burnd.Burnd1.service")["D-BUS Service"]
    assert activation["Name"] == unit["Service"]["BusName"] == "org.burnd.Burnd1"
    assert activation["SystemdService"] == unit["Install"]["Alias"]
    assert "ProtectSystem" in unit["Service"] and unit["Service"]["PrivateTmp"] == "yes"


def test_policy_lets_only_root_own_the_name_and_guards_every_interface():
    root = ET.parse(DBUS / "org.burnd.Burnd1.conf").getroot()
    owners = [p.get("user") for p in root.iter("policy") if p.find("allow[@own='org.burnd.Burnd1']") is not None]
    assert owners == ["root"]
    default = next(p for p in root.iter("policy") if p.get("context") == "default")
    assert default.find("deny[@send_destination='org.burnd.Burnd1']") is not None
    open_to_all = {(a.get("send_interface"), a.get("send_member")) for a in default.iter("allow")}
    assert ("org.burnd.Burnd1.Drive", None) not in open_to_all
    assert ("org.freedesktop.DBus.Properties", "Set") not in open_to_all
