"""The one place where unexpected parser exceptions become ``BadImage``.

Hostile images can trip any decoder (struct.error on a short field, IndexError, a
UnicodeError, pycdlib's own exceptions, RecursionError, MemoryError from an absurd count).
Callers of the public API must only ever see burnd errors, so public entry points run inside
``guard``.
"""

from __future__ import annotations

import struct
from contextlib import contextmanager
from typing import Iterator

from burnd.errors import BadImage, BurndError

try:
    from pycdlib.pycdlibexception import PyCdlibException
except ImportError:  # pragma: no cover - pycdlib is a declared dependency
    PyCdlibException = ValueError  # type: ignore[assignment,misc]

DECODE_ERRORS = (struct.error, IndexError, KeyError, ValueError, UnicodeError, OverflowError, RecursionError, MemoryError, PyCdlibException)


@contextmanager
def guard(path: str, action: str) -> Iterator[None]:
    """Re-raise decoder failures while doing ``action`` on ``path`` as ``BadImage``."""
    try:
        yield
    except BurndError:
        raise
    except DECODE_ERRORS as exc:
        raise BadImage(f"{path}: cannot {action}: the image is corrupt ({type(exc).__name__}: {exc})") from exc
