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
# What a file must hold to be taken for a tracker store: the event table with the library's columns, and the
# read model's migrations record. (Other programs built on the same library have an events table too.)
EVENT_COLUMNS = {"originator_id", "originator_version", "topic", "state"}
TRACKER_TABLES = {EVENTS_TABLE, "alembic_version", "rm_tracking", "rm_innovations", "people"}
# How long a restore waits for another connection to let go of the store.
IN_USE_WAIT = 30.0


def backup(path: str, target: str) -> int:
    """Copy the store at `path` into the new file `target`; returns the log's last position in the copy."""
    if Path(target).exists():
        raise StoreConfigError(f"{target} exists already: a backup is written to a new file")
    if not Path(target).resolve().parent.is_dir():
        raise StoreConfigError(f"the folder of {target} does not exist")
    head(path)  # a tracker store, there to back up (read-only: a mistyped path makes no empty store)
    try:
        source = closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30))
        with source as store, closing(sqlite3.connect(target)) as copy:
            store.backup(copy)
            # Read on the copy's own connection: its last one to close takes its write-ahead files with it.
            (position,) = copy.execute(f"SELECT MAX(rowid) FROM {EVENTS_TABLE}").fetchone()  # noqa: S608
        return int(position or 0)
    except BaseException:
        Path(target).unlink(missing_ok=True)  # no half-made backup left to be taken for one
        raise


def restore(source: str, path: str) -> tuple[int, str | None]:
    """Replace the content of the store at `path` with the backup `source`; returns the log's last position, and
    where the store's content before was kept (None where there was no store).

    Nothing may be writing to the store meanwhile (the caller holds its writer lock, with the web processes
    stopped). The backup is checked first: a file that is not a tracker store, or is damaged, changes nothing. The
    store as it was is first copied beside it, so that a restore of the wrong backup loses nothing."""
    check_tracker_store(source)
    kept = None
    if Path(path).exists() and Path(path).stat().st_size:
        kept = f"{path}.before-restore-{time.strftime('%Y%m%dT%H%M%S')}"
        backup(path, kept)
    with closing(_read_only(source)) as backup_file:
        problems = [row[0] for row in backup_file.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise StoreConfigError(f"{source} is damaged: {'; '.join(problems[:3])}")
        with closing(sqlite3.connect(path, timeout=30)) as store:
            backup_file.backup(store, progress=_give_up_after(IN_USE_WAIT))
            store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return head(path), kept


def check_tracker_store(path: str) -> None:
    """Refuse a file that is not a tracker store (not SQLite, or SQLite without the tracker's tables)."""
    try:
        with closing(_read_only(path)) as conn:
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({EVENTS_TABLE})")}
    except sqlite3.DatabaseError as error:
        raise StoreConfigError(f"{path} is not a tracker store: {error}") from None
    missing = sorted(TRACKER_TABLES - tables) + sorted(EVENT_COLUMNS - columns)
    if missing:
        raise StoreConfigError(f"{path} is not a tracker store: it lacks {', '.join(missing)}")


def _give_up_after(seconds: float) -> Callable[[int, int, int], None]:
    """A backup's progress callback that ends it once the store has been busy (another connection reading or
    writing it) for `seconds`: SQLite's backup otherwise waits for it for ever."""
    deadline = time.monotonic() + seconds

    def progress(status: int, _remaining: int, _total: int) -> None:
        if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and time.monotonic() > deadline:
            raise StoreConfigError(f"the store stayed in use for {seconds:g} s: stop whatever has it open")

    return progress


def _read_only(path: str) -> sqlite3.Connection:
    """A backup file, read as one nothing writes to: no lock, and no write-ahead files made beside it."""
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)


def head(path: str) -> int:
    """The last log position of the SQLite store in the file `path` (0 for an empty log)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            (position,) = conn.execute(f"SELECT MAX(rowid) FROM {EVENTS_TABLE}").fetchone()  # noqa: S608
    except sqlite3.DatabaseError as error:
        raise StoreConfigError(f"{path} is not a tracker store: {error}") from None
    return int(position or 0)
