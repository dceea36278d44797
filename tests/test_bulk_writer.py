"""The projections' bulk writer stores exactly what SQLAlchemy's own INSERT and UPDATE store, for every column type."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy.exc
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Float, Integer, Numeric, Table, Uuid, select
from sqlalchemy.dialects import sqlite

from projections import tables as t
from projections.engine import make_engine
from projections.rows import BulkWriter, Rows, _processors


def _value(column: Any, rng: random.Random, *, allow_null: bool) -> Any:
    if allow_null and column.nullable and not column.primary_key and rng.random() < 0.5:
        return None
    kind = column.type
    if isinstance(kind, Uuid):
        return uuid.UUID(int=rng.getrandbits(128))
    if isinstance(kind, DateTime):
        return datetime(
            2020 + rng.randrange(6), rng.randrange(1, 13), rng.randrange(1, 29), 23, 59, 59, rng.randrange(10**6)
        )
    if isinstance(kind, Date):
        return date(2019 + rng.randrange(7), rng.randrange(1, 13), rng.randrange(1, 29))
    if isinstance(kind, Boolean):
        return rng.random() < 0.5
    if isinstance(kind, Numeric) and not isinstance(kind, Float):
        return Decimal(rng.randrange(10**9)) / 100
    if isinstance(kind, Float):
        return rng.random() * 100
    if isinstance(kind, (Integer, BigInteger)):
        return rng.randrange(1, 2**31)
    if isinstance(kind, JSON):
        return rng.choice(
            [
                [],
                {},
                ["a", "é ünïcode", 'quote " and \\ backslash'],
                {"nested": [{"x": 1.5, "y": None, "z": True}], str(uuid.UUID(int=rng.getrandbits(128))): 42.25},
            ]
        )
    length = getattr(kind, "length", None) or 40
    return "".join(rng.choice("abcXYZ é'\"%?;-") for _ in range(rng.randrange(0, min(length, 40) + 1)))


def _rows(table: Table, rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [{c.name: _value(c, rng, allow_null=i % 2 == 1) for c in table.columns} for i in range(count)]


def _stored(conn: Any, table: Table) -> list[dict[str, Any]]:
    order = list(table.primary_key.columns)
    return [dict(row) for row in conn.execute(select(table).order_by(*order)).mappings()]


@pytest.mark.parametrize("count", [1, 12], ids=["one-row", "many-rows"])
@pytest.mark.parametrize("table", t.READ_MODEL_TABLES, ids=lambda table: table.name)
def test_bulk_insert_and_update_store_what_sqlalchemy_stores(module_sql_url: str, table: Table, count: int) -> None:
    """Many rows go as arrays on PostgreSQL, a single row as plain parameters: both store what SQLAlchemy does.
    Each case empties its table before each of its two writes."""
    rng = random.Random(table.name)
    rows = _rows(table, rng, count)
    pk = [c.name for c in table.primary_key.columns]
    # Change every other row's non-key columns, as the projections' unit of work does.
    changes = {
        tuple(row[c] for c in pk): {
            c.name: _value(c, rng, allow_null=True) for c in table.columns if not c.primary_key and rng.random() < 0.6
        }
        for row in rows[::2]
    }
    changes = {key: values for key, values in changes.items() if values}
    plain = [c for c in table.columns if not c.primary_key]
    if not changes and plain:  # one row may draw no change at all: change its first non-key column
        changes = {tuple(rows[0][c] for c in pk): {plain[0].name: _value(plain[0], rng, allow_null=False)}}
    assert changes or not plain
    engine = make_engine(module_sql_url, writer=True)
    stored = []
    try:
        for bulk in (False, True):
            with engine.begin() as conn:
                conn.execute(table.delete())
                if bulk:
                    BulkWriter(conn).insert(table, [dict(row) for row in rows])
                    BulkWriter(conn).update(table, changes)
                else:
                    conn.execute(table.insert(), [dict(row) for row in rows])
                    for key, values in changes.items():
                        where = [table.c[c] == v for c, v in zip(pk, key, strict=True)]
                        conn.execute(table.update().where(*where).values(values))
            with engine.connect() as conn:
                stored.append(_stored(conn, table))
    finally:
        engine.dispose()
    assert len(stored[0]) == len(rows)
    assert stored[1] == stored[0]


def test_rows_flush_writes_through_the_bulk_writer(sql_url: str) -> None:
    """One unit of work: inserts of different column sets, an update of a stored row and of a pending row."""
    engine = make_engine(sql_url, writer=True)
    ids = [uuid.uuid4() for _ in range(3)]
    at = datetime(2024, 5, 6, 7, 8, 9, 123456)
    try:
        with engine.begin() as conn:
            rows = Rows(conn)
            rows.insert(
                t.stage_intervals,
                {
                    "innovation_id": ids[0],
                    "seq": 1,
                    "stage": "testing",
                    "entered_at": at,
                    "exited_at": None,
                    "duration_days": None,
                },
            )
            rows.insert(
                t.stage_intervals,
                {
                    "seq": 1,
                    "innovation_id": ids[1],
                    "stage": "development",
                    "entered_at": at,
                    "exited_at": at,
                    "duration_days": 0.0,
                },
            )
            rows.flush()
        with engine.begin() as conn:
            rows = Rows(conn)
            rows.update(t.stage_intervals, (ids[0], 1), exited_at=datetime(2024, 6, 1), duration_days=25.5)
            rows.insert(
                t.stage_intervals,
                {
                    "innovation_id": ids[2],
                    "seq": 1,
                    "stage": "assessment",
                    "entered_at": at,
                    "exited_at": None,
                    "duration_days": None,
                },
            )
            rows.update(t.stage_intervals, (ids[2], 1), stage="identification")
            rows.flush()
        with engine.connect() as conn:
            stored = {row["innovation_id"]: row for row in _stored(conn, t.stage_intervals)}
    finally:
        engine.dispose()
    assert stored[ids[0]]["exited_at"] == datetime(2024, 6, 1)
    assert stored[ids[0]]["duration_days"] == 25.5
    assert stored[ids[1]]["stage"] == "development"
    assert stored[ids[1]]["entered_at"] == at
    assert stored[ids[2]]["stage"] == "identification"


def test_counter_upserts_add_to_stored_rows_create_missing_ones_and_delete_emptied_ones(sql_url: str) -> None:
    """Rows.add through the bulk writer: per key, counts are added to what is stored, a missing row is created with
    its initial columns (and keeps its stored label afterwards), and a row counted back to zero disappears."""
    engine = make_engine(sql_url, writer=True)
    keys = [("country", f"C{i}") for i in range(300)]
    try:
        with engine.begin() as conn:
            rows = Rows(conn)
            for i, key in enumerate(keys):
                rows.add(t.score_groups, key, {"innovations": 1, "mpi_hundredths": 100 + i}, label=f"first {i}")
            rows.add(t.score_groups, keys[0], {"innovations": 1, "mpi_hundredths": 5}, label="first 0")
            rows.flush()
        with engine.begin() as conn:
            rows = Rows(conn)
            for i, key in enumerate(keys):
                if i % 3 == 0:
                    # Counted back out entirely: the row goes.
                    amounts = {"innovations": -2 if i == 0 else -1, "mpi_hundredths": -(100 + i) - (5 if i == 0 else 0)}
                else:
                    amounts = {"innovations": 2, "mpi_hundredths": 7}
                rows.add(t.score_groups, key, amounts, label=f"second {i}")
            rows.add(t.score_groups, ("theme", "new"), {"innovations": 1, "mpi_hundredths": 250}, label="new")
            rows.flush()
        with engine.connect() as conn:
            stored = {(row["group_by"], row["key"]): row for row in _stored(conn, t.score_groups)}
    finally:
        engine.dispose()
    expected = {
        key: {"group_by": key[0], "key": key[1], "label": f"first {i}", "innovations": 3, "mpi_hundredths": 107 + i}
        for i, key in enumerate(keys)
        if i % 3
    }
    expected[("theme", "new")] = {
        "group_by": "theme",
        "key": "new",
        "label": "new",
        "innovations": 1,
        "mpi_hundredths": 250,
    }
    assert stored == expected


@pytest.mark.postgres
def test_a_value_too_long_for_its_column_is_refused_on_postgresql_not_cut_short(postgres_url: str) -> None:
    """The bulk writer sends PostgreSQL one array per column: the array's type must not carry the column's length,
    or the cast would silently cut the value to fit, where SQLAlchemy's own INSERT and UPDATE refuse it."""
    from projections.migrate import upgrade
    from storage.schema import create_event_tables

    create_event_tables(postgres_url)
    upgrade(postgres_url)
    engine = make_engine(postgres_url, writer=True)
    row = {"innovation_id": uuid.uuid4(), "seq": 1, "stage": "testing", "entered_at": datetime(2024, 1, 1)}
    too_long = "x" * (t.stage_intervals.c.stage.type.length + 1)
    try:
        with pytest.raises(sqlalchemy.exc.DataError), engine.begin() as conn:
            BulkWriter(conn).insert(t.stage_intervals, [row | {"stage": too_long}])
        with engine.begin() as conn:
            BulkWriter(conn).insert(t.stage_intervals, [row])
        with pytest.raises(sqlalchemy.exc.DataError), engine.begin() as conn:
            BulkWriter(conn).update(t.stage_intervals, {(row["innovation_id"], 1): {"stage": too_long}})
        with engine.connect() as conn:
            assert [r["stage"] for r in _stored(conn, t.stage_intervals)] == ["testing"]
    finally:
        engine.dispose()


