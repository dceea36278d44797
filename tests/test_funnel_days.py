"""The portfolio as-of funnel sums daily counts: it must equal counting the open intervals, at any instant."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, select

from projections import handlers
from projections import tables as t
from projections.engine import make_engine
from projections.queries.analytics import funnel, open_intervals
from projections.rows import Rows
from tracker.stages import STAGES, STATUSES

START = datetime(2024, 3, 1, tzinfo=UTC)
# Event times on a grid around a few midnights, so that entries and exits fall on, just before and just after day
# boundaries, and at the same instant as each other.
TIMES = st.builds(
    lambda days, offset: START + timedelta(days=days) + offset,
    st.integers(min_value=0, max_value=4),
    st.sampled_from([timedelta(microseconds=-1), timedelta(0), timedelta(microseconds=1), timedelta(hours=6)]),
)
ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["submit", "stage", "status"]),
        st.integers(min_value=0, max_value=5),  # which innovation (submitted ones only; modulo their number)
        st.sampled_from(STAGES),
        st.sampled_from(STATUSES),
        TIMES,
        st.booleans(),  # end the batch after this event
    ),
    max_size=40,
)


def _event(innovation_id: uuid.UUID, at: datetime, **fields: Any) -> SimpleNamespace:
    return SimpleNamespace(originator_id=innovation_id, originator_version=1, timestamp=at, **fields)


def _submitted(innovation_id: uuid.UUID, at: datetime) -> SimpleNamespace:
    return _event(
        innovation_id,
        at,
        organisation_id=uuid.uuid4(),
        ecosystem_id=None,
        title="t",
        summary="s",
        themes=[],
        target_groups=[],
        readiness_level=None,
    )


def _project(conn: Connection, actions: list[Any]) -> None:
    """Apply the actions' events with the portfolio handlers, in batches as the runner would."""
    ids: list[uuid.UUID] = []
    rows = Rows(conn)
    for position, (kind, which, stage, status, now, end_batch) in enumerate(actions, start=1):
        if kind == "submit" or not ids:
            ids.append(uuid.uuid4())
            handlers.submitted(rows, _submitted(ids[-1], now), position)
        elif kind == "stage":
            handlers.recycled(rows, _event(ids[which % len(ids)], now, to_stage=stage), position)
        else:
            handlers.status_changer(status)(rows, _event(ids[which % len(ids)], now), position)
        if end_batch:
            rows.flush()
            rows = Rows(conn)
    rows.flush()


def _instants(conn: Connection) -> set[datetime]:
    """Every interval boundary, a microsecond either side, and the midnights of their days."""
    bounds: set[datetime] = set()
    for table in (t.stage_intervals, t.status_intervals):
        for entered, exited in conn.execute(select(table.c.entered_at, table.c.exited_at)):
            bounds.update(b for b in (entered, exited) if b is not None)
    instants = {START.replace(tzinfo=None) - timedelta(days=1)}
    for b in bounds:
        midnight = datetime.combine(b.date(), datetime.min.time())
        one = timedelta(microseconds=1)
        instants.update({b - one, b, b + one, midnight - one, midnight, midnight + timedelta(days=1)})
    return instants


def _daily_counts(conn: Connection) -> dict[tuple[str, str, date], tuple[int, int]]:
    """The daily counts by their definition, from the intervals."""
    counts: Counter[tuple[str, str, date, str]] = Counter()
    for dimension, table, column in (
        ("stage", t.stage_intervals, t.stage_intervals.c.stage),
        ("status", t.status_intervals, t.status_intervals.c.status),
    ):
        for value, entered, exited in conn.execute(select(column, table.c.entered_at, table.c.exited_at)):
            counts[(dimension, value, entered.date(), "entered")] += 1
            if exited is not None:
                counts[(dimension, value, max(entered, exited).date(), "exited")] += 1
    keys = {k[:3] for k in counts}
    return {k: (counts[(*k, "entered")], counts[(*k, "exited")]) for k in keys}


@pytest.fixture
def engines(sql_url: str) -> Iterator[tuple[Engine, Engine]]:
    """The read model's writer and reader engines, without an application: the event store's connection pool
    fills itself from background threads that draw on the `random` module, which Hypothesis reports as a fault."""
    writer, reader = make_engine(sql_url, writer=True), make_engine(sql_url)
    yield writer, reader
    writer.dispose()
    reader.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    actions=ACTIONS,
    clock_in_order=st.booleans(),
    extra=st.datetimes(min_value=datetime(2024, 2, 28), max_value=datetime(2024, 3, 7)),
)
def test_portfolio_funnel_equals_the_open_interval_count_when_history_is_random(
    engines: tuple[Engine, Engine], actions: list[Any], clock_in_order: bool, extra: datetime
) -> None:
    writer, reader = engines
    if clock_in_order:
        times = sorted(a[4] for a in actions)
        actions = [(*a[:4], at, a[5]) for a, at in zip(actions, times, strict=True)]
    # Otherwise the clock goes back now and then, as a wall clock can: an interval may end before it began.
    with writer.begin() as conn:
        for table in (t.funnel_days, t.status_intervals, t.stage_intervals, t.innovations):
            conn.execute(delete(table))
        _project(conn, actions)
    with reader.connect() as conn:
        stored = {(d, v, day): (n_in, n_out) for d, v, day, n_in, n_out in conn.execute(select(t.funnel_days))}
        assert stored == _daily_counts(conn)
        for at in sorted(_instants(conn) | {extra}):
            got = funnel(conn, as_of=at.replace(tzinfo=UTC))
            expected = open_intervals(conn, at)
            assert got["stages"] == dict.fromkeys(STAGES, 0) | expected["stage"], at
            assert got["statuses"] == dict.fromkeys(STATUSES, 0) | expected["status"], at
