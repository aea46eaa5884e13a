"""Conversions between images: any image → ISO (one data track), any image → BIN/CUE.

Both stream in large batches and write atomically (a temporary file beside the target, renamed
at the end), so a failed or interrupted conversion never leaves a half-written image under the
final name. ``convert_to_iso`` reports what an ISO cannot hold, because silently dropping an
audio track or a second session is the classic way such tools lose data.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from burnd.errors import BadImage, UnsupportedImage
from burnd.image import cdsector as cd
from burnd.image.cdlayout import CdImage
from burnd.image.formats.bincue import SESSION_GAPS, SESSION_PREGAP
from burnd.image.open import open_image
from burnd.image.output import atomic_output
from burnd.image.source import USER_DATA_SIZE, DataView, PlainSlice, SectorErrors, SectorSource, Track, TrackMode

Progress = Callable[[int, int], None]  # (bytes done, bytes total)

#: sectors per read/write batch: 4 MiB of ISO output
COPY_SECTORS = 2048


@dataclass
class ConversionReport:
    """What a conversion produced and what it could not keep."""

    source_format: str
    track: Track
    sectors: int
    bytes_written: int
    dropped: list[str] = field(default_factory=list)
    edc_errors: SectorErrors = field(default_factory=SectorErrors)
    form2_sectors: SectorErrors = field(default_factory=SectorErrors)


def write_all(fd: int, data: memoryview | bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def choose_track(source: SectorSource, session: int | None, track: int | None) -> Track:
    """The track a conversion means: by number, else the first data track of ``session``, else
    the source's default track."""
    if track is not None:
        for t in source.tracks:
            if t.number == track:
                return t
        raise BadImage(f"{source.path}: there is no track {track}; the image has tracks {[t.number for t in source.tracks]}")
    if session is not None:
        for s in source.sessions:
            if s.number == session:
                for t in s.tracks:
                    if t.is_data:
                        return t
                raise BadImage(f"{source.path}: session {session} has no data track")
        raise BadImage(f"{source.path}: there is no session {session}")
    return source.default_track()


def dropped_parts(source: SectorSource, chosen: Track) -> list[str]:
    """Plain-language list of what an ISO of ``chosen`` leaves out."""
    dropped = []
    audio = [t.number for t in source.tracks if t.mode is TrackMode.AUDIO]
    if audio:
        dropped.append(f"audio tracks {audio}")
    other_data = [t.number for t in source.tracks if t.number != chosen.number and t.mode is not TrackMode.AUDIO]
    if other_data:
        dropped.append(f"other data tracks {other_data}")
    sessions = [s.number for s in source.sessions if s.number != chosen.session]
    if sessions:
        dropped.append(f"sessions {sessions} (an ISO holds one session's file system)")
    if any(t.sector_size > cd.RAW_SECTOR_SIZE for t in source.tracks):
        dropped.append("subchannel data stored with the sectors")
    elif source.format == "ccd" and os.path.exists(os.path.splitext(source.path)[0] + ".sub"):
        dropped.append("subchannel data (.sub file)")
    return dropped


def _copy_range(plain: PlainSlice, fd: int, progress: Progress | None) -> bool:
    """Copy a plain slice with copy_file_range (the kernel moves the data, or shares extents on
    reflink file systems). False when the kernel refuses before anything was copied (EXDEV
    across some file systems, ENOSYS, EINVAL on special files): the caller then copies itself."""
    with open(plain.path, "rb") as src:
        done = 0
        while done < plain.size:
            try:
                n = os.copy_file_range(src.fileno(), fd, min(plain.size - done, 1 << 30), plain.offset + done)
            except OSError as exc:
                if done == 0 and exc.errno in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                    return False
                raise
            if n == 0:
                raise BadImage(f"{plain.path}: the file ends before the track does; the image is truncated")
            done += n
            if progress:
                progress(done, plain.size)
    return True


