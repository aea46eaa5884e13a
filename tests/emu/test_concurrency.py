"""One writer thread and reader threads on the same burner, as the burn engine runs it."""

from __future__ import annotations

import threading

from burnd.emu import VirtualBurner
from tests.emu import host as h


def test_writer_and_readers_share_a_burner():
    vb = VirtualBurner("bd-r", busy_seconds=0.0)
    host = h.Host(vb)
    chunks, errors = 200, []
    done = threading.Event()

    def writer() -> None:
        try:
            for i in range(chunks):
                host.write(i * 32, 32, fill=i & 0xFF)
            host.ok(h.sync_cache())
        except AssertionError as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    def reader() -> None:
        while not done.is_set():
            track = host.track(1)
            recorded = track.last_recorded + 1 if track.last_recorded or not track.blank else 0
            if recorded >= 32:
                chunk = (recorded // 32 - 1) * 32
                data = host.read(chunk, 32)
                if data != bytes(((chunk // 32) & 0xFF,)) * (32 * 2048):
                    errors.append(AssertionError(f"torn read at {chunk}"))

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    vb.close()
    assert not errors
    assert vb.command_log.count(0x2A) == chunks
