"""Auto-attach rules (parsing, matching, origins) and the pure parsers of the watcher."""

from __future__ import annotations

import struct
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burnd.virtual import inotify
from burnd.virtual.autoattach import (
    Rule,
    RuleError,
    device_matches,
    folder_matches,
    images_under,
    mount_matches,
    origin,
    origin_parts,
    parse_rules,
)
from burnd.virtual.watch import parse_mountinfo

CONFIG = """
[[auto_attach]]
name = "isos-stick"
match = { ID_FS_LABEL = "ISOS", ID_BUS = "usb" }
glob = "*.iso"

[[auto_attach]]
name = "drive"
match = { ID_SERIAL = "HL-DT-ST*", ID_CDROM_MEDIA = "1" }
image = "/srv/driver.iso"
track = 1

[[auto_attach]]
name = "media"
mount = "/media/*/ISOS"
glob = "**/*.iso"

[[auto_attach]]
name = "inbox"
folder = "/srv/inbox"
glob = "*.cue"
"""


def test_parse_the_documented_example():
    rules = parse_rules(tomllib.loads(CONFIG)["auto_attach"])
    assert [r.name for r in rules] == ["isos-stick", "drive", "media", "inbox"]
    assert [r.trigger for r in rules] == ["match", "match", "mount", "folder"]
    assert rules[1].image == "/srv/driver.iso" and rules[1].track == 1
    assert rules[0].match == {"ID_FS_LABEL": "ISOS", "ID_BUS": "usb"}


@pytest.mark.parametrize("table, message", [
    ({"name": "x", "glob": "*.iso"}, "exactly one of match, mount or folder"),
    ({"name": "x", "mount": "/m", "folder": "/f", "glob": "*"}, "exactly one of match, mount or folder"),
    ({"name": "x", "mount": "/m"}, "exactly one of glob or image"),
    ({"name": "x", "mount": "/m", "image": "/a.iso"}, "only goes with match"),
    ({"name": "x", "folder": "relative", "glob": "*"}, "absolute"),
    ({"name": "x", "folder": "/f", "glob": "../*.iso"}, "may not leave"),
    ({"name": "x", "folder": "/f", "glob": "*", "colour": "red"}, "unknown keys"),
    ({"folder": "/f", "glob": "*"}, "needs a name"),
    ({"name": "x", "match": {"ID_FS_LABEL": 3}, "glob": "*"}, "strings"),
    ({"name": "x", "folder": "/f", "glob": "*", "track": True}, "must be of type int"),
])
def test_bad_rules_are_explained(table, message):
    with pytest.raises(RuleError, match=message):
        parse_rules([table])


def test_duplicate_names_and_non_arrays():
    with pytest.raises(RuleError, match="unique"):
        parse_rules([{"name": "a", "folder": "/f", "glob": "*"}] * 2)
    with pytest.raises(RuleError, match="array"):
        parse_rules({"name": "a"})


def test_device_matching():
    rule = Rule("r", match={"ID_FS_LABEL": "ISO*", "ID_BUS": "usb"})
    assert device_matches(rule, {"ID_FS_LABEL": "ISOS", "ID_BUS": "usb", "DEVNAME": "/dev/sdb1"})
    assert not device_matches(rule, {"ID_FS_LABEL": "ISOS"})  # a missing property never matches
    assert not device_matches(rule, {"ID_FS_LABEL": "isos", "ID_BUS": "usb"})  # case matters
    assert not device_matches(Rule("m", mount="/x"), {"ID_FS_LABEL": "ISOS"})


def test_mount_and_folder_matching():
    assert mount_matches(Rule("m", mount="/media/*/ISOS"), "/media/ann/ISOS")
    assert not mount_matches(Rule("m", mount="/media/*/ISOS"), "/mnt/ISOS")
    rule = Rule("f", folder="/srv/in", glob="*.iso")
    assert folder_matches(rule, "/srv/in/a.iso")
    assert not folder_matches(rule, "/srv/in/a.txt")
    assert not folder_matches(rule, "/srv/other/a.iso")


def test_images_under(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("b.iso", "a.iso", "sub/c.iso", "d.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "dir.iso").mkdir()
    assert images_under(str(tmp_path), "*.iso") == [str(tmp_path / "a.iso"), str(tmp_path / "b.iso")]
    assert str(tmp_path / "sub/c.iso") in images_under(str(tmp_path), "**/*.iso")


@settings(max_examples=50, deadline=None)
@given(parts=st.dictionaries(st.sampled_from(["device", "mount", "file", "folder"]),
                             st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), min_size=1, max_size=30)))
def test_origin_round_trip(parts):
    text = origin(Rule("my rule"), **parts)
    assert origin_parts(text) == {"rule": "my rule", **parts}


def test_manual_attachments_have_no_origin_parts():
    assert origin_parts("") == {}


def test_parse_mountinfo_decodes_escapes():
    text = ("36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw\n"
            "40 35 7:3 / /media/my\\040stick rw - ext4 /dev/loop3 ro\n")
    assert parse_mountinfo(text) == {"/mnt/parent": "98:0", "/media/my stick": "7:3"}


def test_parse_inotify_events():
    def event(wd, mask, name):
        raw = name.encode() + b"\0"
        raw += bytes(-len(raw) % 16)
        return struct.pack("iIII", wd, mask, 0, len(raw)) + raw

    data = event(1, inotify.IN_CLOSE_WRITE, "a.iso") + event(2, inotify.IN_DELETE, "long name here.cue") + \
        struct.pack("iIII", -1, inotify.IN_Q_OVERFLOW, 0, 0)
    assert inotify.parse_events(data) == [
        inotify.Event(1, inotify.IN_CLOSE_WRITE, "a.iso"),
        inotify.Event(2, inotify.IN_DELETE, "long name here.cue"),
        inotify.Event(-1, inotify.IN_Q_OVERFLOW, ""),
    ]
