"""Rebuilding: empty the read model and project the whole log again, its indexes and running counts left to the end.

Rebuilding is part of ReadModel (projections.read_model), which holds the state it uses."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg
import sqlalchemy.exc
from sqlalchemy import Connection, update

from projections import deferred
from projections import tables as t

if TYPE_CHECKING:
    from projections.read_model import Progress

# During a rebuild on SQLite, let the write-ahead log grow to this many pages (4 KiB each) before it is copied back
# into the database: a checkpoint after every batch otherwise takes more time than the batch itself.
REBUILD_CHECKPOINT_PAGES = 100_000
# A rebuild on SQLite takes batches this large. Each event's rows land on random pages of the UUID-keyed tables, and
# every page a batch changes is written to the log at its commit: bigger batches share more pages between events.
# (A page cache of 256 MB would cost 350 MB more for nothing: it speeds up only batches that keep the secondary
# indexes, and a rebuild drops them. On PostgreSQL bigger batches are no faster.)
REBUILD_SQLITE_BATCH_SIZE = 5000
# What a rebuild's batches ask of each store. A rebuild is derived data: on PostgreSQL a batch need not wait for its
# commit to reach the disk, since a crash loses the batch and its tracked position together and the next run redoes it.
REBUILD_SETTINGS = {
    "sqlite": (f"PRAGMA wal_autocheckpoint={REBUILD_CHECKPOINT_PAGES:d}",),
    "postgresql": ("SET LOCAL synchronous_commit = off",),
}
# How long a rebuild on PostgreSQL waits for the read model's tables before it lets readers go and tries again, and
# how many times it tries (see Rebuilding._empty).
REBUILD_LOCK_WAIT = 0.5
REBUILD_LOCK_ATTEMPTS = 40
_TABLE_NAMES = ", ".join(table.name for table in t.READ_MODEL_TABLES)
# The cyclic garbage collector's young-generation threshold during a rebuild (see _fewer_young_collections).
REBUILD_GC_THRESHOLD = 50_000


@contextmanager
def _fewer_young_collections(threshold: int = REBUILD_GC_THRESHOLD) -> Iterator[None]:
    """Let the cyclic garbage collector wait for `threshold` net allocations instead of Python's 700.

    A rebuild allocates and frees a few dictionaries and event objects per event, and almost none of them take part
    in a cycle: each batch's are freed by reference counting when it ends. With the default threshold the collector
    still runs over a thousand young and a dozen full collections per 50,000 events, about a tenth of the rebuild's
    CPU; with this one it runs almost none."""
    before = gc.get_threshold()
    gc.set_threshold(threshold, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


class Rebuilding:
    """ReadModel's rebuild from position 0."""

    def rebuild(self, progress: Progress | None = None) -> int:
        """Empty every read-model table and project the whole log again from position 0; returns how many events.

        The secondary indexes are dropped and the running counts left alone until the end, where both are built in
        one go (projections.deferred). The total includes every batch this process applies meanwhile, its projection
        thread's too, but not the batches of other processes (another web process on SQLite, the PostgreSQL
        projection worker)."""
        with self._project_lock, self._batch_lock:
            self._empty()
            self.reached = 0
            self._rebuilt = 0
            # Set and cleared under both locks: a batch sees one value from start to end.
            self._rebuilding = True
        completed = False
        try:
            with _fewer_young_collections():
                self.catch_up(progress)
            completed = True
        finally:
            try:
                with self._project_lock, self._batch_lock:
                    self._rebuilding = False
                    try:
                        self._finish_rebuild()
                    except Exception:
                        if completed:
                            raise
                        # The error that stopped the rebuild goes on up; what it left is finished by the next batch
                        # once the rebuild's records are older than deferred.REBUILD_LEASE.
            finally:
                self._checkpoint()
        self.analyze()
        return self._rebuilt

    def _rebuild_settings(self, conn: Connection) -> None:
        for setting in REBUILD_SETTINGS[self.config.kind]:
            conn.exec_driver_sql(setting)

    def _empty(self) -> None:
        """Empty the read model's tables and drop their secondary indexes, in one transaction.

        On PostgreSQL, dropping an index locks its table against readers. The tables are locked all at once, waiting
        at most REBUILD_LOCK_WAIT each time, less than the server's deadlock check (one second by default): a reader
        holding one table in a transaction and asking for another would otherwise deadlock with a rebuild that
        locks them one by one, and either could be the one aborted. Readers wait for the lock, then for the few
        milliseconds the transaction takes; a rebuild that cannot get the tables tries again."""
        attempts = REBUILD_LOCK_ATTEMPTS if self.config.kind == "postgresql" else 1
        for attempt in range(1, attempts + 1):
            try:
                with self.writer.begin() as conn:
                    self._lock_positions(conn)
                    if self.config.kind == "postgresql":
                        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{REBUILD_LOCK_WAIT * 1000:.0f}ms'")
                        conn.exec_driver_sql(f"LOCK TABLE {_TABLE_NAMES} IN ACCESS EXCLUSIVE MODE")
                    deferred.drop_indexes(conn, t.READ_MODEL_TABLES)
                    if self.config.kind == "postgresql":
                        conn.exec_driver_sql(f"TRUNCATE {_TABLE_NAMES}")
                    else:
                        for table in reversed(t.READ_MODEL_TABLES):
                            conn.execute(table.delete())
                    deferred.leave_counts(conn)
                    conn.execute(update(t.tracking).values(position=0))
                return
            except sqlalchemy.exc.OperationalError as error:
                if not isinstance(error.orig, psycopg.errors.LockNotAvailable) or attempt == attempts:
                    raise
                time.sleep(min(0.05 * attempt, 0.5))

    def _finish_rebuild(self) -> None:
        """Build the indexes and count again (projections.deferred), in one transaction: only at the schema's
        revision this code is for (check_schema), else what the rebuild left waits for a process that is."""
        with self.writer.begin() as conn:
            self._lock_positions(conn)
            self._rebuild_settings(conn)
            deferred.finish(conn)

    def _checkpoint(self) -> None:
        """On SQLite, copy the rebuild's write-ahead log back into the database in one go.

        Outside the batch lock: the checkpoint waits for readers on older snapshots, which may be request threads
        waiting for that lock."""
        if self.config.kind != "sqlite":
            return
        # New connections get SQLite's default checkpointing back.
        self.writer.dispose()
        with self.writer.connect() as conn:
            # Outside a transaction (a checkpoint cannot run inside one): the driver is in autocommit.
            conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
