"""A SQLite store copied whole with SQLite's online backup: a backup taken while the store is in use, and a restore
that replaces the store's content through SQLite itself.

A store is one file in WAL mode, with what its last writes left in `<file>-wal`. A plain copy of a backup over the
file leaves that log beside it, and SQLite applies it to the copy: the store is corrupted, or keeps the newer state
it was to be rolled back from. A restore through SQLite's backup writes the pages through the store's own log and
checkpoints it after."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from storage.config import StoreConfigError

EVENTS_TABLE = "stored_events"
# How long a restore waits for another connection to let go of the store.
IN_USE_WAIT = 30.0


def backup(path: str, target: str) -> int:
    """Copy the store at `path` into the new file `target`; returns the log's last position in the copy."""
    if Path(target).exists():
        raise StoreConfigError(f"{target} exists already: a backup is written to a new file")
    head(path)  # a tracker store, there to back up (read-only: a mistyped path makes no empty store)
    try:
        source = closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30))
        with source as store, closing(sqlite3.connect(target)) as copy:
            store.backup(copy)
        return head(target)
    except BaseException:
        Path(target).unlink(missing_ok=True)  # no half-made backup left to be taken for one
        raise


def restore(source: str, path: str) -> int:
    """Replace the content of the store at `path` with the backup `source`; returns the log's last position.

    Nothing may be writing to the store meanwhile (the caller holds its writer lock, with the web processes
    stopped). The backup is checked first: a file that is not a tracker store, or is damaged, changes nothing."""
    head(source)  # a tracker store, readable
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as backup_file:
        problems = [row[0] for row in backup_file.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise StoreConfigError(f"{source} is damaged: {'; '.join(problems[:3])}")
        with closing(sqlite3.connect(path, timeout=30)) as store:
            backup_file.backup(store, progress=_give_up_after(IN_USE_WAIT))
            store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return head(path)


def _give_up_after(seconds: float) -> Callable[[int, int, int], None]:
    """A backup's progress callback that ends it once the store has been busy (another connection reading or
    writing it) for `seconds`: SQLite's backup otherwise waits for it for ever."""
    deadline = time.monotonic() + seconds

    def progress(status: int, _remaining: int, _total: int) -> None:
        if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and time.monotonic() > deadline:
            raise StoreConfigError(f"the store stayed in use for {seconds:g} s: stop whatever has it open")

    return progress


def head(path: str) -> int:
    """The last log position of the SQLite store in the file `path` (0 for an empty log)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            (position,) = conn.execute(f"SELECT MAX(rowid) FROM {EVENTS_TABLE}").fetchone()  # noqa: S608
    except sqlite3.DatabaseError as error:
        raise StoreConfigError(f"{path} is not a tracker store: {error}") from None
    return int(position or 0)
