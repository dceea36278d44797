"""The funnel over time: innovations per stage and per status at the start of each month (or quarter, or year) of a
span, in one statement. Each point is what `analytics.funnel` answers as of that instant. And the score groups over
time: at each point, the largest groups' scored innovations and mean MPI, as `analytics.score_groups` answers then.

An interval is open at a boundary b (a month's first instant) when it was entered at or before b and not exited by
then. Counted by month: what was entered in the months before b's, less what was exited in them, plus what was
entered exactly at b, less what was exited exactly at b. The whole portfolio takes its monthly changes from the
daily counts (`rm_funnel_days`); a filtered one from its own intervals. The exact instants come from the intervals'
as-of indexes."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from itertools import accumulate
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Integer, String, and_, case, cast, func, literal, or_, select, union_all

from projections import tables as t
from projections.queries.analytics import GROUPS, interval_tables, largest, mean_of, scope_conditions
from projections.queries.facets import names
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
        running = list(accumulate((cells.get(month, 0) for month in span), initial=before))
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


def score_series(
    conn: Connection, *, group_by: str, start: date, end: date, step: str = "month", top: int = 12
) -> dict[str, Any]:
    """The score groups of the whole portfolio at each boundary of the span: the `top` largest groups (most scored
    innovations, then by key) with their mean MPI, and the rest together (`others`, exact from their sums).

    Each group's count and sum at a boundary are its monthly changes before the boundary's month
    (`rm_group_months`) plus the score history's rows that began or ended exactly at it."""
    if step not in STEPS:
        raise ValueError(f"step must be one of {', '.join(STEPS)}")
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    points = boundaries(start, end, step)
    if not points:
        return {"group_by": group_by, "step": step, "points": []}
    gm = t.group_months
    monthly: dict[str, list[tuple[date, int, int]]] = defaultdict(list)
    rows = conn.execute(
        select(gm.c.key, gm.c.month, gm.c.entered - gm.c.exited, gm.c.entered_hundredths - gm.c.exited_hundredths)
        .where(gm.c.group_by == group_by, gm.c.month < points[-1].date())
        .order_by(gm.c.key, gm.c.month)
    )
    for key, month, n, hundredths in rows:
        monthly[key].append((month, int(n), int(hundredths)))
    # Per point, per group: [scored innovations, sum of their MPIs in hundredths].
    at_point: list[dict[str, list[int]]] = [{} for _ in points]
    for key, changes in monthly.items():
        n = hundredths = seen = 0
        for index, at in enumerate(points):
            while seen < len(changes) and changes[seen][0] < at.date():
                n, hundredths, seen = n + changes[seen][1], hundredths + changes[seen][2], seen + 1
            if n or hundredths:
                at_point[index][key] = [n, hundredths]
    index_of = {at: index for index, at in enumerate(points)}
    for key, began, ended, value in conn.execute(_changed_at(group_by, points)):
        for moment, sign in ((began, 1), (None if ended is None else max(began, ended), -1)):
            if moment in index_of:
                cell = at_point[index_of[moment]].setdefault(str(key), [0, 0])
                cell[0] += sign
                cell[1] += sign * round(value * 100)
    answer = []
    shown: set[str] = set()
    for at, groups in zip(points, at_point, strict=True):
        top_groups, others = largest([(k, n, h) for k, (n, h) in groups.items() if n > 0], top)
        shown.update(k for k, _, _ in top_groups)
        listed = [{"key": k, "innovations": n, "mean_mpi": mean_of(h, n)} for k, n, h in top_groups]
        answer.append({"at": at, "groups": listed, "others": others})
    labels = names(conn, group_by, sorted(shown))
    for point in answer:
        for group in point["groups"]:
            group["label"] = labels.get(group["key"], group["key"])
    return {"group_by": group_by, "step": step, "points": answer}


def _changed_at(group_by: str, points: list[datetime]) -> Any:
    """The score history's rows (group key, began, ended, MPI) that began or ended exactly at one of the points; a
    row whose end was recorded before its beginning (a wall clock can go back) ends at its beginning."""
    i, sh = t.innovations, t.score_history
    source: Any = sh.join(i, i.c.id == sh.c.innovation_id)
    conditions: list[Any] = []
    if group_by == "theme":
        th = t.innovation_themes
        source = source.join(th, th.c.innovation_id == i.c.id)
        key: Any = th.c.theme
    elif group_by == "country":
        key = i.c.country
    elif group_by == "ecosystem":
        key = i.c.ecosystem_id
        conditions.append(key.is_not(None))
    else:
        key = i.c.organisation_id
    began, ended = sh.c.at, sh.c.valid_to
    changed = or_(began.in_(points), and_(ended.in_(points), ended >= began))
    return select(key, began, ended, sh.c.value).select_from(source).where(changed, *conditions)
