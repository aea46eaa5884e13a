"""Byte builders shared by every emulated command: sense data, CD addresses, truncation.

All functions here are pure. Command handlers raise :class:`CheckCondition` and the burner turns
it into fixed-format sense bytes, so no handler ever builds sense by hand (reference §4.1).
"""

from __future__ import annotations

SENSE_LENGTH = 18

# (key, ASC, ASCQ) triples the emulator reports, named after reference §4.3.
NO_SENSE = (0x0, 0x00, 0x00)
BECOMING_READY = (0x2, 0x04, 0x01)
FORMAT_IN_PROGRESS = (0x2, 0x04, 0x04)
OPERATION_IN_PROGRESS = (0x2, 0x04, 0x07)
LONG_WRITE_IN_PROGRESS = (0x2, 0x04, 0x08)
NO_MEDIUM_TRAY_CLOSED = (0x2, 0x3A, 0x01)
NO_MEDIUM_TRAY_OPEN = (0x2, 0x3A, 0x02)
NOT_READY_REMOVAL_PREVENTED = (0x2, 0x53, 0x02)
INVALID_OPCODE = (0x5, 0x20, 0x00)
LBA_OUT_OF_RANGE = (0x5, 0x21, 0x00)
INVALID_WRITE_ADDRESS = (0x5, 0x21, 0x02)
INVALID_FIELD_IN_CDB = (0x5, 0x24, 0x00)
INVALID_FIELD_IN_PARAMETERS = (0x5, 0x26, 0x00)
PARAMETER_LIST_LENGTH = (0x5, 0x1A, 0x00)
SEQUENCE_ERROR = (0x5, 0x2C, 0x00)
CANNOT_READ_INCOMPATIBLE = (0x5, 0x30, 0x02)
CANNOT_WRITE_INCOMPATIBLE = (0x5, 0x30, 0x05)
MEDIUM_NOT_FORMATTED = (0x5, 0x30, 0x10)
SAVING_NOT_SUPPORTED = (0x5, 0x39, 0x00)
REMOVAL_PREVENTED = (0x5, 0x53, 0x02)
END_OF_USER_AREA = (0x5, 0x63, 0x00)
ILLEGAL_MODE_FOR_TRACK = (0x5, 0x64, 0x00)
INVALID_PACKET_SIZE = (0x5, 0x64, 0x01)
INCOMPLETE_TRACK_IN_SESSION = (0x5, 0x72, 0x03)
NO_MORE_RESERVATIONS = (0x5, 0x72, 0x05)
MEDIUM_MAY_HAVE_CHANGED = (0x6, 0x28, 0x00)
POWER_ON_RESET = (0x6, 0x29, 0x00)


class CheckCondition(Exception):
    """A command ends in CHECK CONDITION with this sense; raised by handlers, caught once.

    ``field`` points at the offending byte (and ``bit``) of the CDB (``in_cdb``) or of the
    parameter list, as the sense-key-specific bytes of key 5 do; ``progress`` (0…1) fills them
    for NOT READY instead (reference §4.1).
    """

    def __init__(
        self,
        code: tuple[int, int, int],
        *,
        info: int | None = None,
        field: int | None = None,
        bit: int | None = None,
        in_cdb: bool = True,
        progress: float | None = None,
    ) -> None:
        super().__init__(f"{code[0]:X}/{code[1]:02X}/{code[2]:02X}")
        self.code = code
        self.info = info
        self.field = field
        self.bit = bit
        self.in_cdb = in_cdb
        self.progress = progress

    def sense(self) -> bytes:
        return sense_bytes(self.code, info=self.info, sks=self._sks())

    def _sks(self) -> bytes | None:
        if self.progress is not None:
            return progress_sks(self.progress)
        if self.field is not None:
            return field_sks(self.field, self.bit, self.in_cdb)
        return None


def invalid_cdb_field(field: int, bit: int | None = None) -> CheckCondition:
    return CheckCondition(INVALID_FIELD_IN_CDB, field=field, bit=bit)


def invalid_param_field(field: int, bit: int | None = None) -> CheckCondition:
    return CheckCondition(INVALID_FIELD_IN_PARAMETERS, field=field, bit=bit, in_cdb=False)


def sense_bytes(
    code: tuple[int, int, int], *, info: int | None = None, sks: bytes | None = None
) -> bytes:
    """Fixed-format (70h) sense, 18 bytes; VALID only when an Information value is given."""
    key, asc, ascq = code
    out = bytearray(SENSE_LENGTH)
    out[0] = 0x70 | (0x80 if info is not None else 0)
    out[2] = key & 0x0F
    if info is not None:
        out[3:7] = (info & 0xFFFFFFFF).to_bytes(4, "big")
    out[7] = SENSE_LENGTH - 8
    out[12] = asc
    out[13] = ascq
    if sks is not None:
        out[15:18] = sks
    return bytes(out)


def progress_sks(fraction: float) -> bytes:
    """SKSV + progress indication: 0…65535 of the work done (keys 0 and 2)."""
    value = max(0, min(0xFFFF, int(fraction * 0x10000)))
    return bytes((0x80, value >> 8, value & 0xFF))


def field_sks(field: int, bit: int | None, in_cdb: bool) -> bytes:
    """SKSV + field pointer for ILLEGAL REQUEST: C/D, BPV + bit pointer, byte offset."""
    first = 0x80 | (0x40 if in_cdb else 0)
    if bit is not None:
        first |= 0x08 | (bit & 0x07)
    return bytes((first, (field >> 8) & 0xFF, field & 0xFF))


def lba_to_msf(lba: int) -> tuple[int, int, int]:
    """CD address → (minute, second, frame); negative LBAs map to the lead-in (M ≥ 90)."""
    frames = lba + 150 if lba >= -150 else lba + 450150
    return frames // 4500, (frames // 75) % 60, frames % 75


def msf_bytes(lba: int) -> bytes:
    """The 4-byte MSF form used in TOC and disc information: 00 MM SS FF."""
    minute, second, frame = lba_to_msf(lba)
    return bytes((0, minute, second, frame))


def with_length(body: bytearray, field_size: int, header_extra: int = 0) -> bytearray:
    """Fill a leading length field with ``len(body) - field_size - header_extra``.

    MMC length fields count the bytes after themselves (``header_extra`` covers GESN's QEMU
    convention of also excluding the rest of its 4-byte header).
    """
    length = len(body) - field_size - header_extra
    body[0:field_size] = length.to_bytes(field_size, "big")
    return body


def ascii_field(text: str, size: int) -> bytes:
    """A space-padded, truncated ASCII field as INQUIRY uses."""
    return text.encode("ascii", "replace")[:size].ljust(size, b" ")
