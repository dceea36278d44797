"""Reads of the whole portfolio as of an instant that take a shortcut must answer as the general query does: the list
sorted by MPI read from the score history's indexes, against an oracle over random histories."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, func, insert, select, true

from projections import handlers
from projections import tables as t
from projections.engine import make_engine
from projections.queries import Scope, innovations
from projections.queries.analytics import GROUPS, mpi_distribution, score_groups
from projections.queries.facets import facets
from projections.queries.innovations import SORTS, InnovationFilter, list_innovations
from projections.queries.series import score_series
from projections.read_model import ReadModel
from projections.rows import Rows
from tests.readmodel import Clock, SteppingBack, random_history
from tests.world import build_world

START = datetime(2024, 3, 1)
ONE = timedelta(microseconds=1)
INSTANTS = st.builds(lambda hours: START + timedelta(hours=hours), st.integers(min_value=0, max_value=12))
# Few values, so that ties (broken by id) are common.
VALUES = st.sampled_from([10.0, 42.5, 42.5, 77.25, 100.0])
INNOVATIONS = st.lists(
    # The first score may begin before the submission (a wall clock that stepped back); each later one begins when
    # the one before ends, or later.
    st.tuples(
        INSTANTS,
        st.integers(min_value=-6, max_value=6),
        st.lists(st.tuples(st.integers(min_value=0, max_value=6), VALUES), max_size=3),
    ),
    min_size=1,
    max_size=8,
)


@pytest.fixture
def engines(sql_url: str) -> Iterator[tuple[Engine, Engine]]:
    writer, reader = make_engine(sql_url, writer=True), make_engine(sql_url)
    yield writer, reader
    writer.dispose()
    reader.dispose()


def _store(conn: Connection, innovations: list[Any]) -> dict[uuid.UUID, tuple[datetime, list[Any]]]:
    """Submit each innovation and write its score history: consecutive rows, each held until the next began (some
    the same instant as the one before, so never held). Returns each innovation's submission and rows."""
    for table in (t.score_history, t.funnel_days, t.status_intervals, t.stage_intervals, t.innovation_themes):
        conn.execute(delete(table))
    conn.execute(delete(t.innovations))
    rows, stored = Rows(conn), {}
    for position, (submitted, early, changes) in enumerate(innovations, start=1):
        innovation_id = uuid.uuid4()
        handlers.submitted(rows, _submitted(innovation_id, submitted.replace(tzinfo=UTC)), position)
        history, at = [], submitted + timedelta(hours=early)
        for hours, value in changes:
            at += timedelta(hours=hours)
            history.append([at, None, value])
        for before, after in pairwise(history):
            before[1] = after[0]
        stored[innovation_id] = (submitted, history)
    rows.flush()
    for innovation_id, (_, history) in stored.items():
        for seq, (at, valid_to, value) in enumerate(history, start=1):
            conn.execute(
                insert(t.score_history).values(
                    innovation_id=innovation_id, seq=seq, at=at, valid_to=valid_to, value=value, evaluators=1, spread=0
                )
            )
    return stored


def _submitted(innovation_id: uuid.UUID, at: datetime) -> Any:
    return SimpleNamespace(
        originator_id=innovation_id,
        originator_version=1,
        timestamp=at,
        organisation_id=uuid.uuid4(),
        ecosystem_id=None,
        title="t",
        summary="s",
        themes=["peer learning"],
        target_groups=[],
        readiness_level=None,
    )


def _score_then(history: list[Any], at: datetime) -> float | None:
    for began, ended, value in history:
        if began <= at and (ended is None or ended > at):
            return value
    return None


