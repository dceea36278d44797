"""A projection batch on SQLite: its rows worked out ahead, on a read snapshot, and only written under the writer lock.

Part of ReadModel (projections.read_model), which holds the state and the steps every batch shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from eventsourcing.persistence import Notification

from projections import audit_chain, deferred
from projections.batch import Batch
from projections.migrate import check_schema, revisions_of
from projections.rows import Rows
from tracker.audit_chain import Link


class _Ahead(NamedTuple):
    """A SQLite batch worked out before its write lock, and the state it was worked out from."""

    positions: dict[str, int]
    counts_left: bool
    batch: Batch
    rows: Rows
    links: list[Link]


class SQLiteBatches:
    """ReadModel's batches on SQLite (see ReadModel._apply_batch)."""

    def _apply_batch_sqlite(self) -> Batch:
        """The batch on SQLite: rows worked out on a read snapshot, then checked and written under the write lock.

        SQLite has one writer at a time, and working out a batch's rows (decoding the events, running the handlers,
        hashing the chain) takes most of its time: done under the write lock, every write request would wait for it.
        So the rows are worked out first (down to the statements and their bound values), from one read
        transaction's snapshot, without the lock. Under the lock the batch reads the tracking rows again: every batch
        that applies events moves them, so if they are as the snapshot had them (and what a rebuild left is as it
        was), nothing the rows were worked out from has changed since, and they are written. Otherwise the batch is
        worked out again, under the lock."""
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
            # Before the handlers run against it: a schema of another release may not have the columns they write.
            # The write checks again under the lock.
            check_schema(revisions_of(conn))
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
            # The rows' statements written out and their values bound here too: under the lock they are only run.
            rows.prepare()
            return _Ahead(positions, counts_left, batch, rows, links)

    def _stopped_rebuild_left_work(self) -> bool:
        """Whether a rebuild that stopped part way left work for the next batch (see projections.deferred)."""
        if self._rebuilding:
            return False
        with self.reader.connect() as conn:
            found = deferred.records(conn)
            return bool(found) and not deferred.running(conn, found)
