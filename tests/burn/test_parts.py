"""The engine's pure parts: ISO descriptor patching, the progress meter, the FIFO reader."""

from __future__ import annotations

import hashlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burnd.burn.errors import BurnError
from burnd.burn.fifo import ImageFifo
from burnd.burn.grow import next_session_start, patched_descriptors, volume_space_size
from burnd.burn.progress import Phase, ProgressEvent, ProgressMeter
from burnd.errors import BadImage

BLOCK = 2048


def descriptor(kind: int, size: int = 0) -> bytes:
    block = bytearray(BLOCK)
    block[0] = kind
    block[1:6] = b"CD001"
    block[80:84] = size.to_bytes(4, "little")
    block[84:88] = size.to_bytes(4, "big")
    return bytes(block)


def test_patch_sets_both_byte_orders_through_the_terminator() -> None:
    area = descriptor(1, 100) + descriptor(2, 100) + descriptor(255) + b"\x01" * BLOCK
    out = patched_descriptors(area, 1234)
    assert len(out) == 3 * BLOCK
    for index in (0, 1):
        block = out[index * BLOCK:(index + 1) * BLOCK]
        assert volume_space_size(block) in (1234, None)
        assert int.from_bytes(block[80:84], "little") == int.from_bytes(block[84:88], "big") == 1234
    assert out[2 * BLOCK:] == descriptor(255)


@pytest.mark.parametrize("area", [
    descriptor(1, 5) + bytes(BLOCK),                 # no terminator, then garbage
    descriptor(1, 5) * 16,                           # no terminator within the area
    descriptor(2, 5) + descriptor(255),              # does not start with a PVD
])
def test_patch_refuses_non_descriptor_areas(area: bytes) -> None:
    with pytest.raises(ValueError):
        patched_descriptors(area, 10)


def test_volume_space_size_and_next_start() -> None:
    assert volume_space_size(descriptor(1, 777)) == 777
    assert volume_space_size(descriptor(2, 777)) is None
    assert volume_space_size(bytes(BLOCK)) is None
    assert [next_session_start(n) for n in (0, 1, 32, 33, 176)] == [0, 32, 32, 64, 192]


def test_meter_throttles_and_smooths() -> None:
    now = [0.0]
    events: list[ProgressEvent] = []
    meter = ProgressMeter(events.append, Phase.WRITING, 1000, clock=lambda: now[0])
    meter.update(0)
    for step in range(1, 101):
        now[0] = step * 0.01
        meter.update(step * 10)
    assert 9 <= len(events) <= 12  # one second at 10 per second, plus the first
    assert events[-1].rate == pytest.approx(1000, rel=0.01)
    assert events[-1].eta is not None and events[-1].eta < 1
    meter.update(1000, force=True)
    assert events[-1].done == 1000 and events[-1].fraction == 1.0


def test_meter_without_callback_is_silent() -> None:
    meter = ProgressMeter(None, Phase.WRITING, 10)
    assert not meter.due()
    meter.update(5)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 300_000), unit_blocks=st.integers(1, 8), md5=st.booleans())
def test_fifo_delivers_every_byte_in_order_and_hashes(size: int, unit_blocks: int, md5: bool) -> None:
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    fifo = ImageFifo(io.BytesIO(data), size, fifo_bytes=3 * unit_blocks * BLOCK, unit=unit_blocks * BLOCK,
                     md5=md5).start()
    out = bytearray()
    while (item := fifo.get()) is not None:
        assert item.offset == len(out)
        out += item.buffer[:item.length]
        fifo.recycle(item)
    fifo.close()
    assert out == data
    assert fifo.sha256.hexdigest() == hashlib.sha256(data).hexdigest()
    assert (fifo.md5.hexdigest() if fifo.md5 else None) == (hashlib.md5(data).hexdigest() if md5 else None)


def test_fifo_reports_a_short_image_and_stops_early() -> None:
    fifo = ImageFifo(io.BytesIO(b"x" * 5000), 9000, fifo_bytes=4 * BLOCK, unit=BLOCK).start()
    with pytest.raises(BadImage, match="5000 of 9000"):
        while (item := fifo.get()) is not None:
            fifo.recycle(item)
    fifo.close()
    early = ImageFifo(io.BytesIO(bytes(1 << 20)), 1 << 20, fifo_bytes=2 * BLOCK, unit=BLOCK).start()
    early.get()
    early.close()  # must not hang with the reader blocked on a full FIFO


def test_burn_errors_have_distinct_dbus_names() -> None:
    import burnd.burn.errors as errors
    import burnd.scsi.sense as sense

    ours = {cls.dbus_name for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, BurnError)}
    theirs = {cls.dbus_name for cls in vars(sense).values() if isinstance(cls, type) and hasattr(cls, "dbus_name")}
    names = [cls.dbus_name for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, BurnError)]
    assert len(names) == len(set(names))
    assert ours & theirs == set()
