"""What a rebuild puts off until its end, and finishing it.

A rebuild writes every row of the read model again, and keeping each secondary index and each running count up to
date row by row costs more than building them once at its end (see docs/performance.md).
So a rebuild
- drops the read model's secondary indexes when it empties the tables, recording the statement that builds each one
  again as the database itself gives it (the indexes are the migrations' work: nothing here restates them);
- leaves the running counts (projections.counts) alone while it projects, and records that it does, in the
  transaction that empties the tables and again in each of its batches;
- touches its records with every batch, and at its end builds the indexes, counts again and deletes the records, in
  one transaction.

Other batches, in this process or another, look at the records first:
- none: they count as usual;
- touched within REBUILD_LEASE: a rebuild is running, and will count everything at its end, so they leave the counts
  too;
- older: the rebuild stopped part way (a crash, a killed process), and the batch finishes its work before its own.

So the counts are never incomplete without a record that says so. The batches that leave them without a record of
their own are made safe by the order of locks: finishing first locks the tracking rows, as every batch does, so a
batch that saw the records before a finish ends before that finish counts, and a batch after it finds them gone.
Finishing counts everything again from the rows, so it is right at any moment, even while a rebuild still runs:
that rebuild's later batches record the counts as left again, and its end counts once more.

The lease is measured by the database's clock on PostgreSQL, whose clients may run on several hosts; a SQLite file
has all its processes on one host.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select, text

from projections import counts
from projections import tables as t
from projections.clock import utc_now

COUNTS = "counts"
# How long a rebuild may go without touching its records before a batch elsewhere takes it to have stopped. Its
# batches come a second or less apart; a rebuild held up longer than this is finished under it, which costs time
# (indexes built early, a count made twice) but loses nothing.
REBUILD_LEASE = timedelta(seconds=60)

_SQLITE_INDEXES = text(
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table AND sql IS NOT NULL "
    "AND upper(sql) NOT LIKE 'CREATE UNIQUE %'"
)
_POSTGRES_INDEXES = text(
    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
    "WHERE x.indrelid = to_regclass(quote_ident(:table)) AND NOT x.indisunique AND NOT x.indisprimary "
    "AND NOT x.indisexclusion"
)
_RECORDS = select(t.deferred.c.name, t.deferred.c.touched_at)


def clock(conn: Connection) -> datetime:
    """The time the lease is measured by: the database's on PostgreSQL, this host's on SQLite (naive UTC)."""
    if conn.dialect.name == "postgresql":
        return conn.execute(select(_database_now())).scalar_one()
    return utc_now()


def _database_now() -> Any:
    return func.timezone("UTC", func.now())


def _touched(conn: Connection) -> Any:
    """The value that marks a record touched now, by the clock above."""
    return _database_now() if conn.dialect.name == "postgresql" else utc_now()


def secondary_indexes(conn: Connection, table: Table) -> dict[str, str]:
    """The table's indexes that neither key it nor keep anything unique, each with the statement that creates it."""
    query = _POSTGRES_INDEXES if conn.dialect.name == "postgresql" else _SQLITE_INDEXES
    return {name: statement for name, statement in conn.execute(query, {"table": table.name})}


def drop_indexes(conn: Connection, tables: Sequence[Table]) -> int:
    """Drop the tables' secondary indexes, recording how to build each again; returns how many."""
    dropped = 0
    at = _touched(conn)
    for table in tables:
        for name, statement in secondary_indexes(conn, table).items():
            conn.execute(insert(t.deferred).values(name=name, statement=statement, touched_at=at))
            conn.exec_driver_sql(f"DROP INDEX {conn.dialect.identifier_preparer.quote(name)}")
            dropped += 1
    return dropped


def records(conn: Connection) -> list[tuple[str, datetime]]:
    return [(name, touched_at) for name, touched_at in conn.execute(_RECORDS)]


def running(conn: Connection, found: Sequence[tuple[str, datetime]]) -> bool:
    """Whether the records belong to a rebuild still running: one touched them within the lease."""
    return bool(found) and max(touched for _, touched in found) > clock(conn) - REBUILD_LEASE


def leave_counts(conn: Connection) -> None:
    """In a rebuild's batch: record that its running counts are left for the end (if no record says so yet), and
    touch every record.

    Only writes, whose results nobody reads: they can go in a pipeline with the batch's other writes."""
    table = conn.dialect.identifier_preparer.quote(t.deferred.name)
    if conn.dialect.name == "postgresql":
        at, values = "timezone('UTC', now())", {"name": COUNTS}
    else:
        at, values = ":at", {"name": COUNTS, "at": utc_now()}
    conn.execute(
        text(
            f"INSERT INTO {table} (name, statement, touched_at) VALUES (:name, NULL, {at}) "  # noqa: S608 - see above
            "ON CONFLICT (name) DO NOTHING"
        ),
        values,
    )
    conn.execute(t.deferred.update().values(touched_at=_touched(conn)))


def finish(conn: Connection) -> bool:
    """Build the dropped indexes and count the running counts again, if a rebuild left them; True if it did.

    Run it in a write transaction. On SQLite that holds the database's write lock. On PostgreSQL the tracking rows
    are locked first, as every batch locks them: a batch that read the records before this commits ends first, so
    that its rows are counted, and a batch after it finds the records gone. Of two processes finishing at once the
    second then finds nothing left to do."""
    query = select(t.deferred.c.name, t.deferred.c.statement).order_by(t.deferred.c.name)
    if conn.dialect.name == "postgresql":
        conn.execute(select(t.tracking.c.name).with_for_update())
    found = conn.execute(query).all()
    if not found:
        return False
    for name, statement in found:
        if statement is not None and not _index_exists(conn, name):
            conn.exec_driver_sql(statement)
    if any(name == COUNTS for name, _ in found):
        counts.recount(conn)
    conn.execute(delete(t.deferred))
    return True


def finish_if_stopped(conn: Connection) -> bool:
    """Finish what a rebuild left, unless that rebuild is still running; True if there was something to finish."""
    found = records(conn)
    return bool(found) and not running(conn, found) and finish(conn)


def _index_exists(conn: Connection, name: str) -> bool:
    if conn.dialect.name == "postgresql":
        query = text("SELECT to_regclass(quote_ident(:name)) IS NOT NULL")
        return bool(conn.execute(query, {"name": name}).scalar_one())
    query = text("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :name")
    return conn.execute(query, {"name": name}).first() is not None
