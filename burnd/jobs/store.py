"""The persistent job queue: one SQLite file (WAL) in the state directory.

Every state change is one transaction, committed before the D-Bus reply or signal that
announces it, so a crash at any point leaves either the old or the new state. ``synchronous
= FULL`` makes a commit survive power loss too, not only a killed process. The store is used
from the event loop thread only (SQLite objects stay in their thread).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from burnd.errors import DBUS_ERROR_PREFIX

QUEUED, RUNNING = "queued", "running"
SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = "succeeded", "failed", "cancelled", "interrupted"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, INTERRUPTED})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    drive TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    options TEXT NOT NULL,
    image_path TEXT,
    uid INTEGER NOT NULL,
    gid INTEGER NOT NULL,
    groups TEXT NOT NULL,
    copy INTEGER NOT NULL,
    copies INTEGER NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    bytes INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT '{}',
    error_name TEXT NOT NULL DEFAULT '',
    error_message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, id);
CREATE TABLE IF NOT EXISTS virtual_burners (
    name TEXT PRIMARY KEY,
    media TEXT NOT NULL,
    size INTEGER,
    grp TEXT NOT NULL,
    autoload INTEGER NOT NULL,
    faults TEXT NOT NULL DEFAULT '[]'
);
"""


@dataclass(slots=True)
class JobRecord:
    """One row of ``jobs``; mutable because the daemon updates it as the job runs."""

    id: int
    drive: str
    kind: str
    state: str
    options: dict[str, Any]
    image_path: str | None
    uid: int
    gid: int
    groups: tuple[int, ...]
    copy: int = 1
    copies: int = 1
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    bytes: int = 0
    total: int = 0
    result: dict[str, Any] = field(default_factory=dict)
    error_name: str = ""
    error_message: str = ""

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL


@dataclass(frozen=True, slots=True)
class StoredBurner:
    name: str
    media: str
    size: int | None
    group: str
    autoload: bool
    faults: tuple[str, ...] = ()


class JobStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def _tx(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self._db:
            return self._db.execute(sql, tuple(args))

    def add(self, drive: str, kind: str, options: dict[str, Any], image_path: str | None, uid: int, gid: int,
            groups: Iterable[int], copy: int = 1, copies: int = 1, state: str = QUEUED) -> JobRecord:
        """Insert a job and commit; the returned record carries its id. A job that starts at once
        (a robot batch) is inserted as running, so a crash never leaves it queued for no worker."""
        created = time.time()
        started = created if state == RUNNING else None
        groups = tuple(groups)
        cursor = self._tx(
            "INSERT INTO jobs (drive, kind, state, options, image_path, uid, gid, groups, copy, copies, created,"
            " started) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (drive, kind, state, json.dumps(options), image_path, uid, gid, json.dumps(groups), copy, copies,
             created, started))
        assert cursor.lastrowid is not None
        return JobRecord(cursor.lastrowid, drive, kind, state, options, image_path, uid, gid, groups, copy, copies,
                         created, started)

    def save(self, job: JobRecord) -> None:
        """Write the record's mutable fields back (one transaction)."""
        self._tx("UPDATE jobs SET state=?, started=?, finished=?, bytes=?, total=?, result=?, error_name=?,"
                 " error_message=? WHERE id=?",
                 (job.state, job.started, job.finished, job.bytes, job.total, json.dumps(job.result),
                  job.error_name, job.error_message, job.id))

    def recover(self) -> tuple[list[JobRecord], list[JobRecord]]:
        """At start: (queued jobs in order, jobs that were running — now marked interrupted)."""
        running = self._select("state = ?", (RUNNING,))
        now = time.time()
        for job in running:
            job.state, job.finished = INTERRUPTED, now
            job.error_name = DBUS_ERROR_PREFIX + "Interrupted"
            job.error_message = (f"burnd stopped while this {job.kind} job was running, after {job.bytes} bytes; "
                                 f"the disc may be incomplete — check it, blank it if rewritable, and resubmit")
        with self._db:
            for job in running:
                self._db.execute("UPDATE jobs SET state=?, finished=?, error_name=?, error_message=? WHERE id=?",
                                 (job.state, job.finished, job.error_name, job.error_message, job.id))
        return self._select("state = ?", (QUEUED,)), running

    def recent(self, limit: int) -> list[JobRecord]:
        """The ``limit`` most recently created jobs that have ended, oldest first."""
        marks = ", ".join("?" * len(TERMINAL))
        return self._select(f"id IN (SELECT id FROM jobs WHERE state IN ({marks}) ORDER BY id DESC LIMIT ?)",
                            (*sorted(TERMINAL), limit))

    def _select(self, where: str, args: tuple[Any, ...]) -> list[JobRecord]:
        rows = self._db.execute(
            "SELECT id, drive, kind, state, options, image_path, uid, gid, groups, copy, copies, created, started,"
            f" finished, bytes, total, result, error_name, error_message FROM jobs WHERE {where} ORDER BY id",
            args).fetchall()
        return [JobRecord(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7], tuple(json.loads(r[8])),
                          *r[9:16], json.loads(r[16]), r[17], r[18]) for r in rows]

    def burners(self) -> list[StoredBurner]:
        rows = self._db.execute("SELECT name, media, size, grp, autoload, faults FROM virtual_burners ORDER BY name")
        return [StoredBurner(r[0], r[1], r[2], r[3], bool(r[4]), tuple(json.loads(r[5]))) for r in rows]

    def add_burner(self, burner: StoredBurner) -> None:
        self._tx("INSERT OR REPLACE INTO virtual_burners VALUES (?, ?, ?, ?, ?, ?)",
                 (burner.name, burner.media, burner.size, burner.group, int(burner.autoload),
                  json.dumps(burner.faults)))

    def remove_burner(self, name: str) -> None:
        self._tx("DELETE FROM virtual_burners WHERE name = ?", (name,))
