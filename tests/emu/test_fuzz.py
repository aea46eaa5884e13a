"""Arbitrary CDBs never break the emulator: every command ends GOOD or CHECK CONDITION with
well-formed sense, and the medium's state invariants hold afterwards."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from burnd.emu import MEDIA_KINDS, VirtualBurner
from burnd.emu.commands import COMMANDS
from burnd.emu.media import Disc
from burnd.scsi.transport import CHECK_CONDITION, GOOD, CommandResult, Direction
from tests.emu import host as h

WRITABLE = sorted(k for k, v in MEDIA_KINDS.items() if v.recording.value != "rom")
OPCODES = sorted(COMMANDS)
GROUP_LENGTH = {0: 6, 1: 10, 2: 10, 5: 12}

directions = st.sampled_from(list(Direction))
payloads = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=70_000),
    st.binary(max_size=4096),
    st.builds(lambda n: bytes(n * 2048), st.integers(min_value=1, max_value=16)),
)


@st.composite
def structured_cdb(draw: st.DrawFn) -> bytes:
    """A known opcode with the right length and random fields, small LBAs more likely."""
    opcode = draw(st.sampled_from(OPCODES))
    body = bytearray(
        draw(
            st.binary(
                min_size=GROUP_LENGTH[opcode >> 5] - 1, max_size=GROUP_LENGTH[opcode >> 5] - 1
            )
        )
    )
    if len(body) >= 9 and draw(st.booleans()):
        body[1:5] = draw(st.integers(min_value=0, max_value=4096)).to_bytes(4, "big")
        body[6:8] = draw(st.integers(min_value=0, max_value=64)).to_bytes(2, "big")
    return bytes((opcode,)) + bytes(body)


commands = st.lists(
    st.tuples(st.one_of(st.binary(max_size=17), structured_cdb()), directions, payloads),
    min_size=1,
    max_size=25,
)


def check_result(result: CommandResult) -> None:
    assert isinstance(result, CommandResult)
    assert result.status in (GOOD, CHECK_CONDITION)
    if result.status == CHECK_CONDITION:
        assert h.well_formed_sense(result.sense)
        assert result.sense[2] & 0x0F in range(0x0F)


def check_invariants(disc: Disc | None) -> None:
    if disc is None:
        return
    assert 0 <= disc.formatted <= disc.capacity
    assert disc.user_capacity <= disc.capacity
    previous_end = 0
    for number, track in enumerate(disc.tracks, start=1):
        assert track.number == number
        assert track.start >= previous_end
        assert track.written >= 0
        if track.reserved is not None:
            assert track.written <= track.reserved
        assert track.recorded_end <= disc.capacity
        previous_end = track.end
    invisible = disc.invisible_track()
    if invisible is not None:
        assert disc.free_blocks(invisible) >= 0
        assert invisible.nwa <= disc.user_capacity or disc.free_blocks(invisible) == 0
    for index, session in enumerate(disc.sessions, start=1):
        assert session.number == index and session.tracks
        assert all(s.closed for s in disc.sessions[:-1])


def nwa_write(vb: VirtualBurner) -> None:
    """A well-formed WRITE at the drive's own NWA, to push the state machine forward."""
    info = vb.execute(h.track_info(0xFF), Direction.FROM_DEVICE, 48)
    if not info.ok:
        info = vb.execute(h.track_info(1), Direction.FROM_DEVICE, 48)
    if info.ok and info.data[7] & 1:
        nwa = int.from_bytes(info.data[12:16], "big")
        check_result(vb.execute(h.write10(nwa, 16), Direction.TO_DEVICE, bytes(16 * 2048)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(media=st.sampled_from(WRITABLE), script=commands, pushes=st.integers(0, 3))
def test_arbitrary_cdbs_always_answer(media, script, pushes):
    vb = VirtualBurner(media, capacity=8192, busy_seconds=0.0)
    try:
        for _ in range(pushes):
            nwa_write(vb)
        for cdb, direction, data in script:
            check_result(vb.execute(cdb, direction, data))
            check_invariants(vb.medium)
            nwa_write(vb)
            check_invariants(vb.medium)
    finally:
        vb.close()


@settings(max_examples=100, deadline=None)
@given(script=commands)
def test_arbitrary_cdbs_without_medium(script):
    vb = VirtualBurner(None, busy_seconds=0.0)
    try:
        for cdb, direction, data in script:
            check_result(vb.execute(cdb, direction, data))
    finally:
        vb.close()
