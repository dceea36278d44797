"""The funnel over time: innovations per stage and per status at the start of each month (or quarter, or year) of a
span, in one statement. Each point is what `analytics.funnel` answers as of that instant.

An interval is open at a boundary b (a month's first instant) when it was entered at or before b and not exited by
then. Counted by month: what was entered in the months before b's, less what was exited in them, plus what was
entered exactly at b, less what was exited exactly at b. The whole portfolio takes its monthly changes from the
daily counts (`rm_funnel_days`); a filtered one from its own intervals. The exact instants come from the intervals'
as-of indexes."""

from __future__ import annotations

from datetime import date, datetime
from itertools import accumulate
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Integer, String, and_, case, cast, func, literal, or_, select, union_all

from projections import tables as t
from projections.queries.analytics import interval_tables, scope_conditions
from tracker.stages import STAGES, STATUSES

STEPS = {"month": 1, "quarter": 3, "year": 12}
MAX_POINTS = 1200


def boundaries(start: date, end: date, step: str) -> list[datetime]:
    """The first instants of the steps from the first at or after `start` to the last at or before `end`."""
    months = STEPS[step]
    index = start.year * 12 + start.month - 1
    if start.day > 1:
        index += 1
    index += -index % months  # quarters start in January, April, July and October; years in January
    found = []
    while True:
        at = datetime(index // 12, index % 12 + 1, 1)
        if at.date() > end:
            return found
        found.append(at)
        if len(found) > MAX_POINTS:
            raise ValueError(f"a series has at most {MAX_POINTS} points; choose a longer step or a shorter span")
        index += months


def funnel_series(
    conn: Connection,
    *,
    start: date,
    end: date,
    step: str = "month",
    ecosystem_id: UUID | None = None,
    country: str | None = None,
    theme: str | None = None,
    organisation_id: UUID | None = None,
) -> dict[str, Any]:
    """The funnel at each boundary of the span (naive UTC instants), for the whole portfolio or the filtered part."""
    if step not in STEPS:
        raise ValueError(f"step must be one of {', '.join(STEPS)}")
    points = boundaries(start, end, step)
    if not points:
        return {"step": step, "points": []}
    scope = scope_conditions(ecosystem_id, country, theme, organisation_id=organisation_id)
    rows = conn.execute(_changes(conn.dialect.name, scope, points)).all()
    # Per dimension and value: the net change of each month, and the corrections at each boundary's own instant.
    monthly: dict[tuple[str, str], dict[int, int]] = {}
    exact: dict[tuple[str, str], dict[int, int]] = {}
    for dimension, value, month, at_boundary, n in rows:
        target = exact if at_boundary else monthly
        cells = target.setdefault((dimension, value), {})
        cells[int(month)] = cells.get(int(month), 0) + int(n)
    first = _month_index(points[0])
    # What changed before the first boundary's month counts as one lump, then month by month.
    answer = []
    for at in points:
        answer.append({"at": at, "stages": dict.fromkeys(STAGES, 0), "statuses": dict.fromkeys(STATUSES, 0)})
    for (dimension, value), cells in monthly.items():
        key = "stages" if dimension == "stage" else "statuses"
        before = sum(n for month, n in cells.items() if month < first)
        span = range(first, _month_index(points[-1]))
        running = [before, *accumulate(cells.get(month, 0) for month in span)]
        for point in answer:
            point[key][value] = point[key].get(value, 0) + running[_month_index(point["at"]) - first]
    for (dimension, value), cells in exact.items():
        key = "stages" if dimension == "stage" else "statuses"
        for point in answer:
            point[key][value] = point[key].get(value, 0) + cells.get(_month_index(point["at"]), 0)
    return {"step": step, "points": answer}


def first_day(conn: Connection) -> date | None:
    """The day of the portfolio's first submission (where a series starts by default)."""
    first = conn.execute(select(func.min(t.innovations.c.submitted_at))).scalar_one()
    return first.date() if first is not None else None


def _month_index(moment: datetime | date) -> int:
    return moment.year * 12 + moment.month - 1


def _month(column: Any, dialect: str) -> Any:
    """A time's month as one number (year × 12 + month − 1)."""
    if dialect == "postgresql":
        year, month = func.extract("year", column), func.extract("month", column)
    else:
        year, month = func.strftime("%Y", column), func.strftime("%m", column)
    return cast(year, Integer) * 12 + cast(month, Integer) - 1


def _changes(dialect: str, scope: list[Any], points: list[datetime]) -> Any:
    """One statement: (dimension, value, month, at a boundary?, net change) for the months before the last
    boundary's, and for the intervals entered or exited exactly at a boundary.

    An interval whose exit was recorded before its entry (a wall clock can go back) was never open: its exit counts
    at its entry, as in the daily counts."""
    i = t.innovations
    parts: list[Any] = []
    last = points[-1]
    if not scope:
        fd = t.funnel_days
        month = _month(fd.c.day, dialect)
        net = func.sum(fd.c.entered - fd.c.exited)
        parts.append(
            select(fd.c.dimension, fd.c.value, month, literal(0), net)
            .where(fd.c.day < last.date())
            .group_by(fd.c.dimension, fd.c.value, month)
        )
    for dimension, table, column in interval_tables():
        label = literal(dimension, String)
        source = table.join(i, i.c.id == table.c.innovation_id) if scope else table
        entered, exited = table.c.entered_at, table.c.exited_at
        left = (func.greatest if dialect == "postgresql" else func.max)(entered, exited)
        left = case((exited.is_(None), None), else_=left)
        if scope:
            for moment, sign in ((entered, 1), (left, -1)):
                month = _month(moment, dialect)
                parts.append(
                    select(label, column, month, literal(0), sign * func.count())
                    .select_from(source)
                    .where(moment.is_not(None), moment < last, *scope)  # PostgreSQL's greatest() skips a NULL
                    .group_by(column, month)
                )
        exact_exit = or_(and_(exited.in_(points), exited >= entered), and_(entered.in_(points), exited < entered))
        for moment, sign, exactly in ((entered, 1, entered.in_(points)), (left, -1, exact_exit)):
            month = _month(moment, dialect)
            parts.append(
                select(label, column, month, literal(1), sign * func.count())
                .select_from(source)
                .where(exactly, *scope)
                .group_by(column, month)
            )
    return union_all(*parts)
