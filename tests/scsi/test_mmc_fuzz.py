"""Every parser on arbitrary bytes: a value or ParseError, never another exception.

Half of the inputs carry a length field that matches their size (or is off by a little), so
the fuzzing reaches the descriptor loops instead of stopping at the header check.
"""

from __future__ import annotations

from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burnd.scsi import features, mmc
from burnd.scsi.mmc import ParseError


@st.composite
def framed(draw: st.DrawFn, width: int) -> bytes:
    """Bytes whose leading ``width``-byte length field counts the rest, give or take a few."""
    body = draw(st.binary(max_size=120))
    skew = draw(st.integers(-3, 3))
    length = max(len(body) + skew, 0)
    return length.to_bytes(width, "big") + body


def responses(width: int) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=80), framed(width))


@st.composite
def mode_pages(draw: st.DrawFn, page: int) -> bytes:
    body = draw(st.binary(max_size=80))
    return bytes([page | draw(st.sampled_from([0, 0x80])), len(body)]) + body


PARSERS: list[tuple[str, Callable[[bytes], object], st.SearchStrategy[bytes]]] = [
    ("inquiry", mmc.parse_inquiry, st.binary(max_size=60)),
    ("unit serial", mmc.parse_unit_serial, st.binary(max_size=40)),
    ("gesn", mmc.parse_event_status, responses(2)),
    ("disc info", mmc.parse_disc_information, responses(2)),
    ("disc info cd", lambda d: mmc.parse_disc_information(d, cd=True), responses(2)),
    ("track info", mmc.parse_track_information, responses(2)),
    ("toc", mmc.parse_toc, responses(2)),
    ("toc msf", lambda d: mmc.parse_toc(d, msf=True), responses(2)),
    ("session info", mmc.parse_session_info, responses(2)),
    ("raw toc", mmc.parse_raw_toc, responses(2)),
    ("atip", mmc.parse_atip, responses(2)),
    ("read capacity", mmc.parse_read_capacity, st.binary(max_size=12)),
    ("format capacities", mmc.parse_format_capacities, st.binary(max_size=60)),
    ("mode page 05", lambda d: mmc.parse_mode_page(d, 0x05), responses(2)),
    ("mode page 2a", lambda d: mmc.parse_mode_page(d, 0x2A), responses(2)),
    ("write parameters", mmc.parse_write_parameters, mode_pages(0x05)),
    ("capabilities", mmc.parse_capabilities, mode_pages(0x2A)),
    ("write speeds", mmc.parse_write_speeds, responses(4)),
    ("performance", mmc.parse_performance, responses(4)),
    ("performance count", mmc.performance_descriptor_count, st.binary(max_size=12)),
    ("buffer capacity", mmc.parse_buffer_capacity, responses(2)),
    ("mechanism status", mmc.parse_mechanism_status, st.binary(max_size=16)),
    ("disc structure", mmc.parse_disc_structure, responses(2)),
    ("configuration", features.parse_configuration, responses(4)),
    ("configuration length", features.configuration_length, st.binary(max_size=8)),
]


@pytest.mark.parametrize(("name", "parser", "strategy"), PARSERS, ids=[p[0] for p in PARSERS])
def test_parser_total(name: str, parser: Callable[[bytes], object], strategy: st.SearchStrategy[bytes]) -> None:
    @settings(max_examples=200, deadline=None)
    @given(strategy)
    def run(data: bytes) -> None:
        try:
            parser(data)
        except ParseError:
            pass

    run()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 0x200), st.binary(max_size=32)), max_size=6), st.integers(0, 0xFFFF))
def test_configuration_round_trip(descs: list[tuple[int, bytes]], current: int) -> None:
    """Well-framed configurations parse back to the descriptors they were built from."""
    descs = [(code, payload[: len(payload) // 4 * 4] if code == 0 else payload) for code, payload in descs]
    body = b"".join(code.to_bytes(2, "big") + bytes([1, len(p)]) + p for code, p in descs)
    data = (len(body) + 4).to_bytes(4, "big") + bytes(2) + current.to_bytes(2, "big") + body
    config = features.parse_configuration(data)
    assert [(f.code, f.data) for f in config.features] == descs
    assert config.current_profile == current and not config.truncated
