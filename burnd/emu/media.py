"""The state of one disc in the virtual burner and the rules real drives enforce on it.

Sequential media (CD-R/RW, DVD-R/RW sequential, DVD+R, BD-R SRM) are a list of sessions of
tracks plus one *invisible* track after the last one: the space the next WRITE opens (reference
§3.7). Random media (DVD+RW, DVD-RAM, BD-RE, DVD-RW restricted overwrite) are a formatted size.
ROM media are a fixed size. Every rule violation raises :class:`CheckCondition` with the sense a
real drive gives, so the burner never has to know media rules.

Emulator conventions where the reference gives no figure (documented so tests can rely on them):
the next track on a CD starts 2 run-out + 150 pregap blocks after the previous track; a new CD
session starts 11400 blocks after the first session's lead-out and 6900 after later ones
(reference §5.3); DVD and BD tracks and sessions start at the next ECC block (16) / cluster (32)
after the previous track, which the drive pads when it closes a track.

Deliberately strict (the reference calls these steps mandatory; some drives forgive them):
CLOSE TRACK/SESSION after a WRITE without SYNCHRONIZE CACHE is 5/2C/00, and CLOSE SESSION while
a written track is still open is 5/72/03. Not emulated: audio/raw block types (WRITE with a
non-2048-byte page 05h block type is 5/64/00), BD-R pseudo-overwrite remapping (format sub-type
00b only marks feature 0038h current), CD inter-track pregaps inside an SAO cue sheet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from burnd.emu import responses as r
from burnd.emu.kinds import (
    DVD_RW_RESTRICTED,
    DVD_RW_SEQUENTIAL,
    Family,
    MediumKind,
    Recording,
    kind_by_name,
)

BLANK, APPENDABLE, COMPLETE, OTHER = 0, 1, 2, 3
SESSION_EMPTY, SESSION_INCOMPLETE, SESSION_COMPLETE = 0, 1, 3

WRITE_PACKET, WRITE_TAO, WRITE_SAO, WRITE_RAW = 0, 1, 2, 3
CD_RUNOUT = 2
CD_PREGAP = 150
CD_MAX_TRACKS = 99
FINALIZE_FUNCTIONS = frozenset({5, 6})
BD_SPARE_DEFAULT = 393_216  # BD-RE/BD-R 25 GB default spare area (blocks)
DVD_RW_PACKET = 16


@dataclass
class Track:
    """One track (DVD+R: fragment). ``reserved`` is the RESERVE TRACK size, if any."""

    number: int
    session: int
    start: int
    written: int = 0
    reserved: int | None = None
    closed: bool = False
    padded: int = 0
    runout: int = 0
    write_type: int = WRITE_PACKET

    @property
    def nwa(self) -> int:
        return self.start + self.written

    @property
    def recorded_end(self) -> int:
        """One past the last readable block (written data plus drive padding)."""
        return self.start + self.written + self.padded

    @property
    def size(self) -> int:
        if self.reserved is not None:
            return self.reserved + self.runout
        return self.written + self.padded + self.runout

    @property
    def end(self) -> int:
        return self.start + self.size


@dataclass
class Session:
    number: int
    tracks: list[Track] = field(default_factory=list)
    closed: bool = False


@dataclass(frozen=True, slots=True)
class WriteMode:
    """What mode page 05h says about the next write (only CD and DVD-R[W] honour it)."""

    write_type: int = WRITE_PACKET
    multisession: int = 0
    fixed_packet: bool = False
    packet_size: int = 0
    test_write: bool = False


def _align(value: int, unit: int) -> int:
    return -(-value // unit) * unit


@dataclass
class Disc:
    """A medium's recording state. ``capacity`` is the raw size in 2048-byte blocks."""

    kind: MediumKind
    capacity: int
    sessions: list[Session] = field(default_factory=list)
    finalized: bool = False
    formatted: int = 0
    bg_format: int = 0
    intermediate: bool = False
    incremental_ok: bool = True
    pow: bool = False
    cue_sheet: bool = False
    pregap_nwa: int = -CD_PREGAP
    dirty: bool = False

    # ----------------------------------------------------------------- construction / state
    @classmethod
    def new(cls, kind: MediumKind, capacity: int | None = None) -> Disc:
        size = capacity if capacity is not None else kind.capacity
        if size <= 0:
            raise ValueError(f"medium {kind.name!r} needs a positive capacity, got {size}")
        disc = cls(kind, size)
        if kind.recording is Recording.ROM:
            disc.finalized = True
            disc.sessions = [Session(1, [Track(1, 1, 0, written=size, closed=True)], True)]
        elif kind.recording is Recording.RANDOM and not kind.needs_format:
            disc.formatted = size
        return disc

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.name
        data.pop("dirty")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Disc:
        fields = dict(data)
        fields["kind"] = kind_by_name(fields["kind"])
        fields["sessions"] = [
            Session(s["number"], [Track(**t) for t in s["tracks"]], s["closed"])
            for s in fields["sessions"]
        ]
        return cls(**fields)

    @property
    def profile(self) -> int:
        return self.kind.profile

    @property
    def sequential(self) -> bool:
        return self.kind.recording is Recording.SEQUENTIAL

    @property
    def user_capacity(self) -> int:
        """Blocks a host may address: the formatted size on formatted media."""
        if self.kind.recording is Recording.RANDOM:
            return self.formatted
        if self.kind.family is Family.BD and self.formatted:
            return self.formatted
        return self.capacity

    @property
    def is_formatted(self) -> bool:
        """Random media are usable once formatted; a quick-formatted DVD-RW may hold 0 blocks."""
        return self.formatted > 0 or self.kind is DVD_RW_RESTRICTED

    @property
    def tracks(self) -> list[Track]:
        return [t for s in self.sessions for t in s.tracks]

    def track(self, number: int) -> Track | None:
        for t in self.tracks:
            if t.number == number:
                return t
        return None

    # ----------------------------------------------------------------- disc information
    @property
    def status(self) -> int:
        """Disc Status of READ DISC INFORMATION byte 2 (reference §3.6)."""
        if self.kind.recording is Recording.ROM or self.finalized:
            return COMPLETE
        if self.kind.recording is Recording.RANDOM:
            if not self.is_formatted:
                return BLANK
            return OTHER if self.kind.name == "dvd-ram" else COMPLETE
        if self.sessions or self.formatted:
            return APPENDABLE
        return BLANK

    @property
    def last_session_state(self) -> int:
        if self.status == COMPLETE or self.status == OTHER:
            return SESSION_COMPLETE
        open_session = self.open_session()
        return SESSION_INCOMPLETE if open_session and open_session.tracks else SESSION_EMPTY

    @property
    def session_count(self) -> int:
        if not self.sequential:
            return 1
        closed = sum(1 for s in self.sessions if s.closed)
        return closed if self.finalized else closed + 1

    def open_session(self) -> Session | None:
        if self.sessions and not self.sessions[-1].closed:
            return self.sessions[-1]
        return None

    def first_track_last_session(self) -> int:
        if not self.sequential:
            return 1
        if self.finalized:
            return self.sessions[-1].tracks[0].number
        open_session = self.open_session()
        if open_session:
            return open_session.tracks[0].number
        return self.invisible_number()

    def last_track_last_session(self) -> int:
        if not self.sequential:
            return 1
        if self.finalized:
            return self.sessions[-1].tracks[-1].number
        return self.invisible_number()

    def invisible_number(self) -> int:
        """Number of the track FFh addresses: the incomplete or the invisible track."""
        incomplete = self.incomplete_track()
        return incomplete.number if incomplete else len(self.tracks) + 1

    def incomplete_track(self) -> Track | None:
        """The open, unreserved track a WRITE has started, if any."""
        tracks = self.tracks
        if tracks and not tracks[-1].closed and tracks[-1].reserved is None:
            return tracks[-1]
        return None

    def next_start(self) -> int:
        """Where the invisible track begins (reference §5.3 for the CD figures)."""
        if not self.sessions:
            return 0
        last = self.sessions[-1].tracks[-1]
        end = last.end if self.kind.family is Family.CD else _align(last.end, self.kind.ecc_blocks)
        if self.kind.family is not Family.CD:
            return end
        if not self.sessions[-1].closed:
            return end + CD_PREGAP
        return end + (11400 if len(self.sessions) == 1 else 6900)

    def invisible_track(self) -> Track | None:
        """The track FFh / ``last track in last session`` names on an unfinished disc."""
        if self.finalized or not self.sequential:
            return None
        incomplete = self.incomplete_track()
        if incomplete:
            return incomplete
        start = self.next_start()
        session = self.open_session()
        number = session.number if session else len(self.sessions) + 1
        return Track(self.invisible_number(), number, start)

    @property
    def nwa(self) -> int | None:
        """Next writable address of the incomplete/invisible track; None when not appendable."""
        track = self.invisible_track()
        return track.nwa if track is not None else None

    def free_blocks(self, track: Track) -> int:
        if track.closed:
            return 0
        if track.reserved is not None:
            return track.reserved - track.written
        return max(0, self.user_capacity - track.nwa)

    def recorded_end(self) -> int:
        """One past the last recorded block; 0 when nothing is recorded (READ CAPACITY)."""
        if not self.sequential:
            return self.user_capacity
        tracks = self.tracks
        return max((t.recorded_end + t.runout for t in tracks), default=0)

    # ----------------------------------------------------------------- reads
    def check_read(self, lba: int, count: int) -> None:
        if lba < 0 or lba + count > self.capacity:
            raise r.CheckCondition(r.LBA_OUT_OF_RANGE, info=lba)
        if self.kind.recording is Recording.ROM:
            return
        if not self.sequential:
            if not self.is_formatted:
                raise r.CheckCondition(r.MEDIUM_NOT_FORMATTED)
            if lba + count > self.user_capacity:
                raise r.CheckCondition(r.LBA_OUT_OF_RANGE, info=lba)
            return
        pos, end = lba, lba + count
        while pos < end:
            holder = next((t for t in self.tracks if t.start <= pos < t.recorded_end), None)
            if holder is None:
                raise r.CheckCondition(r.LBA_OUT_OF_RANGE, info=pos)
            pos = holder.recorded_end

    # ----------------------------------------------------------------- writes
    def prepare_write(self, lba: int, count: int, mode: WriteMode) -> Track | None:
        """Validate a WRITE; returns the track it extends (None on random media)."""
        if self.kind.recording is Recording.ROM or self.finalized:
            raise r.CheckCondition(r.CANNOT_WRITE_INCOMPATIBLE)
        if not self.sequential:
            self._check_random_write(lba, count)
            return None
        if lba < 0 or lba + count > self.user_capacity:
            raise r.CheckCondition(r.LBA_OUT_OF_RANGE, info=lba)
        track = self._writable_at(lba)
        if track is None or (self.cue_sheet and self.pregap_nwa < 0):
            raise r.CheckCondition(r.INVALID_WRITE_ADDRESS, info=lba)
        overflows = track.reserved is not None and track.written + count > track.reserved
        # An SAO session is one stream: a WRITE may run on into the next cue-sheet track.
        if overflows and (track.write_type != WRITE_SAO or lba + count > self._sao_end()):
            raise r.CheckCondition(r.END_OF_USER_AREA, info=lba)
        if self.kind.uses_page05:
            self._check_mode(track, count, mode)
        return track

    def commit_write(self, track: Track | None, lba: int, count: int) -> None:
        self.dirty = True
        if track is None:
            if self.intermediate and lba + count > self.formatted:
                self.formatted = lba + count
            return
        if track.reserved is None and track.written:
            track.written += count  # the common case: extending the incomplete track
            return
        if not any(t is track for t in self.tracks):
            self._open_track(track)
        tracks = self.tracks
        index = next(i for i, t in enumerate(tracks) if t is track)
        while count:
            current = tracks[index]
            room = count if current.reserved is None else current.reserved - current.written
            step = min(count, room)
            current.written += step
            count -= step
            index += 1

    def _sao_end(self) -> int:
        return max(t.end for t in self.tracks if t.write_type == WRITE_SAO)

    def write_pregap(self, lba: int, count: int) -> int:
        """Consume the SAO pregap blocks (LBA −150…−1) of a WRITE; returns how many it held."""
        if not self.cue_sheet or lba != self.pregap_nwa:
            raise r.CheckCondition(r.INVALID_WRITE_ADDRESS, info=lba)
        taken = min(count, -lba)
        self.pregap_nwa += taken
        return taken

    def load_cue_sheet(self, sheet: bytes) -> None:
        """SEND CUE SHEET: lay out the SAO session as reserved tracks (reference §5.2)."""
        starts: list[tuple[int, int]] = []
        lead_out = None
        for at in range(0, len(sheet), 8):
            entry = sheet[at : at + 8]
            if entry[0] & 0x0F != 1:
                continue
            lba = (entry[5] * 60 + entry[6]) * 75 + entry[7] - CD_PREGAP
            if entry[1] == 0xAA:
                lead_out = lba
            elif 1 <= entry[1] <= CD_MAX_TRACKS and entry[2] == 1:
                if entry[3] != 0x10:
                    raise r.invalid_param_field(at + 3)
                if starts and lba <= starts[-1][1]:
                    raise r.invalid_param_field(at + 5)
                starts.append((entry[1], lba))
        if not starts or starts[0][1] != 0 or lead_out is None or lead_out <= starts[-1][1]:
            raise r.invalid_param_field(0)
        if lead_out > self.capacity:
            raise r.invalid_param_field(0)
        ends = [s[1] for s in starts[1:]] + [lead_out]
        self.sessions = [
            Session(
                1,
                [
                    Track(number, 1, start, reserved=end - start, write_type=WRITE_SAO)
                    for (number, start), end in zip(starts, ends, strict=True)
                ],
            )
        ]
        self.cue_sheet = True
        self.pregap_nwa = -CD_PREGAP

    def _check_random_write(self, lba: int, count: int) -> None:
        if not self.is_formatted:
            raise r.CheckCondition(r.MEDIUM_NOT_FORMATTED)
        limit = self.capacity if self.intermediate else self.formatted
        if lba < 0 or lba + count > limit or (self.intermediate and lba > self.formatted):
            raise r.CheckCondition(r.LBA_OUT_OF_RANGE, info=lba)
        if self.kind is DVD_RW_RESTRICTED:
            if lba % DVD_RW_PACKET:
                raise r.CheckCondition(r.INVALID_WRITE_ADDRESS, info=lba)
            if count % DVD_RW_PACKET:
                raise r.CheckCondition(r.INVALID_PACKET_SIZE, info=lba)

    def _writable_at(self, lba: int) -> Track | None:
        session = self.open_session()
        if session:
            for t in session.tracks:
                if t.reserved is not None and not t.closed and t.nwa == lba:
                    return t
        invisible = self.invisible_track()
        if invisible is not None and invisible.nwa == lba:
            return invisible
        return None

    def _check_mode(self, track: Track, count: int, mode: WriteMode) -> None:
        """Mode page 05h rules for CD and DVD-R[W] (reference §5.1, §5.2, §5.4)."""
        is_cd = self.kind.family is Family.CD
        if track.written == 0 and track.reserved is None:
            if mode.write_type == WRITE_SAO and not (is_cd and self.cue_sheet):
                raise r.CheckCondition(r.SEQUENCE_ERROR)
            if mode.write_type == WRITE_RAW:
                raise r.CheckCondition(r.ILLEGAL_MODE_FOR_TRACK)
            if not is_cd and mode.write_type == WRITE_PACKET and not self.incremental_ok:
                raise r.CheckCondition(r.ILLEGAL_MODE_FOR_TRACK)
        fixed_packets = not is_cd and track.write_type == WRITE_PACKET and mode.fixed_packet
        if fixed_packets and mode.packet_size and count % mode.packet_size:
            raise r.CheckCondition(r.INVALID_PACKET_SIZE, info=track.nwa)

    def _open_track(self, track: Track) -> None:
        session = self.open_session()
        if session is None:
            session = Session(len(self.sessions) + 1)
            self.sessions.append(session)
        track.session = session.number
        session.tracks.append(track)

    def sync(self, mode: WriteMode) -> None:
        """SYNCHRONIZE CACHE: flushes; on CD TAO it also ends the track, DVD-R DAO the disc."""
        self.dirty = False
        if not self.sequential:
            return
        incomplete = self.incomplete_track()
        if self.kind.family is Family.CD and incomplete and incomplete.written:
            self._close(incomplete)
        session = self.open_session()
        planned = [t for t in session.tracks if t.write_type == WRITE_SAO] if session else []
        if session and planned and all(t.written == t.reserved for t in planned):
            for t in planned:
                self._close(t)
            session.closed = True
            self.finalized = mode.multisession != 0b11 or self.kind.family is not Family.CD
            self.cue_sheet = False

    # ----------------------------------------------------------------- track/session
    def reserve(self, size: int, mode: WriteMode) -> None:
        if self.finalized:
            raise r.CheckCondition(r.CANNOT_WRITE_INCOMPATIBLE)
        if self.incomplete_track() is not None:
            raise r.CheckCondition(r.SEQUENCE_ERROR)
        if size <= 0:
            raise r.invalid_cdb_field(5)
        dao = self.kind.uses_page05 and mode.write_type == WRITE_SAO
        if dao and (self.sessions or self.kind.family is Family.CD):
            raise r.CheckCondition(r.SEQUENCE_ERROR)
        if not dao:
            size = _align(size, self.kind.ecc_blocks)
        if self.kind.family is Family.CD and len(self.tracks) >= CD_MAX_TRACKS:
            raise r.CheckCondition(r.NO_MORE_RESERVATIONS)
        start = self.next_start()
        if start + size > self.user_capacity:
            raise r.invalid_cdb_field(5)
        self._open_track(
            Track(len(self.tracks) + 1, 0, start, reserved=size, write_type=mode.write_type)
        )

    def close_track(self, number: int) -> None:
        if self.finalized:
            raise r.CheckCondition(r.SEQUENCE_ERROR)
        if self.dirty:
            raise r.CheckCondition(r.SEQUENCE_ERROR)
        if number == 0xFF and self.kind.family is Family.CD:
            number = self.invisible_number()
        track = self.track(number)
        if track is None:
            if number == self.invisible_number():
                return
            raise r.invalid_cdb_field(4)
        if not track.closed:
            self._close(track)

    def _close(self, track: Track) -> None:
        target = track.reserved if track.reserved is not None else track.written
        if track.reserved is None:
            target = _align(track.written, self.kind.ecc_blocks)
        track.padded = target - track.written
        track.closed = True
        if self.kind.family is Family.CD:
            track.runout = CD_RUNOUT

    def close_session(self, function: int, mode: WriteMode) -> None:
        """CLOSE SESSION 010b or the finalize functions (reference §3.18)."""
        if self.dirty or self.finalized:
            raise r.CheckCondition(r.SEQUENCE_ERROR)
        session = self.open_session()
        finalize = function in FINALIZE_FUNCTIONS or (
            self.kind.uses_page05 and mode.multisession != 0b11
        )
        if session is None:
            if not self.sessions and not self.formatted:
                raise r.CheckCondition(r.SEQUENCE_ERROR)
            if finalize and self.sessions:
                self.finalized = True
            return
        for t in session.tracks:
            if not t.closed and t.reserved is None:
                raise r.CheckCondition(r.INCOMPLETE_TRACK_IN_SESSION)
            if not t.closed:
                self._close(t)
        session.closed = True
        self.finalized = finalize

    # ----------------------------------------------------------------- erase / format
    def blank(self, blank_type: int) -> None:
        """BLANK 000b (full) or 001b (minimal) on CD-RW and DVD-RW (reference §3.12, §5.5)."""
        if blank_type not in (0, 1):
            raise r.invalid_cdb_field(1, bit=0)
        self.sessions = []
        self.finalized = False
        self.dirty = False
        self.cue_sheet = False
        if self.kind.family is Family.DVD:
            self.kind = DVD_RW_SEQUENTIAL
            self.formatted = 0
            self.intermediate = False
            self.incremental_ok = blank_type == 0

    def format_offers(self) -> list[tuple[int, int, int]]:
        """Formattable descriptors (blocks, format type, type parameter) — reference §3.10."""
        cap = self.capacity
        name = self.kind.name
        spare = min(BD_SPARE_DEFAULT * cap // 12_219_392 // 32 * 32, cap // 2)
        if name == "dvd+rw":
            return [(cap, 0x26, 0)]
        if name == "dvd-rw":
            return [(cap, 0x00, 16), (cap, 0x10, 16), (cap, 0x15, 16)]
        if name == "dvd-rw-ro":
            offers = [(cap, 0x00, 16), (cap, 0x10, 16)]
            if not self.intermediate and self.formatted < cap:
                offers.append((cap - self.formatted, 0x13, 16))
            return offers
        if name == "dvd-ram":
            return [(cap, 0x00, 0), (cap, 0x01, 0)]
        if name == "bd-re":
            return [
                (cap - spare, 0x00, 0x800),
                (cap - spare, 0x30, 0),
                (cap - 2 * spare, 0x30, 0),
                (cap - spare // 2, 0x30, 0),
                (cap, 0x31, 0x800),
            ]
        if name == "bd-r" and self.status == BLANK and not self.formatted:
            return [
                (cap - spare, 0x00, 0),
                (cap - spare, 0x32, 0),
                (cap - 2 * spare, 0x32, 0),
                (cap - spare // 2, 0x32, 0),
            ]
        return []

    def format(self, format_type: int, subtype: int, blocks: int, param: int) -> None:
        """Apply FORMAT UNIT; the descriptor must match an offered one (reference §3.11)."""
        offers = [o for o in self.format_offers() if o[1] == format_type]
        if not offers:
            raise r.invalid_param_field(8, bit=2)
        if self.kind.name in ("dvd-rw", "dvd-rw-ro") and param != DVD_RW_PACKET:
            raise r.invalid_param_field(9)
        if format_type == 0x26:
            if blocks not in (0xFFFFFFFF, self.capacity):
                raise r.invalid_param_field(4)
            self.formatted, self.bg_format = self.capacity, 3
        elif format_type in (0x00, 0x10) and self.kind.family is Family.DVD:
            if blocks != offers[0][0]:
                raise r.invalid_param_field(4)
            self._to_restricted(self.capacity, intermediate=False)
        elif format_type == 0x15:
            if blocks > self.capacity:
                raise r.invalid_param_field(4)
            self._to_restricted(blocks, intermediate=True)
        elif format_type == 0x13:
            self._to_restricted(self.capacity, intermediate=True)
        elif format_type == 0x01:
            self.formatted = self.capacity
        else:
            self._format_bd(format_type, subtype, blocks, offers)

    def _format_bd(
        self, format_type: int, subtype: int, blocks: int, offers: list[tuple[int, int, int]]
    ) -> None:
        sizes = [o[0] for o in offers]
        if self.kind.name == "bd-r":
            if subtype not in (0, 1):
                raise r.invalid_param_field(8, bit=0)
            self.pow = subtype == 0
        if format_type in (0x30, 0x32):
            if not min(sizes) <= blocks <= max(sizes):
                raise r.invalid_param_field(4)
            self.formatted = blocks
        else:
            self.formatted = sizes[0]
        self.bg_format = 0

    def _to_restricted(self, size: int, *, intermediate: bool) -> None:
        self.kind = DVD_RW_RESTRICTED
        self.sessions = []
        self.finalized = False
        self.formatted = size
        self.intermediate = intermediate

    def close_restricted(self) -> None:
        """CLOSE SESSION on DVD-RW RO / DVD+RW: leave the intermediate state (§5.5, §5.7)."""
        if self.dirty:
            raise r.CheckCondition(r.SEQUENCE_ERROR)
        self.intermediate = False
        if self.kind.name == "dvd+rw" and self.formatted:
            self.bg_format = 3