def test_a_column_may_hold_values_of_different_python_types_in_one_batch(sql_url: str) -> None:
    """An int among floats: each row alone was always accepted, and a batch of them must be too (on PostgreSQL the
    batch goes as one array per column, and psycopg refuses a list of mixed types)."""
    engine = make_engine(sql_url, writer=True)
    ids = [uuid.uuid4() for _ in range(3)]
    at = datetime(2024, 5, 6, 7, 8, 9)
    intervals = [
        {"innovation_id": ids[0], "seq": 1, "stage": "testing", "entered_at": at, "duration_days": 0},
        {"innovation_id": ids[1], "seq": 2, "stage": "testing", "entered_at": at, "duration_days": 1.5},
        {"innovation_id": ids[2], "seq": 3, "stage": "testing", "entered_at": at, "duration_days": None},
    ]
    try:
        with engine.begin() as conn:
            BulkWriter(conn).insert(t.stage_intervals, intervals)
            BulkWriter(conn).update(
                t.stage_intervals, {(ids[0], 1): {"duration_days": 2}, (ids[2], 3): {"duration_days": 0.25}}
            )
        with engine.connect() as conn:
            stored = {row["innovation_id"]: row["duration_days"] for row in _stored(conn, t.stage_intervals)}
    finally:
        engine.dispose()
    assert stored == {ids[0]: 2.0, ids[1]: 1.5, ids[2]: 0.25}