def _copy_batches(view: DataView, sectors: int, fd: int, progress: Progress | None) -> None:
    buffer = bytearray(COPY_SECTORS * USER_DATA_SIZE)
    first = 0
    while first < sectors:
        count = min(COPY_SECTORS, sectors - first)
        chunk = memoryview(buffer)[: count * USER_DATA_SIZE]
        view.readinto(first, chunk)
        write_all(fd, chunk)
        first += count
        if progress:
            progress(first * USER_DATA_SIZE, sectors * USER_DATA_SIZE)


def copy_view(source: SectorSource, track: Track, fd: int, progress: Progress | None) -> DataView:
    """Stream the 2048-byte view of ``track`` to ``fd`` and return the view (its error counts
    are the conversion's). A plain slice goes through copy_file_range, no data through Python."""
    view = source.data_view(track)
    plain = source.plain_slice(track)
    if plain is None or not _copy_range(plain, fd, progress):
        _copy_batches(view, track.sectors, fd, progress)
    return view


def convert_to_iso(
    src_path: str, dst_path: str, *, session: int | None = None, track: int | None = None,
    progress: Progress | None = None,
) -> ConversionReport:
    """Write one data track's 2048-byte user data as an ISO file and say what was left out."""
    with open_image(src_path) as source:
        chosen = choose_track(source, session, track)
        if not chosen.is_data:
            raise BadImage(f"{src_path}: track {chosen.number} is {chosen.mode.value}; only data tracks convert to ISO")
        with atomic_output(dst_path, durable=True) as fd:
            view = copy_view(source, chosen, fd, progress)
        report = ConversionReport(
            source.format, chosen, chosen.sectors, chosen.sectors * USER_DATA_SIZE,
            dropped_parts(source, chosen), view.errors, getattr(view, "form2", SectorErrors()),
        )
        if report.form2_sectors.count:
            report.dropped.append(
                f"{report.form2_sectors.count} Mode 2 Form 2 sectors (only their first 2048 bytes were kept)"
            )
        return report


# --- BIN/CUE writer ---------------------------------------------------------------------------


def _raw_copyable(source: SectorSource, track: Track) -> tuple[int, int, int, bool] | None:
    """(fd, offset, stride, swap) when the source stores this track as raw 2352-byte sectors (or
    Mode 2 2336) that can be copied as they are, keeping Form 2 payloads and audio."""
    if not isinstance(source, CdImage):
        return None
    entry = source.stored(track)
    if track.mode is TrackMode.AUDIO:
        if track.sector_size < cd.RAW_SECTOR_SIZE:
            return None
    elif entry.layout is None or entry.layout.kind is cd.SectorKind.COOKED:
        return None
    return source.fd(entry.path), entry.offset, track.sector_size, entry.big_endian_audio


def _track_output(source: SectorSource, track: Track, cooked: bool, lba: int) -> tuple[str, Iterator[bytes]]:
    """(cue track type, the track's sectors in batches) for one track."""
    mode2 = track.mode in (TrackMode.MODE2_FORM1, TrackMode.MODE2_MIXED)
    if track.mode is TrackMode.AUDIO or not cooked:
        raw = _raw_copyable(source, track)
        if raw is not None:
            fd, offset, stride, swap = raw
            kind = "AUDIO" if track.mode is TrackMode.AUDIO else ("MODE2/2352" if mode2 else "MODE1/2352")
            return kind, _copied_sectors(fd, offset, stride, track.sectors, lba, swap, kind == "AUDIO")
    if not track.is_data:
        raise UnsupportedImage(f"{source.path}: track {track.number} ({track.mode.value}) cannot be written to BIN/CUE from this image type")
    if cooked:
        return ("MODE2/2048" if mode2 else "MODE1/2048"), _cooked(source, track)
    form1 = track.mode is TrackMode.MODE2_FORM1
    return ("MODE2/2352" if form1 else "MODE1/2352"), _encoded_sectors(source, track, lba, form1)


