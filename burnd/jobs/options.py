"""Checking a method's a{sv} options: known keys, right types, sane values — before queueing.

A typo in an option name must fail the call (the job would otherwise run with a default the
user did not want, on a write-once disc). Values are plain Python after this.
"""

from __future__ import annotations

import re
from typing import Any

from burnd.jobs.errors import InvalidOption

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")

WRITE = {"verify": bool, "copies": int, "speed": int, "simulate": bool, "multisession": bool,
         "finalize": bool, "blank_first": bool, "eject": bool, "expected_sha256": str}
ROBOT_WRITE = {"copies": int, "verify": bool, "speed": int, "simulate": bool, "finalize": bool,
               "expected_sha256": str, "pause_on_empty": bool}
VERIFY = {"start_lba": int, "size": int}
BLANK = {"full": bool}
FORMAT = {"spare_areas": bool, "restricted_overwrite": bool, "force": bool}
RIP = {"size": int}
EJECT: dict[str, type] = {}
LOAD = {"media": str}
VIRTUAL = {"size": int, "name": str, "group": str, "autoload": bool, "faults": list}
NONE: dict[str, type] = {}

MAX_COPIES = 1000


def check(options: dict[str, Any], spec: dict[str, type], method: str) -> dict[str, Any]:
    """``options`` (Variants or plain values) as a plain dict; raises InvalidOption."""
    out: dict[str, Any] = {}
    for key, raw in options.items():
        value = getattr(raw, "value", raw)
        kind = spec.get(key)
        if kind is None:
            known = ", ".join(sorted(spec)) or "none"
            raise InvalidOption(f"{method} has no option {key!r} (known: {known}); check the spelling")
        if kind is list and isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[key] = list(value)
            continue
        if kind is list or not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InvalidOption(f"{method} option {key} must be a {_type_name(kind)}, got "
                                f"{type(value).__name__} {value!r}")
        if kind is int and value < 0:
            raise InvalidOption(f"{method} option {key} must not be negative, got {value}")
        out[key] = value
    copies = out.get("copies")
    if copies is not None and not 1 <= copies <= MAX_COPIES:
        raise InvalidOption(f"copies must be between 1 and {MAX_COPIES}, got {copies}")
    sha = out.get("expected_sha256")
    if sha is not None and not _SHA256.match(sha):
        raise InvalidOption(f"expected_sha256 must be 64 hexadecimal digits, got {sha!r}")
    return out


def _type_name(kind: type) -> str:
    return {bool: "boolean (b)", int: "unsigned integer (u or t)", str: "string (s)",
            list: "array of strings (as)"}[kind]