def _instants(stored: dict[uuid.UUID, tuple[datetime, list[Any]]]) -> set[datetime]:
    found = {START - timedelta(days=1)}
    for submitted, history in stored.values():
        for moment in (submitted, *(row[0] for row in history)):
            found.update({moment - ONE, moment, moment + ONE})
    return found


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(innovations=INNOVATIONS, page_size=st.integers(min_value=1, max_value=5))
def test_the_portfolio_as_of_an_instant_by_mpi_pages_as_the_oracle_orders_it(
    engines: tuple[Engine, Engine], innovations: list[Any], page_size: int
) -> None:
    writer, reader = engines
    with writer.begin() as conn:
        stored = _store(conn, innovations)
    with reader.connect() as conn:
        for at in sorted(_instants(stored)):
            there = {n: _score_then(h, at) for n, (s, h) in stored.items() if s <= at}
            for sort in ("-mpi", "mpi"):
                sign = -1 if sort == "-mpi" else 1
                expected = sorted(there, key=lambda n: (there[n] is None, sign * (there[n] or 0), n.hex))
                got: list[uuid.UUID] = []
                page = 1
                while True:
                    found = list_innovations(
                        conn, InnovationFilter(as_of=at.replace(tzinfo=UTC)), sort=sort, page=page, page_size=page_size
                    )
                    assert found.total == len(expected), (at, sort)
                    if not found.items:
                        break
                    for item in found.items:
                        value = item["mpi"]["value"] if item["mpi"] else None
                        assert value == there[item["id"]], (at, sort, item["id"])
                    got.extend(item["id"] for item in found.items)
                    page += 1
                assert got == expected, (at, sort, page_size)


def test_the_facets_and_the_distribution_of_the_whole_portfolio_as_of_any_instant_are_those_counted_one_by_one(
    read_model: ReadModel,
) -> None:
    """The running counts by month against the general count (a scope that sees everything, but a scope): at month
    starts, a microsecond either side, in the middle of months, at every submission and change of score, and before
    anything was submitted, after a history with theme revisions and refusals, whose clock now and then steps back
    (a score then ends before it began, and never held)."""
    rng = random.Random(23)
    read_model.app.clock = SteppingBack(rng)
    random_history(build_world(read_model.app), rng, steps=160)
    read_model.catch_up()
    everyone = Scope(where=true())
    with read_model.reader.connect() as conn:
        submitted = sorted(conn.scalars(select(t.innovations.c.submitted_at)))
        scored = [
            moment for row in conn.execute(select(t.score_history.c.at, t.score_history.c.valid_to)) for moment in row
        ]
        months = {datetime(m.year, m.month, 1) for m in submitted}
        instants = {submitted[0] - ONE, *submitted, *(m + d for m in months for d in (-ONE, timedelta(0), ONE))}
        instants |= {m + timedelta(days=14, hours=5) for m in months}
        instants |= {m + d for m in scored if m is not None for d in (-ONE, timedelta(0), ONE)}
        assert len(months) > 3
        assert len({m.month for m in scored if m is not None}) > 3, "the scores change in too few months"
        for at in sorted(instants):
            then = at.replace(tzinfo=UTC)
            assert facets(conn, as_of=then, limit=3) == facets(conn, as_of=then, limit=3, visible=everyone), at
            assert mpi_distribution(conn, as_of=then) == mpi_distribution(conn, as_of=then, visible=everyone), at


@pytest.mark.parametrize("group_by", GROUPS)
def test_each_point_of_the_score_groups_over_time_is_the_score_groups_as_of_it(
    read_model: ReadModel, group_by: str
) -> None:
    """The monthly changes against the groups computed from the score history at each instant, after a history with
    theme revisions (which move an innovation's whole history between themes) and a clock that steps back."""
    rng = random.Random(24)
    read_model.app.clock = SteppingBack(rng)
    world = build_world(read_model.app)
    # Innovations of three organisations in three countries, half of them in the ecosystem (of its members').
    submit = world.submit
    places = [(world.owner, world.ecosystem), (world.member, None), (world.site, None), (world.member, world.ecosystem)]
    world.submit = lambda **fields: submit(
        **dict(zip(("organisation_id", "ecosystem_id"), rng.choice(places), strict=True)) | fields
    )  # type: ignore[method-assign]
    random_history(world, rng, steps=200)
    read_model.catch_up()
    with read_model.reader.connect() as conn:
        first = conn.execute(select(func.min(t.score_history.c.at))).scalar_one()
        last = conn.execute(select(func.max(t.score_history.c.at))).scalar_one()
        series = score_series(
            conn,
            group_by=group_by,
            start=first.date() - timedelta(days=40),
            end=last.date() + timedelta(days=40),
            top=1,
        )
        assert len(series["points"]) > 3
        if group_by != "ecosystem":  # the world has one
            assert any(point["others"] for point in series["points"]), "no point has more than one group"
        for point in series["points"]:
            then = score_groups(conn, group_by=group_by, as_of=point["at"].replace(tzinfo=UTC), top=1)
            items = {item["key"]: item for item in then["items"]}
            assert [g["key"] for g in point["groups"]] == then["largest"], point["at"]
            for group in point["groups"]:
                expected = items[group["key"]]
                assert (group["innovations"], group["mean_mpi"]) == (expected["innovations"], expected["mean_mpi"])
                assert group["label"] == (expected["label"] or group["key"])
            assert point["others"] == then["others"], point["at"]