def _encoded_sectors(source: SectorSource, track: Track, lba: int, mode2: bool) -> Iterator[bytes]:
    view = source.data_view(track)
    buffer = bytearray(COPY_SECTORS * USER_DATA_SIZE)
    encode = cd.mode2_form1_sector if mode2 else cd.mode1_sector
    for first in range(0, track.sectors, COPY_SECTORS):
        count = min(COPY_SECTORS, track.sectors - first)
        chunk = memoryview(buffer)[: count * USER_DATA_SIZE]
        view.readinto(first, chunk)
        yield b"".join(
            encode(lba + first + i, bytes(chunk[i * USER_DATA_SIZE : (i + 1) * USER_DATA_SIZE])) for i in range(count)
        )


def _copied_sectors(fd: int, offset: int, stride: int, sectors: int, lba: int, swap: bool, audio: bool) -> Iterator[bytes]:
    """Raw sectors from the source, trimmed to 2352 bytes (dropping subchannel) or, for 2336-byte
    Mode 2 sectors, completed with sync and header."""
    batch = max(1, (4 << 20) // stride)
    for first in range(0, sectors, batch):
        count = min(batch, sectors - first)
        raw = bytearray(count * stride)
        cd.pread_exact(fd, memoryview(raw), offset + first * stride, "source image")
        out = bytearray()
        for i in range(count):
            sector = raw[i * stride : (i + 1) * stride]
            if stride == 2336:
                m, s, f = cd.frames_to_msf(lba + first + i + cd.MSF_LBA_OFFSET)
                sector = cd.SYNC + bytes((cd.to_bcd(m), cd.to_bcd(s), cd.to_bcd(f), 2)) + sector
            sector = sector[: cd.RAW_SECTOR_SIZE]
            if audio and swap:
                sector[0::2], sector[1::2] = sector[1::2], sector[0::2]
            out += sector
        yield bytes(out)


def write_bin_cue(
    source: SectorSource, dst_cue_path: str, *, cooked: bool = False, progress: Progress | None = None,
) -> list[str]:
    """Write every track of ``source`` as one BIN plus a cue sheet; return the two paths.

    Data tracks become MODE1/2352 (or MODE2/2352) with sync, header, EDC and ECC — copied as
    they are when the source already stores raw sectors, encoded otherwise — or MODE1/2048 when
    ``cooked``. Audio tracks are copied as little-endian AUDIO. Gaps become PREGAP lines, and
    later sessions REM SESSION lines with the standard lead-out/lead-in gap in their addresses.
    """
    bin_path = os.path.splitext(dst_cue_path)[0] + ".bin"
    lines = [f'FILE "{os.path.basename(bin_path)}" BINARY']
    total = sum(t.sectors * (USER_DATA_SIZE if cooked and t.is_data else cd.RAW_SECTOR_SIZE) for t in source.tracks)
    done = 0
    lba = 0  # disc address of the next sector, as a reader of the new cue will compute it
    frames = 0  # sectors written to the bin so far
    session = 1
    with atomic_output(bin_path, durable=True) as fd:
        for track in source.tracks:
            gap = track.pregap if track is not source.tracks[0] else 0
            if track.session != session:
                lba += SESSION_GAPS[0] if session == 1 else SESSION_GAPS[1]
                gap = max(gap, SESSION_PREGAP)
                session = track.session
                lines.append(f"REM SESSION {session:02d}")
            lba += gap
            kind, pieces = _track_output(source, track, cooked, lba)
            lines.append(f"  TRACK {track.number:02d} {kind}")
            if gap:
                lines.append(f"    PREGAP {cd.format_msf(gap)}")
            lines.append(f"    INDEX 01 {cd.format_msf(frames)}")
            for piece in pieces:
                write_all(fd, piece)
                done += len(piece)
                if progress:
                    progress(done, total)
            lba += track.sectors
            frames += track.sectors
        with atomic_output(dst_cue_path, durable=True) as cue_fd:
            write_all(cue_fd, ("\r\n".join(lines) + "\r\n").encode())
    return [dst_cue_path, bin_path]


def _cooked(source: SectorSource, track: Track) -> Iterator[bytes]:
    view = source.data_view(track)
    for first in range(0, track.sectors, COPY_SECTORS):
        count = min(COPY_SECTORS, track.sectors - first)
        chunk = bytearray(count * USER_DATA_SIZE)
        view.readinto(first, chunk)
        yield bytes(chunk)
