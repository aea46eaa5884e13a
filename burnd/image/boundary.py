"""The one place where unexpected parser exceptions become ``BadImage``.

Hostile images can trip any decoder (struct.error on a short field, IndexError, a
UnicodeError, RecursionError or MemoryError from an absurd count). Callers of the public API
must only ever see burnd errors, so every reader's public entry points run inside ``guard``.
OSError is deliberately not in the list: a permission or I/O error is not a corrupt image.
"""

from __future__ import annotations

import struct
from contextlib import contextmanager
from typing import Iterator

from burnd.errors import BadImage, BurndError

DECODE_ERRORS = (
    struct.error, IndexError, KeyError, ValueError, TypeError, UnicodeError, OverflowError,
    RecursionError, MemoryError,
)


@contextmanager
def guard(path: str, action: str) -> Iterator[None]:
    """Re-raise decoder failures while doing ``action`` on ``path`` as ``BadImage``."""
    try:
        yield
    except BurndError:
        raise
    except DECODE_ERRORS as exc:
        raise BadImage(f"{path}: cannot {action}: the image is corrupt ({type(exc).__name__}: {exc})") from exc
