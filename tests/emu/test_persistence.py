"""Backing files: discs survive a new VirtualBurner, and images load as ROM media."""

from __future__ import annotations

import json
import os

import pytest

from burnd.emu import VirtualBurner
from burnd.emu.backing import BackingError
from tests.emu import host as h


def test_burned_disc_survives_a_new_burner(make_host, tmp_path):
    path = str(tmp_path / "disc.img")
    first = make_host("dvd+r", backing=path)
    first.write(0, 32, fill=0xC3)
    first.ok(h.sync_cache())
    first.ok(h.close(1, track=1))
    first.ok(h.close(2))
    first.vb.close()
    assert os.path.getsize(path) == 32 * 2048
    with open(path + ".state.json", encoding="utf-8") as handle:
        state = json.load(handle)
    assert state["kind"] == "dvd+r"

    again = make_host("bd-r", backing=path)  # the stored kind wins
    assert again.profile() == 0x1B
    info = again.disc()
    assert (info.status, info.sessions) == (1, 2)
    assert again.read(31, 1) == bytes((0xC3,)) * 2048
    nwa = again.track(0xFF).nwa
    again.write(nwa, 16, fill=0x3C)
    again.ok(h.sync_cache())
    again.ok(h.close(1, track=2))
    again.ok(h.close(6))
    again.vb.close()

    final = make_host(backing=path)
    assert final.disc().status == 2
    assert final.read(nwa, 1) == bytes((0x3C,)) * 2048


def test_insert_with_backing_and_corrupt_sidecar(make_host, tmp_path):
    path = str(tmp_path / "bd.img")
    host = make_host(None)
    host.vb.insert("bd-re", backing=path)
    host.run(h.tur())
    host.ok(h.format_unit(), h.OUT, h.format_params(12_219_392, 0x31, 0x800))
    host.wait_ready()
    host.write(1000, 32, fill=7)
    host.vb.remove_medium()
    host.vb.insert("bd-re", backing=path)
    host.run(h.tur())
    assert host.read(1000, 1) == bytes((7,)) * 2048
    host.vb.close()
    with open(path + ".state.json", "w") as handle:
        handle.write("{not json")
    with pytest.raises(BackingError, match="delete it"):
        VirtualBurner("bd-re", backing=path)


@pytest.mark.parametrize("kind,profile", [("cd-rom", 0x08), ("dvd-rom", 0x10), ("bd-rom", 0x40)])
def test_rom_media_from_an_image(make_host, tmp_path, kind, profile):
    image = tmp_path / "image.iso"
    blocks = [bytes((i,)) * 2048 for i in range(40)]
    image.write_bytes(b"".join(blocks))
    host = make_host(kind, read_only_image=str(image))
    assert host.profile() == profile
    info = host.disc()
    assert (info.status, info.sessions) == (2, 1)
    assert host.read(17, 2) == blocks[17] + blocks[18]
    assert host.get(h.read_capacity(), 8)[0:4] == (39).to_bytes(4, "big")
    assert host.check(h.write10(0, 1), h.OUT, bytes(2048)) == (5, 0x30, 0x05)
    assert host.check(h.read10(40, 1), h.IN, 2048) == (5, 0x21, 0)
    assert host.check(h.close(2)) == (5, 0x30, 0x05)
    assert image.read_bytes() == b"".join(blocks)


def test_rom_needs_an_image():
    with pytest.raises(ValueError, match="read_only_image"):
        VirtualBurner("dvd-rom")
    with pytest.raises(ValueError, match="unknown medium"):
        VirtualBurner("hd-dvd")


def test_burned_backing_loads_as_rom(make_host, tmp_path):
    path = str(tmp_path / "burn.img")
    burner = make_host("bd-r", backing=path)
    burner.write(0, 64, fill=0x61)
    burner.ok(h.sync_cache())
    burner.vb.close()
    rom = make_host("bd-rom", read_only_image=path)
    assert rom.read(63, 1) == bytes((0x61,)) * 2048


def test_anonymous_backing_is_private(make_host):
    one, two = make_host("dvd-ram"), make_host("dvd-ram")
    one.write(5, 1, fill=1)
    assert two.read(5, 1) == bytes(2048)


def test_sidecar_of_another_shape_is_refused(tmp_path):
    path = tmp_path / "odd.img"
    path.write_bytes(b"")
    (tmp_path / "odd.img.state.json").write_text('{"kind": "dvd+r", "warp": 9}')
    with pytest.raises(BackingError, match="does not describe a disc"):
        VirtualBurner("dvd+r", backing=str(path))
