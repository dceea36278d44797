"""A projection batch on PostgreSQL in few round trips: the reads it starts with in one, its writes in one.

Under write load on a small machine a follower spends most of a batch waiting for answers, and every round trip is
a chance to wait for the CPU behind other processes, on both ends. So the five reads a batch starts with (lock the
tracking rows, read the events after them, read the audit chain's head, what a rebuild left and the schema's
revision) go out together in pipeline mode, the events read from the lowest tracked position as the server sees it
under the lock; and the writes, whose results nobody reads, go out together too.

PostgresBatches is part of ReadModel (projections.read_model), which holds the state and the steps every batch
shares.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql
from sqlalchemy import Connection

from projections import tables as t
from projections.batch import Batch
from projections.migrate import REVISION_SQL, check_schema
from tracker.audit_chain import GENESIS, Link


class OpenBatch(NamedTuple):
    """What a batch starts from: the tracked positions (locked), the events after the lowest, the chain's head, and
    what a rebuild left for its end (projections.deferred)."""

    positions: dict[str, int]
    notifications: list[Notification]
    head: Link
    deferred: list[tuple[str, datetime]]
    # The schema's Alembic revisions (see projections.migrate.check_schema).
    revisions: list[str]


def open_batch(conn: Connection, recorder: PostgresApplicationRecorder, limit: int) -> OpenBatch:
    """Begin the batch in `conn`'s transaction: lock the tracking rows and read what it applies, in one round trip."""
    tracking = sql.Identifier(t.tracking.name)
    lock = sql.SQL("SELECT name, position FROM {} FOR UPDATE").format(tracking)
    # Run after the lock in the same transaction: the lowest position cannot move until the batch commits.
    events = sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{}"
        " WHERE notification_id > (SELECT min(position) FROM {}) ORDER BY notification_id LIMIT %s"
    ).format(sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name), tracking)
    head = sql.SQL("SELECT position, hash FROM {} ORDER BY position DESC LIMIT 1").format(
        sql.Identifier(t.audit_chain.name)
    )
    left = sql.SQL("SELECT name, touched_at FROM {}").format(sql.Identifier(t.deferred.name))
    driver: Any = conn.connection.driver_connection
    with (
        driver.cursor() as locked,
        driver.cursor() as read,
        driver.cursor() as last,
        driver.cursor() as records,
        driver.cursor() as schema,
    ):
        with driver.pipeline():
            locked.execute(lock)
            read.execute(events, (limit,))
            last.execute(head)
            records.execute(left)
            schema.execute(REVISION_SQL)
        # Leaving pipeline mode sent the five (and the transaction's BEGIN) and fetched every answer.
        positions = {name: position for name, position in locked.fetchall()}
        rows = read.fetchall()
        found = last.fetchone()
        deferred = [(name, touched_at) for name, touched_at in records.fetchall()]
        revisions = [version for (version,) in schema.fetchall()]
    notifications = [
        Notification(id=row[0], originator_id=row[1], originator_version=row[2], topic=row[3], state=bytes(row[4]))
        for row in rows
    ]
    head_link = Link(0, GENESIS) if found is None else Link(found[0], found[1])
    return OpenBatch(positions, notifications, head_link, deferred, revisions)


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """Send the statements run inside in one round trip (pipeline mode).

    Only for statements whose results nobody reads: SQLAlchemy cannot read rows that have not arrived yet."""
    driver: Any = conn.connection.driver_connection
    with driver.pipeline():
        yield


class PostgresBatches:
    """ReadModel's batches on PostgreSQL (see ReadModel._apply_batch)."""

    def _apply_batch_postgres(self) -> Batch:
        """The batch on PostgreSQL: four round trips, and one more for each row a handler looks up.

        One to lock the tracking rows and read the events after them, the audit chain's head, what a rebuild left
        and the schema's revision (open_batch); one to load the innovations the events change; one for all the
        writes (sent in pipeline mode); and the commit. Finishing what a stopped rebuild left, rarely, takes its own."""
        assert isinstance(self.app.recorder, PostgresApplicationRecorder)
        with self._writer_connection() as conn, conn.begin():
            self._prepare(conn)
            opened = open_batch(conn, self.app.recorder, self._batch_limit())
            # The schema first: a release whose migrations add a tracking row waits for its upgrade, not for this.
            check_schema(opened.revisions)
            self._check_tracked(opened.positions)
            counts_left = self._leave_counts(conn, opened.deferred)
            batch, rows, links = self._project(
                conn, opened.positions, opened.notifications, lambda _: opened.head, counts_left
            )
            if batch.applied:
                with pipelined(conn):
                    self._write(conn, rows, links, batch.reached)
            return batch

    @contextmanager
    def _writer_connection(self) -> Iterator[Connection]:
        """The connection this thread holds while it follows the log, else one from the writer pool."""
        held: Connection | None = getattr(self._held, "conn", None)
        if held is not None:
            yield held
            return
        with self.writer.connect() as conn:
            yield conn