@pytest.mark.parametrize("clock", [Clock, SteppingBack], ids=["clock-in-order", "clock-stepping-back"])
def test_the_whole_portfolio_as_of_an_instant_in_any_order_counts_each_innovation_submitted_by_then_once(
    read_model: ReadModel, clock: type[Clock]
) -> None:
    """Its total comes from running counts, not from the joined rows: in every order it is the number of innovations
    submitted by then, and the rows are those innovations, each once, even where a wall clock stepped back between
    two of its changes (see projections.handlers.no_earlier)."""
    rng = random.Random(17)
    read_model.app.clock = clock(rng)
    random_history(build_world(read_model.app), rng, steps=150)
    read_model.catch_up()
    with read_model.reader.connect() as conn:
        submitted = sorted(conn.execute(select(t.innovations.c.submitted_at, t.innovations.c.id)).all())
        assert len(submitted) > 10
        changes = {
            moment
            for table in (t.stage_intervals, t.status_intervals)
            for row in conn.execute(select(table.c.entered_at, table.c.exited_at))
            for moment in row
            if moment is not None
        }
        instants = {submitted[0][0] - ONE, submitted[-1][0] + ONE}
        for moment in sorted(changes)[::3]:
            instants.update({moment - ONE, moment, moment + ONE})
        for at in sorted(instants):
            expected = {n for when, n in submitted if when <= at}
            # The MPI orders take their own path (_by_score_as_of); the others share the general query.
            for sort in ("-mpi", "mpi", "-submitted_at", "title", "-stage"):
                found = list_innovations(conn, InnovationFilter(as_of=at.replace(tzinfo=UTC)), sort=sort, page_size=500)
                assert found.total == len(expected), (at, sort)
                ids = [item["id"] for item in found.items]
                assert set(ids) == expected, (at, sort)
                assert len(ids) == len(expected), (at, sort)


