"""Reading the independent tools' answers (sg3-utils) recorded by the guest scripts."""

from __future__ import annotations

import re
from typing import Any

_HEX_LINE = re.compile(r"^\s*[0-9a-f]+\s+((?:[0-9a-f]{2}\s{1,2})+)", re.M)


def sg_raw_bytes(tool: dict[str, Any]) -> bytes:
    """The data bytes of an ``sg_raw -r N`` hex dump (sg_raw prints it on stderr)."""
    assert tool["returncode"] == 0, tool["stderr"]
    return bytes.fromhex("".join(m.group(1) for m in _HEX_LINE.finditer(tool["stderr"])))


def be32(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 4], "big")


def fixed_sense(hex_sense: str) -> tuple[int, int, int]:
    """(key, ASC, ASCQ) of fixed-format sense, decoded here independently of burnd."""
    raw = bytes.fromhex(hex_sense)
    assert raw[0] & 0x7F in (0x70, 0x71), f"not fixed-format sense: {hex_sense}"
    return raw[2] & 0x0F, raw[12], raw[13]


def free_blocks_of_track_information(tool: dict[str, Any]) -> int:
    """Free Blocks (bytes 16-19) of a READ TRACK INFORMATION answer."""
    return be32(sg_raw_bytes(tool), 16)
