"""Sense data: decode, name, classify, and turn failed commands into exceptions.

The classification is the retry policy of reference 4.4 in one place: callers ask "is this
wait-and-retry, a media change, no disc, or a real failure?" by exception type instead of
comparing key/ASC/ASCQ triples all over the code. Texts follow reference 4.3 (SPC/MMC names).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from burnd.errors import BurndError, DeviceError
from burnd.scsi.mmc import ParseError, command_lba, command_name
from burnd.scsi.transport import BUSY, CHECK_CONDITION, DRIVER_SENSE, CommandResult

SENSE_KEYS = {
    0x0: "no sense",
    0x1: "recovered error",
    0x2: "not ready",
    0x3: "medium error",
    0x4: "hardware error",
    0x5: "illegal request",
    0x6: "unit attention",
    0x7: "data protect",
    0x8: "blank check",
    0x9: "vendor specific",
    0xA: "copy aborted",
    0xB: "aborted command",
    0xC: "obsolete",
    0xD: "volume overflow",
    0xE: "miscompare",
    0xF: "reserved",
}

ASC_TEXT: dict[tuple[int, int], str] = {
    (0x00, 0x00): "no additional sense information",
    (0x04, 0x00): "not ready, cause not reportable",
    (0x04, 0x01): "becoming ready",
    (0x04, 0x02): "not ready, initializing command required",
    (0x04, 0x03): "not ready, manual intervention required",
    (0x04, 0x04): "format in progress",
    (0x04, 0x07): "operation in progress",
    (0x04, 0x08): "long write in progress",
    (0x08, 0x00): "logical unit communication failure",
    (0x08, 0x01): "logical unit communication timeout",
    (0x08, 0x02): "logical unit communication parity error",
    (0x08, 0x03): "logical unit communication CRC error",
    (0x0C, 0x00): "write error",
    (0x0C, 0x07): "write error, recovery needed",
    (0x0C, 0x08): "write error, recovery failed",
    (0x0C, 0x09): "write error, loss of streaming",
    (0x0C, 0x0A): "write error, padding blocks added",
    (0x0C, 0x0F): "defects in error window",
    (0x11, 0x00): "unrecovered read error",
    (0x11, 0x05): "L-EC uncorrectable error",
    (0x11, 0x06): "CIRC unrecovered error",
    (0x1A, 0x00): "parameter list length error",
    (0x20, 0x00): "invalid command operation code",
    (0x21, 0x00): "logical block address out of range",
    (0x21, 0x02): "invalid address for write",
    (0x24, 0x00): "invalid field in CDB",
    (0x26, 0x00): "invalid field in parameter list",
    (0x26, 0x01): "parameter not supported",
    (0x26, 0x02): "parameter value invalid",
    (0x27, 0x00): "write protected",
    (0x28, 0x00): "not ready to ready change, medium may have changed",
    (0x28, 0x02): "format layer may have changed",
    (0x29, 0x00): "power on, reset, or bus device reset occurred",
    (0x29, 0x01): "power on occurred",
    (0x29, 0x02): "SCSI bus reset occurred",
    (0x29, 0x03): "bus device reset function occurred",
    (0x29, 0x04): "device internal reset",
    (0x2A, 0x01): "mode parameters changed",
    (0x2C, 0x00): "command sequence error",
    (0x30, 0x00): "incompatible medium installed",
    (0x30, 0x01): "cannot read medium, unknown format",
    (0x30, 0x02): "cannot read medium, incompatible format",
    (0x30, 0x03): "cleaning cartridge installed",
    (0x30, 0x04): "cannot write medium, unknown format",
    (0x30, 0x05): "cannot write medium, incompatible format",
    (0x30, 0x06): "cannot format medium, incompatible medium",
    (0x30, 0x09): "current session not fixated for append",
    (0x30, 0x10): "medium not formatted",
    (0x31, 0x00): "medium format corrupted",
    (0x31, 0x01): "format command failed",
    (0x32, 0x00): "no defect spare location available",
    (0x3A, 0x00): "medium not present",
    (0x3A, 0x01): "medium not present, tray closed",
    (0x3A, 0x02): "medium not present, tray open",
    (0x51, 0x00): "erase failure",
    (0x51, 0x01): "erase failure, incomplete erase operation detected",
    (0x53, 0x02): "medium removal prevented",
    (0x57, 0x00): "unable to recover table of contents",
    (0x63, 0x00): "end of user area encountered on this track",
    (0x63, 0x01): "packet does not fit in available space",
    (0x64, 0x00): "illegal mode for this track",
    (0x64, 0x01): "invalid packet size",
    (0x72, 0x00): "session fixation error",
    (0x72, 0x01): "session fixation error writing lead-in",
    (0x72, 0x02): "session fixation error writing lead-out",
    (0x72, 0x03): "session fixation error, incomplete track in session",
    (0x72, 0x04): "empty or partially written reserved track",
    (0x72, 0x05): "no more track reservations allowed",
    (0x72, 0x06): "RMZ extension is not allowed",
    (0x72, 0x07): "no more test zone extensions are allowed",
    (0x73, 0x00): "CD control error",
    (0x73, 0x01): "power calibration area almost full",
    (0x73, 0x02): "power calibration area is full",
    (0x73, 0x03): "power calibration area error",
    (0x73, 0x04): "program memory area update failure",
    (0x73, 0x05): "program memory area is full",
    (0x73, 0x06): "RMA/PMA is almost full",
}

ASC_FAMILY: dict[int, str] = {
    0x04: "not ready",
    0x09: "track following error",
    0x0C: "write error",
    0x11: "unrecovered read error",
    0x15: "random positioning error",
    0x29: "reset occurred",
    0x30: "incompatible medium",
    0x3A: "medium not present",
    0x72: "session fixation error",
    0x73: "CD control / power calibration error",
}


def asc_text(asc: int, ascq: int) -> str:
    """Name of an ASC/ASCQ pair, falling back to its family, then to the hex code."""
    text = ASC_TEXT.get((asc, ascq))
    if text is not None:
        return text
    family = ASC_FAMILY.get(asc)
    if family is not None:
        return f"{family} (ASCQ {ascq:02X}h)"
    return f"ASC {asc:02X}h ASCQ {ascq:02X}h"


class SenseClass(enum.Enum):
    """What the caller should do about a sense triple (reference 4.3/4.4)."""

    RECOVERED = "recovered"
    RETRY_LATER = "wait and retry"
    UNIT_ATTENTION = "unit attention"
    NO_MEDIUM = "no medium"
    NOT_READY = "not ready"
    MEDIUM_ERROR = "medium error"
    HARDWARE_ERROR = "hardware error"
    ILLEGAL_REQUEST = "illegal request"
    DATA_PROTECT = "data protect"
    BLANK_CHECK = "blank check"
    ABORTED = "aborted command"
    VOLUME_OVERFLOW = "volume overflow"
    MISCOMPARE = "miscompare"
    OTHER = "other"


_KEY_CLASS = {
    0x0: SenseClass.RECOVERED,
    0x1: SenseClass.RECOVERED,
    0x2: SenseClass.NOT_READY,
    0x3: SenseClass.MEDIUM_ERROR,
    0x4: SenseClass.HARDWARE_ERROR,
    0x5: SenseClass.ILLEGAL_REQUEST,
    0x6: SenseClass.UNIT_ATTENTION,
    0x7: SenseClass.DATA_PROTECT,
    0x8: SenseClass.BLANK_CHECK,
    0xB: SenseClass.ABORTED,
    0xD: SenseClass.VOLUME_OVERFLOW,
    0xE: SenseClass.MISCOMPARE,
}

_NOT_READY_FOR_GOOD = frozenset({0x02, 0x03})
"""ASC 04h qualifiers that will not clear by waiting (start command / manual intervention)."""

LU_COMMUNICATION = 0x08
NOT_READY_ASC = 0x04
NO_MEDIUM_ASC = 0x3A


def classify(key: int, asc: int, ascq: int) -> SenseClass:
    if asc == LU_COMMUNICATION and key not in (0x0, 0x1):
        return SenseClass.ABORTED
    if key == 0x2:
        if asc == NO_MEDIUM_ASC:
            return SenseClass.NO_MEDIUM
        if asc == NOT_READY_ASC and ascq not in _NOT_READY_FOR_GOOD:
            return SenseClass.RETRY_LATER
    return _KEY_CLASS.get(key, SenseClass.OTHER)


@dataclass(frozen=True, slots=True)
class Sense:
    """Decoded sense data (fixed 70h/71h or descriptor 72h/73h format)."""

    response_code: int
    key: int
    asc: int
    ascq: int
    information: int | None = None
    sksv: bool = False
    key_specific: bytes = b"\x00\x00\x00"

    @property
    def deferred(self) -> bool:
        return self.response_code in (0x71, 0x73)

    @property
    def descriptor_format(self) -> bool:
        return self.response_code in (0x72, 0x73)

    @property
    def code(self) -> int:
        """growisofs/udev compact form ``key << 16 | asc << 8 | ascq``."""
        return self.key << 16 | self.asc << 8 | self.ascq

    @property
    def progress(self) -> float | None:
        """Fraction done (0..1) of a long operation, when the drive reports one (keys 0 and 2)."""
        if not self.sksv or self.key not in (0x0, 0x2):
            return None
        return int.from_bytes(self.key_specific[1:3], "big") / 65536

    @property
    def field_pointer(self) -> int | None:
        """ILLEGAL REQUEST: byte offset of the offending field (CDB or parameter list)."""
        if not self.sksv or self.key != 0x5:
            return None
        return int.from_bytes(self.key_specific[1:3], "big")

    @property
    def classification(self) -> SenseClass:
        return classify(self.key, self.asc, self.ascq)

    @property
    def text(self) -> str:
        return asc_text(self.asc, self.ascq)

    @property
    def triple(self) -> str:
        return f"{self.key:X}/{self.asc:02X}/{self.ascq:02X}"

    def __str__(self) -> str:
        return f"{self.triple} {self.text} ({SENSE_KEYS[self.key]})"


def _fixed(data: bytes) -> Sense:
    available = min(len(data), 8 + data[7]) if len(data) >= 8 else len(data)
    body = data[:available]

    def byte(i: int) -> int:
        return body[i] if i < len(body) else 0

    sks = bytes(byte(i) for i in (15, 16, 17))
    info = int.from_bytes(body[3:7], "big", signed=True) if data[0] & 0x80 and len(body) >= 7 else None
    return Sense(response_code=data[0] & 0x7F, key=byte(2) & 0x0F, asc=byte(12), ascq=byte(13),
                 information=info, sksv=bool(sks[0] & 0x80), key_specific=sks)


def _descriptor(data: bytes) -> Sense:
    end = min(len(data), 8 + data[7]) if len(data) >= 8 else len(data)
    info: int | None = None
    sks = b"\x00\x00\x00"
    offset = 8
    while offset + 2 <= end:
        kind, size = data[offset], data[offset + 1]
        desc = data[offset : min(end, offset + 2 + size)]
        if kind == 0x00 and len(desc) >= 12 and desc[2] & 0x80:
            info = int.from_bytes(desc[4:12], "big", signed=True)
        elif kind == 0x02 and len(desc) >= 7:
            sks = bytes(desc[4:7])
        offset += 2 + size
    return Sense(response_code=data[0] & 0x7F, key=data[1] & 0x0F, asc=data[2], ascq=data[3],
                 information=info, sksv=bool(sks[0] & 0x80), key_specific=sks)


def decode_sense(data: bytes | memoryview) -> Sense:
    """Decode sense bytes; fields beyond what the device sent read as zero.

    Raises ParseError for empty data or a response code that is not 70h-73h.
    """
    raw = bytes(data)
    if not raw:
        raise ParseError("sense data is empty: the command failed without saying why")
    code = raw[0] & 0x7F
    if code in (0x70, 0x71) and len(raw) >= 3:
        return _fixed(raw)
    if code in (0x72, 0x73) and len(raw) >= 4:
        return _descriptor(raw)
    raise ParseError(f"sense data with response code {code:02X}h and {len(raw)} byte(s) is not "
                     "fixed (70h/71h) or descriptor (72h/73h) format")


# ----------------------------------------------------------------------------- exceptions


class ScsiError(BurndError):
    """A command ended in CHECK CONDITION (or another non-GOOD status).

    ``retryable`` tells generic loops whether issuing the same command again later can work.
    """

    dbus_name = "DriveError"
    retryable = False
    advice = "see the debug log (logger burnd.scsi) for the CDB and sense bytes"

    def __init__(self, cdb: bytes, sense: Sense | None, detail: str = "", device: str = "") -> None:
        self.cdb = bytes(cdb)
        self.sense = sense
        self.opcode = cdb[0] if cdb else None
        self.command = command_name(cdb)
        self.key = sense.key if sense else None
        self.asc = sense.asc if sense else None
        self.ascq = sense.ascq if sense else None
        self.text = str(sense) if sense else detail
        self.progress = sense.progress if sense else None
        self.device = device
        info = sense.information if sense and sense.information is not None else None
        self.lba = info if info is not None else command_lba(cdb)
        super().__init__(self._message(detail))

    def _message(self, detail: str) -> str:
        parts = [f"{self.device}: " if self.device else "", f"{self.command} failed: {self.text}"]
        if self.sense and detail:
            parts.append(f" ({detail})")
        if self.lba is not None:
            parts.append(f" at LBA {self.lba}")
        if self.progress is not None:
            parts.append(f", {self.progress:.0%} done")
        parts.append(f" — {_specific_advice(self.sense) or self.advice}")
        return "".join(parts)


class RetryLater(ScsiError):
    """The drive is busy (spinning up, formatting, writing from its buffer) and will recover."""

    dbus_name = "RetryLater"
    retryable = True
    advice = "the drive is busy; wait and retry (burnd polls until it is ready)"


class NotReady(ScsiError):
    """Not ready for a reason waiting will not cure (start command or manual intervention)."""

    dbus_name = "NotReady"
    advice = "reload the disc (eject and close the tray) or power-cycle the drive"


class NoMedium(ScsiError):
    dbus_name = "NoMedium"
    advice = "insert a disc and close the tray"


class UnitAttention(ScsiError):
    """One-shot notice: medium changed or the drive was reset; cached state is stale."""

    dbus_name = "MediumChanged"
    retryable = True
    advice = "the disc was changed or the drive reset; burnd re-reads the medium, then retry"


class MediumError(ScsiError):
    dbus_name = "MediumError"
    advice = "the disc could not be read or written there; clean it, try a lower speed or another disc"


class HardwareError(ScsiError):
    dbus_name = "HardwareError"
    advice = "the drive reports an internal failure; power-cycle it or use another drive"


class IllegalRequest(ScsiError):
    dbus_name = "IllegalRequest"
    advice = ("the drive refused this command for the current disc or state; if it persists, report "
              "it with the debug log")


class UnsupportedCommand(IllegalRequest):
    """5/20/00: the drive (or emulator) does not implement the opcode; callers may fall back."""

    dbus_name = "NotSupported"
    advice = "this drive does not implement the command"


class DataProtect(ScsiError):
    dbus_name = "WriteProtected"
    advice = "the disc or drive is write-protected; use a writable disc"


class BlankCheck(ScsiError):
    dbus_name = "BlankArea"
    advice = "that part of the disc is blank; nothing was written there"


class AbortedCommand(ScsiError):
    dbus_name = "CommandAborted"
    retryable = True
    advice = "the drive or its link aborted the command; retrying usually works, else check the cable"


class VolumeOverflow(ScsiError):
    dbus_name = "EndOfMedium"
    advice = "the data does not fit on the disc; use a larger disc"


class Miscompare(ScsiError):
    dbus_name = "VerifyFailed"
    advice = "the data on the disc differs from the source; the burn is bad"


class TransportError(DeviceError):
    """The host adapter or driver failed the command: no SCSI answer to judge."""

    dbus_name = "TransportError"

    def __init__(self, cdb: bytes, result: CommandResult, device: str = "") -> None:
        self.command = command_name(cdb)
        self.host_status = result.host_status
        self.driver_status = result.driver_status
        where = f"{device}: " if device else ""
        super().__init__(
            f"{where}{self.command} failed in the transport: host_status=0x{result.host_status:02X} "
            f"driver_status=0x{result.driver_status:02X} — the drive may have been unplugged or "
            f"hung; check `dmesg`, reconnect or power-cycle it"
        )


EXCEPTION_FOR_CLASS: dict[SenseClass, type[ScsiError]] = {
    SenseClass.RETRY_LATER: RetryLater,
    SenseClass.NOT_READY: NotReady,
    SenseClass.NO_MEDIUM: NoMedium,
    SenseClass.UNIT_ATTENTION: UnitAttention,
    SenseClass.MEDIUM_ERROR: MediumError,
    SenseClass.HARDWARE_ERROR: HardwareError,
    SenseClass.ILLEGAL_REQUEST: IllegalRequest,
    SenseClass.DATA_PROTECT: DataProtect,
    SenseClass.BLANK_CHECK: BlankCheck,
    SenseClass.ABORTED: AbortedCommand,
    SenseClass.VOLUME_OVERFLOW: VolumeOverflow,
    SenseClass.MISCOMPARE: Miscompare,
    SenseClass.OTHER: ScsiError,
}

_SPECIFIC_ADVICE: dict[tuple[int, ...], str] = {
    (0x5, 0x21, 0x00): "the address lies beyond the disc's recorded or usable area; check the disc size",
    (0x5, 0x21, 0x02): "the write address is not the disc's next writable address; re-read the track state",
    (0x5, 0x30): "wrong kind of disc for this operation; insert a suitable disc",
    (0x5, 0x53): "the tray is locked; unlock it first",
    (0x5, 0x63): "the disc is full",
    (0x5, 0x64): "this track cannot be written in the chosen mode; try DAO or blank the disc fully",
    (0x5, 0x72): "the session could not be closed; the disc may be unusable for appending",
}


def _specific_advice(sense: Sense | None) -> str | None:
    if sense is None:
        return None
    exact = _SPECIFIC_ADVICE.get((sense.key, sense.asc, sense.ascq))
    return exact or _SPECIFIC_ADVICE.get((sense.key, sense.asc))


def exception_for(cdb: bytes, sense: Sense, device: str = "") -> ScsiError:
    if sense.key == 0x5 and sense.asc == 0x20:
        return UnsupportedCommand(cdb, sense, device=device)
    return EXCEPTION_FOR_CLASS[sense.classification](cdb, sense, device=device)


TASK_SET_FULL = 0x28


def raise_for_result(cdb: bytes, result: CommandResult, device: str = "") -> None:
    """Raise the exception for a failed command; return for success and recovered errors."""
    if result.ok:
        return
    if result.host_status or (result.driver_status & ~DRIVER_SENSE):
        raise TransportError(cdb, result, device)
    if result.status in (BUSY, TASK_SET_FULL):
        raise RetryLater(cdb, None, f"device busy (status 0x{result.status:02X})", device)
    if result.status == CHECK_CONDITION and result.sense:
        try:
            sense = decode_sense(result.sense)
        except ParseError as exc:
            raise ScsiError(cdb, None, f"CHECK CONDITION with undecodable sense ({exc})", device) from None
        if sense.classification is SenseClass.RECOVERED:
            return
        raise exception_for(cdb, sense, device)
    raise ScsiError(cdb, None, f"SCSI status 0x{result.status:02X} without sense data", device)