@pytest.mark.parametrize("clock", [Clock, SteppingBack], ids=["clock-in-order", "clock-stepping-back"])
def test_a_list_as_of_an_instant_pages_as_the_general_query_does(read_model: ReadModel, clock: type[Clock]) -> None:
    """A list as of an instant, for a caller who sees everything, reads its ids joined only with what its filter and
    sort need (_narrow_as_of), a page of one stage or status sorted by MPI by walking the score history where that
    is enough (_walked); the same list for a scope that sees everything, but a scope, takes the general query. Page
    by page, in five sorts drawn per instant and filter (the MPI orders always among them), they agree: rows, values
    as of then, and totals."""
    rng = random.Random(41)
    read_model.app.clock = clock(rng)
    world = build_world(read_model.app)
    random_history(world, rng, steps=300)
    read_model.catch_up()
    with read_model.reader.connect() as conn:
        moments = sorted(
            moment
            for table, began, ended in (
                (t.stage_intervals, "entered_at", "exited_at"),
                (t.status_intervals, "entered_at", "exited_at"),
                (t.score_history, "at", "valid_to"),
            )
            for row in conn.execute(select(table.c[began], table.c[ended]))
            for moment in row
            if moment is not None
        )
        organisation, country = conn.execute(select(t.innovations.c.organisation_id, t.innovations.c.country)).first()
        # The stages and statuses the history reached, each with when it was first entered.
        first = {
            value: entered
            for table, column in ((t.stage_intervals, "stage"), (t.status_intervals, "status"))
            for value, entered in conn.execute(
                select(table.c[column], func.min(table.c.entered_at)).group_by(table.c[column])
            )
        }
        stages = sorted(set(conn.scalars(select(t.stage_intervals.c.stage))))
        statuses = sorted(set(conn.scalars(select(t.status_intervals.c.status))))
        scores = sorted(conn.scalars(select(t.score_history.c.value)))
    assert len(stages) >= 3
    assert len(statuses) >= 3
    assert len(scores) > 10
    middle = scores[len(scores) // 2]  # MPIs either side of the middle score filter
    instants = {moments[0] - ONE, *first.values()}
    for moment in moments[::50]:
        instants.update({moment - ONE, moment, moment + ONE})
    filters: list[dict[str, Any]] = [{}]
    filters += [{"stage": stage} for stage in stages] + [{"status": status} for status in statuses]
    filters += [
        {"stage": stages[1], "status": statuses[0]},
        {"theme": "Green Skills "},
        {"theme": "badges", "stage": stages[1]},
        {"country": country, "min_mpi": middle},
        {"organisation_id": organisation, "max_mpi": middle},
        {"max_mpi": middle},
        {"q": "title", "status": "active"},
    ]
    listed = {repr(chosen): 0 for chosen in filters}
    with read_model.reader.connect() as conn:
        for at in sorted(instants):
            for chosen in filters:
                f = InnovationFilter(as_of=at.replace(tzinfo=UTC), **chosen)
                others = [sort for sort in SORTS if sort not in ("mpi", "-mpi")]
                for sort in ["mpi", "-mpi", *rng.sample(others, 3)]:
                    listed[repr(chosen)] += _pages_agree(conn, f, sort, page_size=3)
    assert all(listed.values()), listed  # every filter had rows at some instant


@pytest.mark.parametrize("clock", [Clock, SteppingBack], ids=["clock-in-order", "clock-stepping-back"])
def test_a_page_of_one_stage_by_mpi_walks_the_score_history_where_that_is_enough(
    read_model: ReadModel, clock: type[Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of one stage or status sorted by MPI come from walking the score history in MPI order (_walked) where
    the walk reaches the page's end, and from sorting the whole stage where it does not (the last pages, the
    unscored): both as the general query pages them."""
    rng = random.Random(43)
    read_model.app.clock = clock(rng)
    random_history(build_world(read_model.app), rng, steps=600)
    read_model.catch_up()
    walks: list[bool] = []
    walked = innovations._walked

    def counted(*args: Any) -> Any:
        found = walked(*args)
        walks.append(found is not None)
        return found

    monkeypatch.setattr(innovations, "_walked", counted)
    with read_model.reader.connect() as conn:
        last = conn.execute(select(func.max(t.score_history.c.at))).scalar_one()
        instants = [last - timedelta(days=days) for days in (0, 20, 60, 150)] + [last + ONE]
        for at in instants:
            for chosen in ({"stage": "identification"}, {"stage": "testing"}, {"status": "active"}):
                f = InnovationFilter(as_of=at.replace(tzinfo=UTC), **chosen)
                for sort in ("-mpi", "mpi"):
                    _pages_agree(conn, f, sort, page_size=2)
    assert walks.count(True) > 20
    assert walks.count(False) > 20


def _pages_agree(conn: Connection, f: InnovationFilter, sort: str, page_size: int) -> int:
    """Page through `f` as a caller who sees everything and as a scope that sees everything, but a scope (the
    general query), asserting each page and total alike; returns how many rows were listed."""
    general, page, listed = Scope(where=true()), 1, 0
    while True:
        fast = list_innovations(conn, f, sort=sort, page=page, page_size=page_size)
        slow = list_innovations(conn, f, sort=sort, page=page, page_size=page_size, scope=general)
        assert fast.total == slow.total, (f, sort)
        assert fast.items == slow.items, (f, sort, page)
        listed += len(fast.items)
        if len(fast.items) < page_size:
            return listed
        page += 1
