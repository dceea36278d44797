"""Runs the projections: batched catch-up with exactly-once tracking, live following, rebuild and status."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import psycopg
import sqlalchemy.exc
from eventsourcing import persistence as es_persistence
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql
from sqlalchemy import Connection, select, update

from projections import audit_chain, deferred
from projections import tables as t
from projections.engine import make_engine
from projections.handlers import PROJECTIONS
from projections.postgres_batch import open_batch, pipelined
from projections.rows import Rows
from storage.config import StoreConfig
from storage.locks import sqlite_writer_lock
from tracker.application import TrackerApplication
from tracker.audit_chain import Link, chain

BATCH_SIZE = 1000
# During a rebuild on SQLite, let the write-ahead log grow to this many pages (4 KiB each) before it is copied back
# into the database: a checkpoint after every batch otherwise took more time than the batch itself.
REBUILD_CHECKPOINT_PAGES = 100_000
# A rebuild on SQLite takes batches this large. Each event's rows land on random pages of the UUID-keyed tables, and
# every page a batch changes is written to the log at its commit: bigger batches share more pages between events.
# (A page cache of 256 MB helped too while the rebuild kept its secondary indexes; without them it measured no
# faster, and cost 350 MB more. PostgreSQL measured no faster with bigger batches.)
REBUILD_SQLITE_BATCH_SIZE = 5000
# What a rebuild's batches ask of each store. A rebuild is derived data: on PostgreSQL a batch need not wait for its
# commit to reach the disk, since a crash loses the batch and its tracked position together and the next run redoes it.
REBUILD_SETTINGS = {
    "sqlite": (f"PRAGMA wal_autocheckpoint={REBUILD_CHECKPOINT_PAGES:d}",),
    "postgresql": ("SET LOCAL synchronous_commit = off",),
}
# How long a rebuild on PostgreSQL waits for the read model's tables before it lets readers go and tries again, and
# how many times it tries (see ReadModel._empty).
REBUILD_LOCK_WAIT = 0.5
REBUILD_LOCK_ATTEMPTS = 40
_TABLE_NAMES = ", ".join(table.name for table in t.READ_MODEL_TABLES)
# The cyclic garbage collector's young-generation threshold during a rebuild (see _fewer_young_collections).
REBUILD_GC_THRESHOLD = 50_000
MAX_OUTAGE_WAIT = 5.0
# How long the PostgreSQL follower lets more commits gather after a notification wakes it (see follow).
FOLLOW_SETTLE = 0.005
# What an unreachable or restarting database raises, through each of the layers that talk to it.
STORE_UNAVAILABLE = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    es_persistence.OperationalError,
    es_persistence.InterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)
# Everything with a row in the tracking table: the projections, then the audit chain over the raw stored events.
TRACKED = (*PROJECTIONS, audit_chain.NAME)
Progress = Callable[[int, int], None]
_POSITIONS = select(t.tracking.c.name, t.tracking.c.position)


class Batch(NamedTuple):
    """One batch: how many events it read, how many it applied, and the position every projection has reached."""

    read: int
    applied: int
    reached: int


class _Ahead(NamedTuple):
    """A SQLite batch worked out before its write lock, and the state it was worked out from."""

    positions: dict[str, int]
    counts_left: bool
    batch: Batch
    rows: Rows
    links: list[Link]


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    log_position: int

    @property
    def lag(self) -> int:
        return max(self.log_position - self.position, 0)


@contextmanager
def _fewer_young_collections(threshold: int = REBUILD_GC_THRESHOLD) -> Iterator[None]:
    """Let the cyclic garbage collector wait for `threshold` net allocations instead of Python's 700.

    A rebuild allocates and frees a few dictionaries and event objects per event, and almost none of them take part
    in a cycle: each batch's are freed by reference counting when it ends. With the default threshold the collector
    still ran over a thousand young and a dozen full collections per 50,000 events, about a tenth of the rebuild's
    CPU; with this one it ran almost none."""
    before = gc.get_threshold()
    gc.set_threshold(threshold, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


class ReadModel:
    """The SQL read model of one store: writes projections, answers 'how far along are we'."""

    def __init__(self, app: TrackerApplication, url: str, *, batch_size: int = BATCH_SIZE, pool_size: int = 5) -> None:
        self.app = app
        self.url = url
        self.config = StoreConfig.from_url(url)
        self.batch_size = batch_size
        # A rebuild's batches (larger on SQLite: see REBUILD_SQLITE_BATCH_SIZE).
        self.rebuild_batch_size = (
            max(batch_size, REBUILD_SQLITE_BATCH_SIZE) if self.config.kind == "sqlite" else batch_size
        )
        self.reader = make_engine(url, pool_size=pool_size)
        # For reads that need no transaction of their own. On PostgreSQL each statement then sees the latest commit,
        # as it does inside a READ COMMITTED transaction, without the BEGIN and ROLLBACK round trips around it. On
        # SQLite a transaction costs no round trip and keeps one snapshot across a request's statements.
        self.statement_reader = (
            self.reader.execution_options(isolation_level="AUTOCOMMIT")
            if self.config.kind == "postgresql"
            else self.reader
        )
        self.writer = make_engine(url, writer=True, pool_size=2)
        self._stop = threading.Event()
        # Per thread: the writer connection a following thread holds (see _follow_postgres).
        self._held = threading.local()
        self._rebuilding = False
        self._rebuilt = 0
        # On SQLite, the file's writer lock in this process, shared with the event store's saves (sqlite_writer_lock).
        self._batch_lock: threading.Lock = (
            sqlite_writer_lock(self.config.path)
            if self.config.kind == "sqlite" and self.config.path
            else threading.Lock()
        )
        # One batch at a time in this process; on SQLite it takes the writer lock above only to write.
        self._project_lock = threading.Lock()
        self._constants: dict[tuple[str, tuple[object, ...]], dict[str, object]] = {}
        # The position every projection had reached at the end of this process's latest batch, so a caller that
        # finds its write at or below it needs no query to know it is projected. (A rebuild run by another process
        # resets the tracking table, not this; until that rebuild ends, reads see its partial tables either way.)
        self.reached = 0

    def close(self) -> None:
        self._stop.set()
        self.reader.dispose()
        self.writer.dispose()

    # ---- positions -----------------------------------------------------------------------

    def positions(self, conn: Connection | None = None) -> dict[str, int]:
        if conn is None:
            with self.reader.connect() as own:
                return self.positions(own)
        return {row.name: row.position for row in conn.execute(_POSITIONS)}

    def position(self, conn: Connection | None = None) -> int:
        """How far every projection has got: the position all of them have processed (read on `conn` if given)."""
        return min(self.positions(conn).values(), default=0)

    def status(self) -> list[ProjectionStatus]:
        log_position = self.app.current_position()
        return [ProjectionStatus(name, pos, log_position) for name, pos in sorted(self.positions().items())]

    # ---- catching up ---------------------------------------------------------------------

    def catch_up(self, progress: Progress | None = None, *, limit: int | None = None) -> int:
        """Apply every event not yet projected, one transaction per batch; returns how many."""
        done = 0
        target = self.app.current_position() if progress is not None else 0
        while limit is None or done < limit:
            batch = self._apply_batch()
            done += batch.applied
            if progress is not None and batch.applied:
                progress(self.position(), max(target, self.app.current_position()))
            if batch.read < self._batch_limit():
                # A short read reached the end of the log as it was then: reading again would find nothing more.
                break
        return done

    def _apply_batch(self) -> Batch:
        """Apply the next batch of events, in one transaction.

        One batch at a time in this process: a thread that waited here usually finds its events applied by the batch
        before, and returns without a write transaction. On SQLite the batch works out its rows first and takes
        this process's writer lock (the event store's too, see sqlite_writer_lock) only to write them."""
        with self._project_lock:
            apply = self._apply_batch_postgres if self.config.kind == "postgresql" else self._apply_batch_sqlite
            batch = apply()
            self.reached = max(self.reached, batch.reached)
            if self._rebuilding:
                self._rebuilt += batch.applied
            return batch

    def _apply_batch_sqlite(self) -> Batch:
        """The batch on SQLite: rows worked out on a read snapshot, then checked and written under the write lock.

        SQLite has one writer at a time, and working out a batch's rows (decoding the events, running the handlers,
        hashing the chain) takes most of its time: done under the write lock, every write request waited for it.
        So the rows are worked out first, from one read transaction's snapshot, without the lock. Under the lock the
        batch reads the tracking rows again: every batch that applies events moves them, so if they are as the
        snapshot had them (and what a rebuild left is as it was), nothing the rows were worked out from has changed
        since, and they are written. Otherwise the batch is worked out again, under the lock, as before."""
        # Read the batch before taking the write lock: waiting for an event-store connection while
        # holding the database's write lock would deadlock with writers that hold those connections.
        start = self.position()
        notifications = self.app.recorder.select_notifications(start + 1, self._batch_limit())
        if not notifications and not self._stopped_rebuild_left_work():
            return Batch(0, 0, start)
        ahead = self._project_ahead(start, notifications) if notifications else None
        with self._batch_lock, self.writer.begin() as conn:
            self._prepare(conn)
            positions = self._lock_positions(conn)
            if notifications and min(positions.values()) < start:
                # Another process's rebuild reset the tracking rows after the events were read: they start after
                # where the tables now are. Apply nothing; the next batch reads from the new position.
                return Batch(0, 0, min(positions.values()))
            counts_left = self._leave_counts(conn, deferred.records(conn))
            # Equal positions mean nothing changed, or that another process's rebuild reset them and has since
            # projected exactly as far again: the same events then give the same rows and the same chain.
            if ahead is not None and ahead.positions == positions and ahead.counts_left == counts_left:
                batch, rows, links = ahead.batch, ahead.rows, ahead.links
            else:
                batch, rows, links = self._project(conn, positions, notifications, audit_chain.head, counts_left)
            if batch.applied:
                self._write(conn, rows, links, batch.reached)
            return batch

    def _project_ahead(self, start: int, notifications: Sequence[Notification]) -> _Ahead | None:
        """Work out a SQLite batch's rows from one read snapshot, without the write lock (see _apply_batch_sqlite).

        None when another process's rebuild reset the tracking rows after the events (read from `start`) were, so
        that they no longer follow on from the tables (the batch then applies nothing, under the lock), and when a
        rebuild that stopped part way left work: that is finished under the write lock first."""
        with self.reader.connect() as conn, conn.begin():
            positions = self.positions(conn)
            self._check_tracked(positions)
            if min(positions.values()) < start:
                return None
            if self._rebuilding:
                counts_left = True
            else:
                found = deferred.records(conn)
                if found and not deferred.running(conn, found):
                    return None
                counts_left = bool(found)
            batch, rows, links = self._project(conn, positions, notifications, audit_chain.head, counts_left)
            return _Ahead(positions, counts_left, batch, rows, links)

    def _apply_batch_postgres(self) -> Batch:
        """The batch on PostgreSQL: four round trips, and one more for each row a handler looks up.

        One to lock the tracking rows and read the events after them, the audit chain's head and what a rebuild left
        (pg_batch); one to load the innovations the events change; one for all the writes (sent in pipeline mode);
        and the commit. Finishing what a stopped rebuild left, rarely, takes its own."""
        assert isinstance(self.app.recorder, PostgresApplicationRecorder)
        with self._writer_connection() as conn, conn.begin():
            self._prepare(conn)
            opened = open_batch(conn, self.app.recorder, self._batch_limit())
            self._check_tracked(opened.positions)
            counts_left = self._leave_counts(conn, opened.deferred)
            batch, rows, links = self._project(
                conn, opened.positions, opened.notifications, lambda _: opened.head, counts_left
            )
            if batch.applied:
                with pipelined(conn):
                    self._write(conn, rows, links, batch.reached)
            return batch

    def _batch_limit(self) -> int:
        """How many events a batch reads: while this process rebuilds, its rebuild's size, in every thread."""
        return self.rebuild_batch_size if self._rebuilding else self.batch_size

    def _prepare(self, conn: Connection) -> None:
        if self._rebuilding:
            self._rebuild_settings(conn)

    def _rebuild_settings(self, conn: Connection) -> None:
        for setting in REBUILD_SETTINGS[self.config.kind]:
            conn.exec_driver_sql(setting)

    def _stopped_rebuild_left_work(self) -> bool:
        """Whether a rebuild that stopped part way left work for the next batch (see projections.deferred)."""
        if self._rebuilding:
            return False
        with self.reader.connect() as conn:
            found = deferred.records(conn)
            return bool(found) and not deferred.running(conn, found)

    def _leave_counts(self, conn: Connection, found: Sequence[tuple[str, datetime]]) -> bool:
        """Whether this batch leaves the running counts to a rebuild's end (see projections.deferred).

        A rebuild's own batches do, and so do other batches while a rebuild runs. A batch that finds what a stopped
        rebuild left finishes it first, in its own transaction, and counts as usual."""
        if self._rebuilding:
            return True
        if not found:
            return False
        if deferred.running(conn, found):
            return True
        deferred.finish(conn)
        return False

    def _project(
        self,
        conn: Connection,
        positions: dict[str, int],
        notifications: Sequence[Notification],
        chain_head: Callable[[Connection], Link],
        counts_left: bool,
    ) -> tuple[Batch, Rows, list[Link]]:
        """Run the handlers over the events no projection has yet, given the positions read under the lock.

        The tracked positions decide what is applied: a concurrent catch-up may have applied part or all of this
        batch meanwhile, and nothing is applied twice. Returns the batch, its rows and its audit-chain links,
        not yet written."""
        rows = Rows(conn, self._constants, counts_deferred=counts_left)
        floor = min(positions.values())
        to_event = self.app.mapper.to_domain_event
        pending = [(n, to_event(n)) for n in notifications if n.id > floor]
        if not pending:
            return Batch(len(notifications), 0, floor), rows, []
        rows.prefetch(t.innovations, {n.originator_id for n, _ in pending})
        for notification, event in pending:
            for name, handlers in PROJECTIONS.items():
                if notification.id > positions[name]:
                    handler = handlers.get(type(event))
                    if handler is not None:
                        handler(rows, event, notification.id)
        unchained = [n for n, _ in pending if n.id > positions[audit_chain.NAME]]
        links = list(chain(chain_head(conn).hash, unchained)) if unchained else []
        return Batch(len(notifications), len(pending), pending[-1][0].id), rows, links

    def _write(self, conn: Connection, rows: Rows, links: list[Link], last: int) -> None:
        """Write the batch's rows and links, and move every projection's tracked position to `last`."""
        rows.flush(conn)
        if self._rebuilding:
            deferred.leave_counts(conn)
        audit_chain.record(conn, links)
        conn.execute(
            update(t.tracking)
            .where(t.tracking.c.position < last)
            .values(position=last, updated_at=datetime.now(UTC).replace(tzinfo=None))
        )

    @contextmanager
    def _writer_connection(self) -> Iterator[Connection]:
        """The connection this thread holds while it follows the log, else one from the writer pool."""
        held: Connection | None = getattr(self._held, "conn", None)
        if held is not None:
            yield held
            return
        with self.writer.connect() as conn:
            yield conn

    def _lock_positions(self, conn: Connection) -> dict[str, int]:
        """Read the tracking rows under a lock, so concurrent catch-ups queue instead of double-applying."""
        query = _POSITIONS.with_for_update() if self.config.kind == "postgresql" else _POSITIONS
        # On SQLite the writer engine's BEGIN IMMEDIATE already holds the database's write lock.
        positions = {row.name: row.position for row in conn.execute(query)}
        self._check_tracked(positions)
        return positions

    @staticmethod
    def _check_tracked(positions: dict[str, int]) -> None:
        missing = set(TRACKED) - set(positions)
        if missing:
            raise RuntimeError(f"projection tracking rows missing for {sorted(missing)}: run 'tracker db upgrade'")

    def wait_for(self, position: int, timeout: float = 5.0, *, catch_up: bool = True) -> bool:
        """Read-your-writes: wait until every projection has processed `position` (True), or time out (False)."""
        deadline = time.monotonic() + timeout
        while True:
            if catch_up:
                # Catching up reports how far every projection has got, so no separate position query is needed.
                batch = self._apply_batch()
                if batch.reached >= position:
                    return True
                if batch.applied:
                    continue
            elif self.position() >= position:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    # ---- following and rebuilding ----------------------------------------------------------

    def follow(
        self,
        *,
        idle_wait: float = 1.0,
        settle: float = FOLLOW_SETTLE,
        on_batch: Progress | None = None,
        on_outage: Callable[[Exception, float], None] | None = None,
    ) -> None:
        """Follow the log until stop() is called: LISTEN/NOTIFY on PostgreSQL, polling on SQLite.

        On PostgreSQL a notification is followed by `settle` seconds for more commits to join the batch: a batch's
        four round trips and its commit are paid once however many events it holds, and under load the worker
        otherwise spends its CPU (shared with the web workers) on batches of one or two events.

        When the database goes away (a restart, a failover) the follower waits, with a growing pause up to
        MAX_OUTAGE_WAIT seconds, and carries on from its tracked position once the database answers again."""
        self._stop.clear()
        pause = 0.5
        while not self._stop.is_set():
            try:
                if self.config.kind == "postgresql":
                    self._follow_postgres(idle_wait, settle, on_batch)
                else:
                    while not self._stop.is_set():
                        if self.catch_up(on_batch) == 0:
                            self._stop.wait(0.05)
                return
            except STORE_UNAVAILABLE as error:
                if on_outage is not None:
                    on_outage(error, pause)
                self._stop.wait(pause)
                pause = min(pause * 2, MAX_OUTAGE_WAIT)

    def _follow_postgres(self, idle_wait: float, settle: float, on_batch: Progress | None) -> None:
        recorder = self.app.recorder
        channel = getattr(recorder, "channel_name", "tracker_events")
        # The follower holds one writer connection: taking one from the pool for each batch pinged the server first.
        with self.config.connect(autocommit=True) as listener, self.writer.connect() as held:
            self._held.conn = held
            try:
                # Listen before the first catch-up, so no commit falls between the two unnoticed.
                listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                while not self._stop.is_set():
                    # The notifications already here are for commits the catch-up below reads: take them now, or
                    # each would wake a read that finds nothing new. A commit after this point notifies after it.
                    for _ in listener.notifies(timeout=0):
                        pass
                    self.catch_up(on_batch)
                    woken = False
                    for _ in listener.notifies(timeout=idle_wait, stop_after=1):
                        woken = True
                    if woken and settle > 0:
                        self._stop.wait(settle)
            finally:
                self._held.conn = None

    def stop(self) -> None:
        self._stop.set()

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
        """Build the indexes and count again (projections.deferred), in one transaction."""
        with self.writer.begin() as conn:
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

    def analyze(self) -> None:
        """Refresh the planner's statistics: after a bulk load, SQLite otherwise picks poor indexes for as-of counts.

        On PostgreSQL the tables are vacuumed too: until a vacuum marks the freshly written pages all-visible, a
        count answered from an index (a list page's `total`) still visits every matching row in the table."""
        names = [table.name for table in t.READ_MODEL_TABLES]
        with self.writer.connect() as conn:
            if self.config.kind == "sqlite":
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
            else:
                # VACUUM runs outside a transaction.
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    f"VACUUM (ANALYZE) {', '.join(names)}"
                )
