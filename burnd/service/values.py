"""Python values to D-Bus Variants for the a{sv} / aa{sv} properties (Result, Tracks)."""

from __future__ import annotations

from typing import Any

from dbus_fast import Variant


def signature_of(value: Any) -> str:
    if isinstance(value, bool):
        return "b"
    if isinstance(value, int):
        return "t" if value >= 0 else "x"
    if isinstance(value, float):
        return "d"
    if isinstance(value, str):
        return "s"
    if isinstance(value, (list, tuple)):
        inner = signature_of(value[0]) if value else "t"
        return "a" + inner
    if isinstance(value, dict):
        return "a{sv}"
    raise TypeError(f"no D-Bus signature for {type(value).__name__}")


def unwrap(value: Any) -> Any:
    """Plain Python for a Variant-bearing structure built by :func:`variant_dict`."""
    if isinstance(value, dict):
        return {k: unwrap(v.value if isinstance(v, Variant) else v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def variant_dict(values: dict[str, Any]) -> dict[str, Variant]:
    return {key: Variant(signature_of(v), variant_dict(v) if isinstance(v, dict) else _listy(v))
            for key, v in values.items() if v is not None}


def _listy(value: Any) -> Any:
    if not isinstance(value, (list, tuple)):
        return value
    return [variant_dict(v) if isinstance(v, dict) else list(v) if isinstance(v, tuple) else v for v in value]
