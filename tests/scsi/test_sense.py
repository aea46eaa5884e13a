"""Sense decoding, classification, progress and the exceptions raised for failed commands."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burnd.errors import BurndError, DeviceError
from burnd.scsi import sense as S
from burnd.scsi.mmc import ParseError
from burnd.scsi.transport import CommandResult

WRITE10_AT_1234 = bytes.fromhex("2A 00 00 00 04 D2 00 00 10 00")
TUR = bytes(6)


def fixed(key: int, asc: int, ascq: int, *, info: int | None = None, sks: bytes = b"\x00\x00\x00",
          code: int = 0x70) -> bytes:
    data = bytearray(18)
    data[0] = code | (0x80 if info is not None else 0)
    data[2] = key
    if info is not None:
        data[3:7] = info.to_bytes(4, "big", signed=True)
    data[7] = 10
    data[12], data[13] = asc, ascq
    data[15:18] = sks
    return bytes(data)


def failed(sense: bytes) -> CommandResult:
    return CommandResult(status=0x02, sense=sense, driver_status=0x08)


def test_fixed_format_write_error() -> None:
    s = S.decode_sense(fixed(3, 0x0C, 0x00, info=1234))
    assert (s.key, s.asc, s.ascq, s.information) == (3, 0x0C, 0, 1234)
    assert not s.deferred and not s.descriptor_format
    assert s.code == 0x30C00
    assert str(s) == "3/0C/00 write error (medium error)"
    assert s.classification is S.SenseClass.MEDIUM_ERROR


def test_deferred_fixed() -> None:
    s = S.decode_sense(fixed(3, 0x0C, 0x09, code=0x71))
    assert s.deferred and s.text == "write error, loss of streaming"


def test_progress_from_sense_key_specific_bytes() -> None:
    s = S.decode_sense(fixed(2, 0x04, 0x04, sks=bytes([0x80, 0x40, 0x00])))
    assert s.progress == 0.25
    assert s.classification is S.SenseClass.RETRY_LATER
    assert S.decode_sense(fixed(2, 0x04, 0x04, sks=bytes([0x00, 0x40, 0x00]))).progress is None
    assert S.decode_sense(fixed(0, 0, 0, sks=bytes([0x80, 0xFF, 0xFF]))).progress == 65535 / 65536


def test_field_pointer_for_illegal_request() -> None:
    s = S.decode_sense(fixed(5, 0x24, 0x00, sks=bytes([0xC8, 0x00, 0x02])))
    assert s.field_pointer == 2 and s.progress is None


def test_descriptor_format() -> None:
    data = bytes([0x72, 0x03, 0x11, 0x05, 0, 0, 0, 20,
                  0x00, 0x0A, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x30, 0x39,
                  0x02, 0x06, 0, 0, 0x80, 0x12, 0x34, 0])
    s = S.decode_sense(data)
    assert s.descriptor_format and not s.deferred
    assert (s.key, s.asc, s.ascq) == (3, 0x11, 0x05)
    assert s.information == 12345
    assert s.sksv and s.key_specific == bytes([0x80, 0x12, 0x34])
    assert S.decode_sense(bytes([0x73, 0x02, 0x04, 0x07, 0, 0, 0, 0])).deferred


def test_descriptor_progress() -> None:
    data = bytes([0x72, 0x02, 0x04, 0x04, 0, 0, 0, 8, 0x02, 0x06, 0, 0, 0x80, 0x80, 0x00, 0])
    assert S.decode_sense(data).progress == 0.5


def test_short_fixed_sense_reads_missing_fields_as_zero() -> None:
    s = S.decode_sense(bytes([0x70, 0, 0x06]))
    assert (s.key, s.asc, s.ascq) == (6, 0, 0)


@pytest.mark.parametrize("data", [b"", b"\x70\x00", b"\x00" * 18, b"\x7f" + bytes(17), b"\x72\x00\x00"])
def test_undecodable(data: bytes) -> None:
    with pytest.raises(ParseError):
        S.decode_sense(data)


@pytest.mark.parametrize(
    ("triple", "klass"),
    [
        ((2, 0x04, 0x01), S.SenseClass.RETRY_LATER),
        ((2, 0x04, 0x08), S.SenseClass.RETRY_LATER),
        ((2, 0x04, 0x04), S.SenseClass.RETRY_LATER),
        ((2, 0x04, 0x07), S.SenseClass.RETRY_LATER),
        ((2, 0x04, 0x00), S.SenseClass.RETRY_LATER),
        ((2, 0x04, 0x02), S.SenseClass.NOT_READY),
        ((2, 0x04, 0x03), S.SenseClass.NOT_READY),
        ((2, 0x3A, 0x00), S.SenseClass.NO_MEDIUM),
        ((2, 0x3A, 0x02), S.SenseClass.NO_MEDIUM),
        ((6, 0x28, 0x00), S.SenseClass.UNIT_ATTENTION),
        ((6, 0x29, 0x04), S.SenseClass.UNIT_ATTENTION),
        ((6, 0x3A, 0x00), S.SenseClass.UNIT_ATTENTION),
        ((3, 0x0C, 0x00), S.SenseClass.MEDIUM_ERROR),
        ((4, 0x09, 0x01), S.SenseClass.HARDWARE_ERROR),
        ((5, 0x21, 0x02), S.SenseClass.ILLEGAL_REQUEST),
        ((5, 0x72, 0x03), S.SenseClass.ILLEGAL_REQUEST),
        ((7, 0x27, 0x00), S.SenseClass.DATA_PROTECT),
        ((8, 0x00, 0x00), S.SenseClass.BLANK_CHECK),
        ((0xB, 0x00, 0x00), S.SenseClass.ABORTED),
        ((4, 0x08, 0x03), S.SenseClass.ABORTED),
        ((0xD, 0x00, 0x00), S.SenseClass.VOLUME_OVERFLOW),
        ((0xE, 0x1D, 0x00), S.SenseClass.MISCOMPARE),
        ((1, 0x73, 0x01), S.SenseClass.RECOVERED),
        ((9, 0x80, 0x00), S.SenseClass.OTHER),
    ],
)
def test_classification(triple: tuple[int, int, int], klass: S.SenseClass) -> None:
    assert S.classify(*triple) is klass


def test_texts_distinguish_fixation_from_power_calibration() -> None:
    assert "session fixation" in S.asc_text(0x72, 0x01)
    assert "power calibration" in S.asc_text(0x73, 0x03)
    assert S.asc_text(0x72, 0x42) == "session fixation error (ASCQ 42h)"
    assert S.asc_text(0x99, 0x01) == "ASC 99h ASCQ 01h"


def test_raise_for_result_medium_error_message() -> None:
    with pytest.raises(S.MediumError) as caught:
        S.raise_for_result(WRITE10_AT_1234, failed(fixed(3, 0x0C, 0x00)), "vb0")
    err = caught.value
    assert (err.key, err.asc, err.ascq, err.opcode, err.command) == (3, 0x0C, 0, 0x2A, "WRITE(10)")
    assert err.lba == 1234
    assert str(err).startswith("vb0: WRITE(10) failed: 3/0C/00 write error (medium error) at LBA 1234 — ")
    assert err.dbus_error == "org.burnd.Burnd1.Error.MediumError"
    assert isinstance(err, BurndError) and not err.retryable


def test_information_field_overrides_cdb_lba() -> None:
    with pytest.raises(S.MediumError) as caught:
        S.raise_for_result(WRITE10_AT_1234, failed(fixed(3, 0x0C, 0x00, info=1240)))
    assert caught.value.lba == 1240


def test_raise_for_result_progress_and_retry() -> None:
    with pytest.raises(S.RetryLater) as caught:
        S.raise_for_result(TUR, failed(fixed(2, 0x04, 0x04, sks=bytes([0x80, 0x80, 0]))))
    assert caught.value.progress == 0.5 and caught.value.retryable
    assert "50% done" in str(caught.value)


@pytest.mark.parametrize(
    ("sense", "exc"),
    [
        (fixed(2, 0x3A, 0x01), S.NoMedium),
        (fixed(2, 0x04, 0x03), S.NotReady),
        (fixed(6, 0x28, 0x00), S.UnitAttention),
        (fixed(4, 0x15, 0x01), S.HardwareError),
        (fixed(5, 0x24, 0x00), S.IllegalRequest),
        (fixed(5, 0x20, 0x00), S.UnsupportedCommand),
        (fixed(7, 0x27, 0x00), S.DataProtect),
        (fixed(8, 0x00, 0x00), S.BlankCheck),
        (fixed(0xB, 0x00, 0x00), S.AbortedCommand),
        (fixed(0xD, 0x00, 0x00), S.VolumeOverflow),
        (fixed(0xE, 0x1D, 0x00), S.Miscompare),
        (fixed(0xA, 0x00, 0x00), S.ScsiError),
    ],
)
def test_exception_classes(sense: bytes, exc: type[S.ScsiError]) -> None:
    with pytest.raises(exc) as caught:
        S.raise_for_result(TUR, failed(sense))
    assert type(caught.value) is exc
    assert caught.value.dbus_name


def test_unsupported_is_an_illegal_request() -> None:
    assert issubclass(S.UnsupportedCommand, S.IllegalRequest)


def test_specific_advice_for_locked_tray() -> None:
    with pytest.raises(S.IllegalRequest, match="unlock it first"):
        S.raise_for_result(bytes.fromhex("1B 00 00 00 02 00"), failed(fixed(5, 0x53, 0x02)))


def test_success_and_recovered_do_not_raise() -> None:
    S.raise_for_result(TUR, CommandResult(status=0))
    S.raise_for_result(TUR, failed(fixed(1, 0x73, 0x01)))


def test_transport_failure() -> None:
    with pytest.raises(S.TransportError) as caught:
        S.raise_for_result(TUR, CommandResult(status=0, host_status=0x01))
    assert isinstance(caught.value, DeviceError)
    assert "host_status=0x01" in str(caught.value) and "TEST UNIT READY" in str(caught.value)


def test_busy_status_is_retryable() -> None:
    with pytest.raises(S.RetryLater) as caught:
        S.raise_for_result(TUR, CommandResult(status=0x08))
    assert caught.value.key is None and caught.value.retryable


def test_check_condition_without_or_with_bad_sense() -> None:
    with pytest.raises(S.ScsiError, match="without sense"):
        S.raise_for_result(TUR, CommandResult(status=0x02))
    with pytest.raises(S.ScsiError, match="undecodable"):
        S.raise_for_result(TUR, CommandResult(status=0x02, sense=b"\x00\x01"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_decode_arbitrary_bytes(data: bytes) -> None:
    try:
        s = S.decode_sense(data)
    except ParseError:
        return
    assert 0 <= s.key <= 15
    assert s.text and str(s)
    assert s.progress is None or 0 <= s.progress < 1


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40), st.sampled_from([0x00, 0x02, 0x08, 0x18, 0x28]), st.integers(0, 3))
def test_raise_for_result_arbitrary(sense: bytes, status: int, host: int) -> None:
    try:
        S.raise_for_result(WRITE10_AT_1234, CommandResult(status=status, sense=sense, host_status=host))
    except (S.ScsiError, S.TransportError) as exc:
        assert str(exc)


def test_out_of_range_read_is_not_blamed_on_the_write_address() -> None:
    from burnd.scsi import mmc
    from burnd.scsi.sense import decode_sense, exception_for

    sense = decode_sense(bytes([0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0x00]))
    read_error = exception_for(mmc.read10(100, 1), sense)
    assert "beyond the disc" in str(read_error) and "writable address" not in str(read_error)
    sense = decode_sense(bytes([0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0x02]))
    assert "next writable address" in str(exception_for(mmc.write10(100, 1), sense))
