"""The SQLite writer lock: one per database file and process, shared by the event store and the read model."""

from __future__ import annotations

import threading
from pathlib import Path

_SQLITE_WRITERS: dict[str, threading.Lock] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


def sqlite_writer_lock(path: str) -> threading.Lock:
    """The lock every writer to this SQLite file takes in this process: the event store and the read model.

    SQLite lets one writer in at a time, and a writer that finds the file locked sleeps in its busy handler (up to
    100 ms between tries) however soon the lock is freed. Threads of one process queue here instead, and each is
    woken the moment the one before it is done. Writers in other processes still meet SQLite's own lock.
    """
    key = path if path == ":memory:" else str(Path(path).resolve())
    with _SQLITE_WRITERS_GUARD:
        return _SQLITE_WRITERS.setdefault(key, threading.Lock())
