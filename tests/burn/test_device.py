"""open_exclusive: O_EXCL open of a real drive, retried while busy, refused for non-drives."""

from __future__ import annotations

import pytest

from burnd.burn import device
from burnd.errors import DeviceBusy, DeviceError
from burnd.scsi.sgio import SgIoTransport


def test_a_plain_file_is_refused_before_any_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "not-a-drive.iso"
    path.write_bytes(bytes(4096))
    with pytest.raises(DeviceError), device.open_exclusive(str(path)):
        pass


def test_busy_drive_is_retried_then_reported(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[tuple[str, bool]] = []
    sleeps: list[float] = []

    def busy(path: str, exclusive: bool = False) -> SgIoTransport:
        calls.append((path, exclusive))
        raise DeviceBusy(f"{path} is mounted")

    monkeypatch.setattr(SgIoTransport, "open", staticmethod(busy))
    with pytest.raises(DeviceBusy), device.open_exclusive("/dev/sr9", attempts=3, delay=1.5, sleep=sleeps.append):
        pass
    assert calls == [("/dev/sr9", True)] * 3
    assert sleeps == [1.5, 1.5]
