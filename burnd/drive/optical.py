"""OpticalDrive: typed MMC operations over any Transport (SG_IO or the software drive).

Safety first: the first command to any device is INQUIRY, and unless it reports peripheral
type 5 (MMC) nothing else is ever sent — :meth:`OpticalDrive.execute` itself enforces it, so
no code path (including callers using ``execute`` directly) can reach a disk or tape.

Variable-length answers are fetched the canonical way (reference 3.0): ask for the header,
read its length, ask again for exactly that much. Commands a drive may lack (QEMU's scsi-cd
answers 5/20/00 to READ TRACK INFORMATION, READ FORMAT CAPACITIES, GET PERFORMANCE) degrade to
fallbacks instead of failing a whole report.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from burnd.drive.report import MediaReport, TrackReport, build_report
from burnd.errors import DeviceError, DriveTimeout, NotAnOpticalDrive
from burnd.scsi import mmc
from burnd.scsi.features import Configuration, Feature, configuration_length, parse_configuration
from burnd.scsi.mmc import BLOCK_SIZE, PERIPHERAL_MMC, Op
from burnd.scsi.profiles import INVISIBLE_TRACK_PROFILES, Profile
from burnd.scsi.sense import (
    BlankCheck,
    IllegalRequest,
    MediumError,
    NoMedium,
    RetryLater,
    UnitAttention,
    raise_for_result,
)
from burnd.scsi.transport import Buffer, CommandResult, Direction, Transport

log = logging.getLogger("burnd.scsi")

T = TypeVar("T")

MAX_ALLOCATION = 0xFFFF
READ10_MAX_BLOCKS = 0xFFFF
WRITE_SPEED_GUESS = 64
"""Descriptors asked for when GET PERFORMANCE's header under-reports (some drives say 0)."""

_OPTIONAL_FAILURES = (IllegalRequest, BlankCheck, MediumError)
"""Answers meaning "this drive/medium cannot tell you that", not "the drive is broken"."""


@dataclass(frozen=True, slots=True)
class DriveIdentity:
    vendor: str
    model: str
    revision: str
    serial: str
    peripheral_type: int

    def __str__(self) -> str:
        return " ".join(p for p in (self.vendor, self.model, self.revision) if p)

    def to_dict(self) -> dict[str, object]:
        return {"vendor": self.vendor, "model": self.model, "revision": self.revision,
                "serial": self.serial, "peripheral_type": self.peripheral_type}


