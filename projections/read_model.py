"""The read model: batched catch-up with exactly-once tracking, positions and status.

ReadModel is put together from one module per idea: how a batch is stored on SQLite (projections.sqlite_batch) and
on PostgreSQL (projections.postgres_batch), following the log (projections.following) and rebuilding
(projections.rebuilding). This module holds what they share: the state, the batch dispatch, running the handlers
and writing their rows."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Notification
from sqlalchemy import Connection, bindparam, select, update

from projections import audit_chain, deferred
from projections import tables as t
from projections.batch import Batch
from projections.clock import utc_now
from projections.engine import make_engine
from projections.following import Following
from projections.handlers import PROJECTIONS
from projections.migrate import SchemaMismatch, check_schema, revisions_of, schema_problem
from projections.postgres_batch import PostgresBatches
from projections.rebuilding import REBUILD_SQLITE_BATCH_SIZE, Rebuilding
from projections.rows import Rows
from projections.sqlite_batch import SQLiteBatches
from storage.config import StoreConfig
from storage.locks import sqlite_writer_lock
from tracker.application import TrackerApplication
from tracker.audit_chain import Link, chain

__all__ = ["BATCH_SIZE", "TRACKED", "Batch", "Progress", "ProjectionStatus", "ReadModel"]

BATCH_SIZE = 1000
# How long a batch refused for the schema's revision is refused again without asking the database (see _apply_batch).
SCHEMA_RECHECK_SECONDS = 5.0
# Everything with a row in the tracking table: the projections, then the audit chain over the raw stored events.
TRACKED = (*PROJECTIONS, audit_chain.NAME)
Progress = Callable[[int, int], None]
_POSITIONS = select(t.tracking.c.name, t.tracking.c.position)
# Every projection behind `last` moves to it: run by every batch under the writer lock, so built once (SQLAlchemy
# then finds its compiled form in its cache without building the statement again).
_ADVANCE = (
    update(t.tracking)
    .where(t.tracking.c.position < bindparam("last"))
    .values(position=bindparam("reached"), updated_at=bindparam("at"))
)


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    log_position: int

    @property
    def lag(self) -> int:
        return max(self.log_position - self.position, 0)


class ReadModel(SQLiteBatches, PostgresBatches, Following, Rebuilding):
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
        # When a batch was last refused for the schema's revision, and why (see _apply_batch).
        self._refused: tuple[float, SchemaMismatch] | None = None

    @property
    def write_lock(self) -> AbstractContextManager[Any]:
        """What a writer to the read model's database takes first in this process (the SQLite file's writer lock)."""
        return self._batch_lock if self.config.kind == "sqlite" else nullcontext()

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

    def schema_problem(self) -> str | None:
        """What keeps this process from writing the read model's schema, if anything (see check_schema), read
        afresh: when nothing does any more, the next batch tries at once."""
        with self.statement_reader.connect() as conn:
            problem = schema_problem(revisions_of(conn))
        if problem is None:
            self._refused = None
        return problem

    def status(self) -> list[ProjectionStatus]:
        log_position = self.app.current_position()
        return [ProjectionStatus(name, pos, log_position) for name, pos in sorted(self.positions().items())]

    def oldest_unprojected_age(self) -> float | None:
        """Seconds since the oldest event not yet applied by every projection was stored; None when none waits."""
        waiting = self.app.recorder.select_notifications(self.position() + 1, 1)
        if not waiting:
            return None
        stored_at = self.app.mapper.to_domain_event(waiting[0]).timestamp
        return (datetime.now(UTC) - stored_at).total_seconds()

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
        this process's writer lock (the event store's too, see sqlite_writer_lock) only to write them.

        A batch refused for the schema's revision (SchemaMismatch) is refused again at once, without reading the log
        or taking a lock, until SCHEMA_RECHECK_SECONDS have passed or schema_problem() finds the schema right."""
        refused = self._refused
        if refused is not None and time.monotonic() - refused[0] < SCHEMA_RECHECK_SECONDS:
            raise SchemaMismatch(str(refused[1]), later=refused[1].later)
        with self._project_lock:
            apply = self._apply_batch_postgres if self.config.kind == "postgresql" else self._apply_batch_sqlite
            try:
                batch = apply()
            except SchemaMismatch as error:
                self._refused = (time.monotonic(), error)
                raise
            self._refused = None
            self.reached = max(self.reached, batch.reached)
            if self._rebuilding:
                self._rebuilt += batch.applied
            return batch

    def _batch_limit(self) -> int:
        """How many events a batch reads: while this process rebuilds, its rebuild's size, in every thread."""
        return self.rebuild_batch_size if self._rebuilding else self.batch_size

    def _prepare(self, conn: Connection) -> None:
        if self._rebuilding:
            self._rebuild_settings(conn)

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
        conn.execute(_ADVANCE, {"last": last, "reached": last, "at": utc_now()})

    def _lock_positions(self, conn: Connection) -> dict[str, int]:
        """Read the tracking rows under a lock, so concurrent catch-ups queue instead of double-applying; and check
        that the schema is the one this code writes for (projections.migrate.check_schema)."""
        query = _POSITIONS.with_for_update() if self.config.kind == "postgresql" else _POSITIONS
        # On SQLite the writer engine's BEGIN IMMEDIATE already holds the database's write lock.
        positions = {row.name: row.position for row in conn.execute(query)}
        check_schema(revisions_of(conn))
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
                try:
                    batch = self._apply_batch()
                except SchemaMismatch:
                    # This process projects nothing (check_schema): the position is reached already, or not by it.
                    return self.position() >= position
                if batch.reached >= position:
                    return True
                if batch.applied:
                    continue
            elif self.position() >= position:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

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
