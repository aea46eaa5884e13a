"""The pure parts of sgio: buffer pinning (no copy), timeout conversion, mountinfo parsing."""

from __future__ import annotations

import ctypes
import mmap
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burnd.scsi.sgio import MAX_TIMEOUT_MS, mount_points, pinned, timeout_ms


def _address_of_bytes(data: bytes) -> int:
    return ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value


def test_bytearray_is_passed_by_its_own_address() -> None:
    buf = bytearray(4096)
    with pinned(buf, writable=True) as (address, length):
        assert address == ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))
        assert length == 4096


def test_memoryview_slice_points_into_the_parent() -> None:
    buf = bytearray(8192)
    base = ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))
    with pinned(memoryview(buf)[2048:6144], writable=True) as (address, length):
        assert (address - base, length) == (2048, 4096)


def test_read_only_bytes_are_not_copied() -> None:
    data = b"burnd" * 1000
    with pinned(data, writable=False) as (address, length):
        assert (address, length) == (_address_of_bytes(data), len(data))


def test_read_only_mmap_view_is_accepted_for_writing_to_the_device(tmp_path) -> None:
    path = tmp_path / "image"
    path.write_bytes(bytes(range(256)) * 16)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mapped:
        view = memoryview(mapped)
        with pinned(view[256:512], writable=False) as (address, length):
            assert ctypes.string_at(address, length) == bytes(range(256))
        view.release()


def test_writes_into_the_pinned_address_land_in_the_callers_buffer() -> None:
    buf = bytearray(16)
    with pinned(buf, writable=True) as (address, _):
        ctypes.memmove(address + 4, b"SCSI", 4)
    assert buf[4:8] == b"SCSI"


def test_read_only_buffer_cannot_be_pinned_for_reading_into() -> None:
    with pytest.raises(BufferError):
        with pinned(b"x" * 10, writable=True):
            pass


def test_non_contiguous_view_is_refused() -> None:
    with pytest.raises(BufferError):
        with pinned(memoryview(bytearray(16))[::2], writable=True):
            pass


def test_pinned_bytearray_cannot_be_resized_under_the_kernel() -> None:
    buf = bytearray(16)
    with pinned(buf, writable=True):
        with pytest.raises(BufferError):
            buf.extend(b"more")
    buf.extend(b"more")
    assert len(buf) == 20


def test_empty_buffer_pins_as_null() -> None:
    with pinned(bytearray(), writable=True) as (_, length):
        assert length == 0


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_timeout_is_positive_milliseconds_rounded_up(seconds: float) -> None:
    ms = timeout_ms(seconds)
    assert 1 <= ms <= MAX_TIMEOUT_MS
    if 0.001 <= seconds * 1000 < MAX_TIMEOUT_MS:
        assert ms >= seconds * 1000
        assert ms - seconds * 1000 < 1.0


def test_common_timeouts() -> None:
    assert timeout_ms(30.0) == 30_000
    assert timeout_ms(0.0) == 1
    assert timeout_ms(0.0001) == 1
    assert timeout_ms(18_000.0) == 18_000_000


MOUNTINFO = """\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
98 22 11:0 / /media/user/MY\\040DISC ro,nosuid shared:50 - iso9660 /dev/sr0 ro
99 22 11:0 /sub /srv/bind ro shared:50 - iso9660 /dev/sr0 ro
100 22 11:1 / /media/other ro shared:51 - udf /dev/sr1 ro
"""


def test_mount_points_match_major_minor_and_unescape_spaces() -> None:
    assert mount_points(os.makedev(11, 0), MOUNTINFO) == ["/media/user/MY DISC", "/srv/bind"]
    assert mount_points(os.makedev(11, 1), MOUNTINFO) == ["/media/other"]
    assert mount_points(os.makedev(11, 2), MOUNTINFO) == []