class OpticalDrive:
    """One MMC drive. Not thread-safe: one owner thread per drive (design: one writer thread)."""

    def __init__(
        self,
        transport: Transport,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._sleep = sleep
        self._identity: DriveIdentity | None = None
        self._refusal: NotAnOpticalDrive | None = None

    @property
    def name(self) -> str:
        return self._transport.name

    @property
    def transport(self) -> Transport:
        return self._transport

    # ------------------------------------------------------------------ command execution

    def _send(self, cdb: bytes, direction: Direction, data: Buffer | bytes | int | None,
              timeout: float) -> CommandResult:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: %s CDB %s", self.name, mmc.command_name(cdb), cdb.hex(" "))
        result = self._transport.execute(cdb, direction, data, timeout)
        if not result.ok and log.isEnabledFor(logging.DEBUG):
            log.debug("%s: %s status 0x%02X host 0x%02X driver 0x%02X sense %s", self.name,
                      mmc.command_name(cdb), result.status, result.host_status,
                      result.driver_status, result.sense.hex(" ") or "-")
        raise_for_result(cdb, result, self.name)
        return result

    def execute(self, cdb: bytes, direction: Direction, data: Buffer | bytes | int | None = None,
                timeout: float = 30.0) -> CommandResult:
        """Run one command; a failure raises the matching ``burnd.scsi.sense`` exception.

        Anything but INQUIRY first confirms the device is an MMC drive.
        """
        if not cdb or cdb[0] != Op.INQUIRY:
            self.identify()
        return self._send(bytes(cdb), direction, data, timeout)

    def _read(self, cdb: bytes, size: int | None = None) -> bytes:
        """A data-in query, reissued once after a unit attention (queries are idempotent).

        ``size`` defaults to the allocation length in the CDB.
        """
        size = _allocation(cdb) if size is None else size
        try:
            result = self.execute(cdb, Direction.FROM_DEVICE, size)
        except UnitAttention as exc:
            log.debug("%s: %s; reissuing %s", self.name, exc.text, exc.command)
            result = self.execute(cdb, Direction.FROM_DEVICE, size)
        return bytes(result.data)

    def _ask_twice(self, build: Callable[[int], bytes], header: int, total: Callable[[bytes], int]) -> bytes:
        """Header first, then the whole answer (capped at the CDB's allocation field)."""
        head = self._read(build(header))
        size = min(max(total(head), header), MAX_ALLOCATION)
        return head if size <= len(head) else self._read(build(size))

    def _optional(self, fetch: Callable[[], T]) -> T | None:
        try:
            return fetch()
        except _OPTIONAL_FAILURES as exc:
            log.debug("%s: optional query unanswered: %s", self.name, exc)
            return None

    # ------------------------------------------------------------------ identity

    def identify(self) -> DriveIdentity:
        """INQUIRY (cached); refuses anything that is not peripheral type 5."""
        if self._refusal is not None:
            raise self._refusal
        if self._identity is not None:
            return self._identity
        inq = mmc.parse_inquiry(bytes(self._send(mmc.inquiry(96), Direction.FROM_DEVICE, 96, 30.0).data))
        if inq.peripheral_type != PERIPHERAL_MMC:
            self._refusal = NotAnOpticalDrive(
                f"{self.name} ({inq.vendor} {inq.product}) reports SCSI peripheral type "
                f"{inq.peripheral_type:#04x}, not 0x05 (CD/DVD/BD drive); burnd sends it nothing "
                f"but INQUIRY — pick an optical drive (/dev/srN) instead"
            )
            raise self._refusal
        self._identity = DriveIdentity(vendor=inq.vendor, model=inq.product, revision=inq.revision,
                                       serial=self._serial(), peripheral_type=inq.peripheral_type)
        return self._identity

    def _serial(self) -> str:
        """VPD 80h; drives without it (QEMU: 5/24/00) give an empty serial."""
        try:
            data = self._send(mmc.inquiry(252, mmc.VPD_UNIT_SERIAL), Direction.FROM_DEVICE, 252, 30.0)
        except IllegalRequest:
            return ""
        try:
            return mmc.parse_unit_serial(bytes(data.data))
        except mmc.ParseError as exc:
            log.debug("%s: unusable unit serial page: %s", self.name, exc)
            return ""

    # ------------------------------------------------------------------ configuration

    def configuration(self, rt: mmc.RT = mmc.RT.ALL, start: int = 0) -> Configuration:
        data = self._ask_twice(lambda n: mmc.get_configuration(rt, start, n), 8, configuration_length)
        return parse_configuration(data)

    def profiles(self) -> list[Profile]:
        return list(self.configuration().profiles())

    def current_profile(self) -> Profile | None:
        """The header's current profile (8 bytes: the cheap query); None without a medium."""
        try:
            head = parse_configuration(self._read(mmc.get_configuration(mmc.RT.CURRENT, 0, 8)))
        except IllegalRequest:
            return None
        return Profile(head.current_profile, True) if head.current_profile else None

    def features(self) -> dict[int, Feature]:
        return {f.code: f for f in self.configuration().features}

    # ------------------------------------------------------------------ medium

    def test_unit_ready(self) -> None:
        self.execute(mmc.test_unit_ready(), Direction.NONE)

    def media_report(self) -> MediaReport:
        """Everything about the medium the drive will tell; ``present=False`` without one.

        Raises RetryLater while the drive is becoming ready (call :meth:`wait_ready` first).
        """
        self.identify()
        try:
            self._ready_once()
        except NoMedium:
            return MediaReport(present=False)
        profile = self.current_profile()
        sources = ["GET CONFIGURATION"] if profile else []
        disc = self._optional(lambda: self.disc_information(cd=profile is not None and profile.is_cd))
        if disc is not None:
            sources.append("READ DISC INFORMATION")
        tracks = self._optional(lambda: self._track_reports(profile, disc)) if disc else None
        if tracks:
            sources.append("READ TRACK INFORMATION")
        toc = self._optional(self.toc)
        if toc is not None:
            sources.append("READ TOC")
        capacity = self._optional(lambda: mmc.parse_read_capacity(self._read(mmc.read_capacity())))
        if capacity is not None:
            sources.append("READ CAPACITY")
        formats = self._optional(self.format_capacities)
        if formats is not None:
            sources.append("READ FORMAT CAPACITIES")
        return build_report(profile, disc, tracks or (), toc, capacity, formats, tuple(sources))

    def _ready_once(self) -> None:
        """TEST UNIT READY, absorbing one unit attention (the medium-changed notice)."""
        try:
            self.test_unit_ready()
        except UnitAttention:
            self.test_unit_ready()

    def disc_information(self, cd: bool | None = None) -> mmc.DiscInformation:
        """READ DISC INFORMATION; ``cd`` (MSF addresses) is looked up when not given."""
        if cd is None:
            cd = (self.current_profile() or Profile(0)).is_cd
        data = self._ask_twice(mmc.read_disc_information, 2, lambda h: mmc.be(h, 0, 2, "disc info") + 2)
        return mmc.parse_disc_information(data, cd=cd)

    def track_information(self, number: int,
                          address_type: mmc.AddressType = mmc.AddressType.TRACK) -> mmc.TrackInformation:
        return mmc.parse_track_information(self._read(mmc.read_track_information(number, address_type, 48)))

    def _track_reports(self, profile: Profile | None, disc: mmc.DiscInformation) -> tuple[TrackReport, ...]:
        """Every track by number; the incomplete last track of CD/DVD+R is asked as FFh."""
        last = disc.last_track_last_session
        numbers = list(range(disc.first_track, last + 1))
        invisible = (profile is not None and profile.code in INVISIBLE_TRACK_PROFILES
                     and disc.disc_status in (mmc.DiscStatus.BLANK, mmc.DiscStatus.APPENDABLE))
        reports = []
        for number in numbers:
            ask = mmc.INVISIBLE_TRACK if invisible and number == last else number
            reports.append(TrackReport.from_track_information(self.track_information(ask)))
        return tuple(reports)

    def toc(self) -> mmc.Toc:
        data = self._ask_twice(lambda n: mmc.read_toc(mmc.TocFormat.FORMATTED, n), 4,
                               lambda h: mmc.be(h, 0, 2, "TOC") + 2)
        return mmc.parse_toc(data)

    def format_capacities(self) -> mmc.FormatCapacities:
        data = self._ask_twice(mmc.read_format_capacities, 4, lambda h: mmc.be(h, 3, 1, "capacity list") + 4)
        return mmc.parse_format_capacities(data)

    # ------------------------------------------------------------------ speeds

    def write_speeds(self) -> list[int]:
        """Supported write speeds in kB/s, fastest first; [] when the drive names none."""
        speeds = self._optional(self._performance_write_speeds)
        if not speeds:
            speeds = self._optional(self._capability_write_speeds)
        return sorted({s for s in speeds or () if s > 0}, reverse=True)

    def _performance_write_speeds(self) -> list[int]:
        def build(count: int) -> bytes:
            return mmc.get_performance(mmc.PerformanceType.WRITE_SPEED, count)

        count = mmc.performance_descriptor_count(self._read(build(0), 8)) or WRITE_SPEED_GUESS
        data = self._read(build(count), 8 + 16 * count)
        return [d.write_kbps for d in mmc.parse_write_speeds(data)]

    def capabilities(self) -> mmc.Capabilities:
        page = self.mode_page(mmc.PAGE_CAPABILITIES)
        return mmc.parse_capabilities(page)

    def _capability_write_speeds(self) -> list[int]:
        caps = self.capabilities()
        if caps.write_speeds:
            return [d.kbps for d in caps.write_speeds]
        return [caps.max_write_kbps] if caps.max_write_kbps else []

    def mode_page(self, page: int, pc: mmc.PageControl = mmc.PageControl.CURRENT) -> bytes:
        data = self._ask_twice(lambda n: mmc.mode_sense10(page, n, pc), mmc.MODE_HEADER_SIZE,
                               lambda h: mmc.be(h, 0, 2, "mode data") + 2)
        return mmc.parse_mode_page(data, page)

    # ------------------------------------------------------------------ mechanics

    def eject(self) -> None:
        """Open the tray. A locked tray fails with IllegalRequest 5/53/02: :meth:`unlock` first.

        Ejection never unlocks implicitly, so a burn's lock cannot be overridden by accident.
        """
        self.execute(mmc.start_stop_unit(start=False, load_eject=True), Direction.NONE, timeout=60.0)

    def load(self) -> None:
        self.execute(mmc.start_stop_unit(start=True, load_eject=True), Direction.NONE, timeout=300.0)

    def lock(self) -> None:
        self.execute(mmc.prevent_allow_medium_removal(True), Direction.NONE)

    def unlock(self) -> None:
        self.execute(mmc.prevent_allow_medium_removal(False), Direction.NONE)

    def wait_ready(self, timeout: float = 60.0, poll: float = 0.2,
                   on_progress: Callable[[float], None] | None = None) -> None:
        """Poll TEST UNIT READY until the drive is ready with a medium.

        Rule: wait-and-retry sense (2/04/xx except 04/02, 04/03, BUSY) and unit attentions
        keep waiting; ``on_progress`` gets the drive's progress fraction when it reports one.
        No medium is a settled state, not a busy one: NoMedium is raised at once. Any other
        error is raised at once. After ``timeout`` seconds, DriveTimeout names the last answer.
        """
        self.identify()
        deadline = self._clock() + timeout
        last = "no answer yet"
        while True:
            try:
                self.test_unit_ready()
                return
            except (RetryLater, UnitAttention) as exc:
                last = exc.text
                if on_progress is not None and exc.progress is not None:
                    on_progress(exc.progress)
            if self._clock() >= deadline:
                raise DriveTimeout(
                    f"{self.name} did not become ready within {timeout:g} s; it last said: {last} — "
                    f"wait for the running operation to finish, or reload the disc / power-cycle the drive"
                )
            self._sleep(poll)

    # ------------------------------------------------------------------ data

    def read_blocks(self, lba: int, count: int, buffer: Buffer | None = None) -> memoryview:
        """Read ``count`` 2048-byte blocks into ``buffer`` (or a new one) without copying.

        Returns a view of exactly ``count * 2048`` bytes of the buffer. The caller keeps
        ``count`` within the transport's maximum transfer (reference 1.8).
        """
        size = count * BLOCK_SIZE
        if count <= 0:
            raise ValueError(f"block count must be positive, got {count}")
        view = memoryview(bytearray(size)) if buffer is None else memoryview(buffer).cast("B")
        if len(view) < size:
            raise ValueError(f"buffer holds {len(view)} bytes, {size} needed for {count} blocks")
        view = view[:size]
        small = count <= READ10_MAX_BLOCKS and -(1 << 31) <= lba < (1 << 31)
        cdb = mmc.read10(lba, count) if small else mmc.read12(lba, count)
        result = self.execute(cdb, Direction.FROM_DEVICE, view, timeout=60.0)
        if len(result.data) != size:
            raise DeviceError(
                f"{self.name}: READ at LBA {lba} returned {len(result.data)} of {size} bytes without an "
                f"error; the transport or drive is misbehaving — retry, or report it with the debug log"
            )
        return view


def _allocation(cdb: bytes) -> int:
    """The allocation length a builder put into ``cdb`` (where it lives depends on the opcode)."""
    op = cdb[0]
    if op == Op.INQUIRY:
        return int.from_bytes(cdb[3:5], "big")
    if op == Op.REQUEST_SENSE:
        return cdb[4]
    if op in (Op.MECHANISM_STATUS, Op.READ_DISC_STRUCTURE):
        return int.from_bytes(cdb[8:10], "big")
    if op == Op.READ_CAPACITY:
        return 8
    return int.from_bytes(cdb[7:9], "big")