@given(moment=st.datetimes(timezones=st.none() | st.just(UTC)))
def test_sqlite_datetimes_are_written_as_sqlalchemy_writes_them(moment: datetime) -> None:
    dialect = sqlite.dialect()
    ours = _processors(t.audit, dialect)["at"]
    theirs = t.audit.c.at.type.dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None
    assert theirs is not None
    assert ours(moment) == theirs(moment)


def test_rows_prepared_ahead_are_written_by_flush_on_another_connection_and_refuse_a_later_deletion(
    sql_url: str,
) -> None:
    """prepare() writes the statements out on one connection (a read snapshot), flush() runs them on another; a
    deletion gathered after prepare() is refused, since it would run before the rows it should remove."""
    engine = make_engine(sql_url, writer=True)
    iid = uuid.uuid4()
    row = {"innovation_id": iid, "seq": 1, "stage": "testing", "entered_at": datetime(2024, 5, 6), "exited_at": None}
    try:
        with engine.connect() as reader:
            rows = Rows(reader)
            rows.insert(t.stage_intervals, row | {"duration_days": None})
            rows.prepare()
            with pytest.raises(RuntimeError, match="after prepare"):
                rows.delete_where(t.stage_intervals, innovation_id=iid)
        with engine.begin() as conn:
            rows.flush(conn)
        with engine.connect() as conn:
            stored = conn.execute(select(t.stage_intervals.c.stage).where(t.stage_intervals.c.innovation_id == iid))
            assert stored.scalars().all() == ["testing"]
    finally:
        engine.dispose()


def test_rows_are_looked_up_by_their_whole_key_and_prefetched_by_theirs(sql_url: str) -> None:
    """Rows.get finds a row by every column of its key (and None where there is none); Rows.prefetch loads many rows
    of a single-column-key table at once, and remembers the keys it did not find."""
    engine = make_engine(sql_url, writer=True)
    ids = [uuid.uuid4() for _ in range(3)]
    at = datetime(2024, 5, 6, 7, 8, 9)
    stages = {(ids[0], 1): "identification", (ids[0], 2): "testing", (ids[1], 1): "development"}
    try:
        with engine.begin() as conn:
            BulkWriter(conn).insert(
                t.stage_intervals,
                [{"innovation_id": i, "seq": s, "stage": stage, "entered_at": at} for (i, s), stage in stages.items()],
            )
        with engine.connect() as conn:
            rows = Rows(conn)
            for (innovation_id, seq), stage in stages.items():
                found = rows.get(t.stage_intervals, innovation_id, seq)
                assert found is not None
                assert (found["innovation_id"], found["seq"], found["stage"]) == (innovation_id, seq, stage)
            assert rows.get(t.stage_intervals, ids[1], 2) is None
            assert rows.get(t.stage_intervals, ids[2], 1) is None
            with pytest.raises(TypeError, match="keyed by"):
                rows.get(t.stage_intervals, ids[0])
        with engine.begin() as conn:
            BulkWriter(conn).insert(t.audit_chain, [{"position": p, "hash": f"h{p}"} for p in (1, 2, 3)])
        with engine.connect() as conn:
            rows = Rows(conn)
            rows.prefetch(t.audit_chain, {1, 3, 99})
            conn.execute(t.audit_chain.delete())  # what follows comes from what prefetch loaded
            assert rows.get(t.audit_chain, 1) == {"position": 1, "hash": "h1"}
            assert rows.get(t.audit_chain, 3) == {"position": 3, "hash": "h3"}
            assert rows.get(t.audit_chain, 99) is None
            assert rows.get(t.audit_chain, 2) is None
    finally:
        engine.dispose()
