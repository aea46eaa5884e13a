"""burnd.loop: struct layouts byte by byte, and the ioctls against real loop devices."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burnd import loop
from burnd.errors import DeviceBusy

from .conftest import KernelUevents, needs_loop, read_device

# --- pure ---------------------------------------------------------------------------------------


def test_struct_sizes_match_the_kernel():
    assert loop.INFO64.size == 232
    assert loop.CONFIG.size == 304


def test_config_layout_offsets():
    info = loop.LoopInfo(offset=0x1122, sizelimit=0x3344, flags=loop.LO_FLAGS_READ_ONLY, file_name="burnd:x")
    raw = loop.build_config(7, 2048, info)
    assert struct.unpack_from("<II", raw, 0) == (7, 2048)
    assert struct.unpack_from("<QQ", raw, 8 + 24) == (0x1122, 0x3344)  # lo_offset, lo_sizelimit
    assert struct.unpack_from("<I", raw, 8 + 52) == (loop.LO_FLAGS_READ_ONLY,)  # lo_flags
    assert raw[8 + 56: 8 + 56 + 8] == b"burnd:x\0"  # lo_file_name
    assert raw[240:] == bytes(64)  # __reserved


def test_autoclear_is_never_built():
    with pytest.raises(ValueError, match="AUTOCLEAR"):
        loop.build_config(3, 2048, loop.LoopInfo(flags=loop.LO_FLAGS_AUTOCLEAR))


@pytest.mark.parametrize("size", [1000, 256, 8192, 3072])
def test_bad_block_sizes_are_refused(size):
    with pytest.raises(ValueError):
        loop.build_config(3, size, loop.LoopInfo())


def test_long_names_are_refused():
    with pytest.raises(ValueError):
        loop.build_info64(loop.LoopInfo(file_name="x" * 64))


@settings(max_examples=50, deadline=None)
@given(offset=st.integers(0, 2**63), sizelimit=st.integers(0, 2**63), flags=st.integers(0, 2**31),
       name=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=63))
def test_info64_round_trip(offset, sizelimit, flags, name):
    info = loop.LoopInfo(offset, sizelimit, flags, name)
    back = loop.parse_info64(loop.build_info64(info))
    assert (back.offset, back.sizelimit, back.flags, back.file_name) == (offset, sizelimit, flags, name)


def test_tag_only_for_burnd_names():
    assert loop.LoopInfo(file_name=loop.tag_name("abc")).tag == "abc"
    assert loop.LoopInfo(file_name="/home/user/x.iso").tag is None


# --- real devices -------------------------------------------------------------------------------


@pytest.fixture
def backing(tmp_path: Path) -> Path:
    path = tmp_path / "backing.img"
    path.write_bytes(os.urandom(1 << 20))
    return path


def _configure(path: Path, **kw) -> str:
    fd = os.open(path, os.O_RDONLY)
    try:
        return loop.configure(fd, **kw)
    finally:
        os.close(fd)


@needs_loop
def test_configure_read_only_2048_offset_sizelimit(backing):
    name = _configure(backing, offset=4096, sizelimit=64 * 2048, tag=loop.tag_name("t1"))
    try:
        state = loop.sysfs_state(name)
        assert state is not None
        assert (state.backing_file, state.offset, state.sizelimit) == (str(backing), 4096, 64 * 2048)
        assert state.read_only and not state.autoclear and not state.partscan
        assert state.logical_block_size == 2048
        assert loop.get_status(name).tag == "t1"
        assert read_device(f"/dev/{name}") == backing.read_bytes()[4096: 4096 + 64 * 2048]
        assert name in {s.name for s in loop.bound_loops()}
    finally:
        loop.clear(name)
    assert loop.sysfs_state(name) is None
    assert loop.get_status(name) is None


def _dio(name: str) -> str:
    return Path(f"/sys/block/{name}/loop/dio").read_text().strip()


@needs_loop
def test_direct_io_only_when_asked(backing):
    plain = _configure(backing)
    try:
        direct = _configure(backing, direct_io=True)
        try:
            assert (_dio(plain), _dio(direct)) == ("0", "1")
            assert loop.sysfs_state(direct).read_only
            assert read_device(f"/dev/{direct}") == backing.read_bytes()
        finally:
            loop.clear(direct)
    finally:
        loop.clear(plain)


@needs_loop
def test_partscan_only_when_asked(backing):
    name = _configure(backing, partscan=True)
    try:
        assert loop.sysfs_state(name).partscan
    finally:
        loop.clear(name)


@needs_loop
def test_device_survives_closing_every_fd(backing):
    """The AUTOCLEAR trap: a device nobody holds open must stay attached."""
    name = _configure(backing)
    try:
        with open(f"/dev/{name}", "rb") as f:
            f.read(2048)
        assert loop.sysfs_state(name) is not None
    finally:
        loop.clear(name)


@needs_loop
def test_busy_device_names_its_holder_and_stays_attached(backing):
    name = _configure(backing)
    holder = subprocess.Popen([sys.executable, "-c", f"import sys,time; f=open('/dev/{name}','rb'); print(flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE)
    try:
        holder.stdout.readline()
        with pytest.raises(DeviceBusy) as caught:
            loop.clear(name)
        assert f"process {holder.pid}" in str(caught.value)
        holder.kill()
        holder.wait()
        state = loop.sysfs_state(name)
        assert state is not None and not state.autoclear  # not left to vanish at the last close
    finally:
        holder.kill()
        holder.wait()
        loop.clear(name)


@needs_loop
def test_change_uevent_reaches_netlink_listeners(backing):
    name = _configure(backing)
    try:
        uevents = KernelUevents()
        loop.send_change_uevent(name)
        assert uevents.synthetic_change(name), "no synthetic change uevent for the device"
    finally:
        loop.clear(name)
