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
from projections.queries.analytics import funnel, open_intervals, stage_durations
from projections.queries.series import boundaries, funnel_series
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
        themes=["peer learning"],
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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    actions=ACTIONS,
    clock_in_order=st.booleans(),
    step=st.sampled_from(["month", "quarter"]),
    start=st.sampled_from([date(2023, 12, 15), date(2024, 3, 1), date(2024, 3, 2)]),
)
def test_each_point_of_the_funnel_series_is_the_funnel_as_of_it(
    engines: tuple[Engine, Engine], actions: list[Any], clock_in_order: bool, step: str, start: date
) -> None:
    """Whole portfolio (daily counts) and filtered (the intervals) alike; entries and exits fall on, just before and
    just after 1 March 2024, a month's (and a quarter's) first instant. A series may start before everything, or
    after some of it: what happened before its first point counts at every point."""
    writer, reader = engines
    if clock_in_order:
        times = sorted(a[4] for a in actions)
        actions = [(*a[:4], at, a[5]) for a, at in zip(actions, times, strict=True)]
    with writer.begin() as conn:
        for table in (t.funnel_days, t.status_intervals, t.stage_intervals, t.innovation_themes, t.innovations):
            conn.execute(delete(table))
        _project(conn, actions)
    with reader.connect() as conn:
        # Every innovation has this theme: the whole portfolio's durations (read by rank from the index) and the
        # filtered ones (computed from every stay) must agree.
        assert stage_durations(conn) == stage_durations(conn, theme="peer learning")
        for theme in (None, "peer learning"):
            series = funnel_series(conn, start=start, end=date(2024, 9, 1), step=step, theme=theme)
            assert [p["at"] for p in series["points"]] == boundaries(start, date(2024, 9, 1), step)
            for point in series["points"]:
                expected = funnel(conn, as_of=point["at"].replace(tzinfo=UTC), theme=theme)
                assert point["stages"] == expected["stages"], (theme, point["at"])
                assert point["statuses"] == expected["statuses"], (theme, point["at"])


def test_a_series_starts_at_the_first_step_on_or_after_its_start() -> None:
    assert boundaries(date(2024, 1, 1), date(2024, 3, 31), "month") == [
        datetime(2024, 1, 1),
        datetime(2024, 2, 1),
        datetime(2024, 3, 1),
    ]
    assert boundaries(date(2024, 1, 2), date(2024, 12, 31), "quarter") == [
        datetime(2024, 4, 1),
        datetime(2024, 7, 1),
        datetime(2024, 10, 1),
    ]
    assert boundaries(date(2019, 6, 1), date(2026, 5, 31), "year") == [datetime(y, 1, 1) for y in range(2020, 2027)]
    assert boundaries(date(2024, 5, 2), date(2024, 5, 30), "month") == []
    with pytest.raises(ValueError, match="at most"):
        boundaries(date(1900, 1, 1), date(2024, 1, 1), "month")
