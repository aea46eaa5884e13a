"""The fallback for images a translated view cannot serve: a converted ISO in a bounded cache.

Used when FUSE is not available on the machine, or for a format that has no random access
(ECM is one sequential stream). Every copy is named by the image's identity (device, inode,
size, mtime) and the chosen track, so re-attaching the same image reuses it; the least recently
used copies that no attachment holds are evicted to stay under the limit. An image whose
converted size alone exceeds the limit is refused with a message saying so.

All calls block (conversion reads the whole image): run them in a worker thread.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection
from dataclasses import dataclass

from burnd.errors import BurndError
from burnd.image.convert import choose_track, convert_to_iso
from burnd.image.open import open_image
from burnd.image.source import USER_DATA_SIZE

SUFFIX = ".iso"


class CacheFull(BurndError):
    """The converted copy would not fit in the cache even after evicting every unused copy."""

    dbus_name = "CacheFull"


@dataclass(frozen=True, slots=True)
class CachedCopy:
    path: str
    size: int
    reused: bool


def cache_key(image: str, session: int | None, track: int | None) -> str:
    st = os.stat(image)
    ident = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{session}:{track}"
    return hashlib.sha256(ident.encode()).hexdigest()[:32]


class ConvertedCache:
    """Converted copies under ``directory``, at most ``limit`` bytes in total."""

    def __init__(self, directory: str, limit: int) -> None:
        self.directory = directory
        self.limit = limit

    def _entries(self) -> list[os.DirEntry]:
        try:
            with os.scandir(self.directory) as it:
                return [e for e in it if e.name.endswith(SUFFIX) and e.is_file()]
        except FileNotFoundError:
            return []

    def get(self, image: str, *, session: int | None = None, track: int | None = None,
            keep: Collection[str] = ()) -> CachedCopy:
        """The converted ISO of ``image`` (made now if missing). ``keep`` lists paths of copies
        in use, which eviction must not touch."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        path = os.path.join(self.directory, cache_key(image, session, track) + SUFFIX)
        if os.path.exists(path):
            os.utime(path)
            return CachedCopy(path, os.path.getsize(path), True)
        with open_image(image) as source:
            size = choose_track(source, session, track).sectors * USER_DATA_SIZE
        self._make_room(size, keep, image)
        convert_to_iso(image, path, session=session, track=track)
        return CachedCopy(path, size, False)

    def _make_room(self, size: int, keep: Collection[str], image: str) -> None:
        if size > self.limit:
            raise CacheFull(
                f"{image}: its converted copy needs {size >> 20} MiB but the attach cache is limited to "
                f"{self.limit >> 20} MiB; raise the cache limit or install fuse3 so burnd can translate it instead"
            )
        entries = sorted(self._entries(), key=lambda e: e.stat().st_mtime_ns)  # touched on every reuse
        free = self.limit - sum(e.stat().st_size for e in entries)
        for entry in entries:
            if free >= size:
                return
            if entry.path in keep:
                continue
            free += entry.stat().st_size
            os.unlink(entry.path)
        if free < size:
            raise CacheFull(
                f"{image}: the attach cache ({self.limit >> 20} MiB) is filled by copies still attached; "
                "detach some images or raise the cache limit"
            )
