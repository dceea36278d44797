"""Portfolio analytics: funnel, stage durations and score groups, now or as of an instant."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, String, and_, case, exists, func, literal, literal_column, or_, select, union_all

from projections import tables as t
from projections.queries import naive, percentile
from tracker.stages import STAGES, STATUSES

GROUPS = ("theme", "country", "ecosystem", "organisation")


def _scope(ecosystem_id: UUID | None, country: str | None, theme: str | None) -> list[Any]:
    i = t.innovations
    conditions: list[Any] = []
    if ecosystem_id:
        conditions.append(i.c.ecosystem_id == ecosystem_id)
    if country:
        conditions.append(i.c.country == country)
    if theme:
        th = t.innovation_themes
        conditions.append(exists().where(th.c.innovation_id == i.c.id, th.c.theme == theme.strip().lower()))
    return conditions


def _open_at(table: Any, at: datetime) -> Any:
    return and_(table.c.entered_at <= at, or_(table.c.exited_at.is_(None), table.c.exited_at > at))


def funnel(
    conn: Connection,
    *,
    as_of: datetime | None = None,
    ecosystem_id: UUID | None = None,
    country: str | None = None,
    theme: str | None = None,
) -> dict[str, Any]:
    """Innovations per stage and per status, now or as they stood at `as_of`."""
    i = t.innovations
    scope = _scope(ecosystem_id, country, theme)
    if as_of is None:
        stage_rows = conn.execute(select(i.c.stage, func.count()).where(*scope).group_by(i.c.stage)).all()
        status_rows = conn.execute(select(i.c.status, func.count()).where(*scope).group_by(i.c.status)).all()
        counts = {"stage": dict(stage_rows), "status": dict(status_rows)}
    elif scope:
        counts = open_intervals(conn, naive(as_of), scope)
    else:
        counts = portfolio_open_intervals(conn, naive(as_of))
    return {
        "as_of": as_of,
        "stages": dict.fromkeys(STAGES, 0) | counts["stage"],
        "statuses": dict.fromkeys(STATUSES, 0) | counts["status"],
    }


def _interval_tables() -> tuple[tuple[str, Any, Any], ...]:
    si, st = t.stage_intervals, t.status_intervals
    return ("stage", si, si.c.stage), ("status", st, st.c.status)


def open_intervals(conn: Connection, at: datetime, scope: list[Any] | None = None) -> dict[str, dict[str, int]]:
    """Stage and status intervals open at `at` (naive UTC), per stage and status, counted one by one."""
    i = t.innovations
    counts: dict[str, dict[str, int]] = {}
    for dimension, table, column in _interval_tables():
        # The innovations table is joined only to filter by scope: the whole portfolio needs the intervals alone.
        source = table.join(i, i.c.id == table.c.innovation_id) if scope else table
        # Grouping by an expression rather than the bare column keeps SQLite from walking the whole (stage, …)
        # index in group order; it then reads only the intervals entered before `at` from the as-of index.
        key = column.concat(literal_column("''"))
        query = select(key, func.count()).select_from(source).where(_open_at(table, at), *(scope or [])).group_by(key)
        counts[dimension] = {k: v for k, v in conn.execute(query).all()}
    return counts


def portfolio_open_intervals(conn: Connection, at: datetime) -> dict[str, dict[str, int]]:
    """The same counts as `open_intervals` for the whole portfolio, from the daily counts and `at`'s day alone.

    Open at `at` = entered before its day and not exited before it (the daily counts), less those exited on that
    day up to `at`, plus those entered on that day up to `at` and still open then (both from the intervals)."""
    day = at.date()
    midnight = datetime.combine(day, time())
    fd = t.funnel_days
    parts: list[Any] = [
        select(fd.c.dimension, fd.c.value, func.sum(fd.c.entered - fd.c.exited))
        .where(fd.c.day < day)
        .group_by(fd.c.dimension, fd.c.value)
    ]
    for dimension, table, column in _interval_tables():
        label = literal(dimension, String)
        entered = and_(table.c.entered_at >= midnight, _open_at(table, at))
        exited = and_(table.c.exited_at >= midnight, table.c.exited_at <= at, table.c.entered_at < midnight)
        parts.append(select(label, column, func.count()).where(entered).group_by(column))
        parts.append(select(label, column, -func.count()).where(exited).group_by(column))
    counts: dict[str, dict[str, int]] = {"stage": {}, "status": {}}
    for dimension, value, n in conn.execute(union_all(*parts)).all():
        counts[dimension][value] = counts[dimension].get(value, 0) + int(n)
    return counts


def stage_durations(
    conn: Connection, *, ecosystem_id: UUID | None = None, country: str | None = None, theme: str | None = None
) -> dict[str, Any]:
    """Median and 90th percentile of completed stays per stage, in days."""
    i, si = t.innovations, t.stage_intervals
    rows = conn.execute(
        select(si.c.stage, si.c.duration_days)
        .select_from(si.join(i, i.c.id == si.c.innovation_id))
        .where(si.c.duration_days.is_not(None), *_scope(ecosystem_id, country, theme))
        .order_by(si.c.stage, si.c.duration_days)
    ).all()
    by_stage: dict[str, list[float]] = defaultdict(list)
    for stage, days in rows:
        by_stage[stage].append(days)
    result = {}
    for stage in STAGES[:-1]:
        values = by_stage.get(stage, [])
        median, p90 = percentile(values, 0.5), percentile(values, 0.9)
        result[stage] = {
            "count": len(values),
            "median_days": round(median, 2) if median is not None else None,
            "p90_days": round(p90, 2) if p90 is not None else None,
        }
    return {"stages": result}


def score_groups(conn: Connection, *, group_by: str, as_of: datetime | None = None) -> dict[str, Any]:
    """Mean and median consolidated MPI per theme, country, ecosystem or organisation (scored innovations only)."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    i = t.innovations
    if as_of is None:
        value = i.c.mpi_value
        source: Any = i
        conditions: list[Any] = [i.c.mpi_value.is_not(None)]
    else:
        at = naive(as_of)
        sh = t.score_history
        value = sh.c.value
        source = i.join(
            sh, and_(sh.c.innovation_id == i.c.id, sh.c.at <= at, or_(sh.c.valid_to.is_(None), sh.c.valid_to > at))
        )
        conditions = []
    if group_by == "theme":
        th = t.innovation_themes
        source = source.join(th, th.c.innovation_id == i.c.id)
        key, label = th.c.theme, th.c.theme
    elif group_by == "country":
        key, label = i.c.country, i.c.country
    elif group_by == "ecosystem":
        key, label = i.c.ecosystem_id, i.c.ecosystem_acronym
        conditions.append(i.c.ecosystem_id.is_not(None))
    else:
        key, label = i.c.organisation_id, i.c.organisation_name
    # Count, mean and median are computed by the database: the median is the mean of the one or two middle values
    # of each group, found with window functions, so no per-innovation row leaves the database.
    values = select(key.label("k"), label.label("l"), value.label("v")).select_from(source).where(*conditions)
    ranked = values.add_columns(
        func.row_number().over(partition_by=key, order_by=value).label("rn"),
        func.count().over(partition_by=key).label("n"),
    ).subquery()
    middle = ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
    rows = conn.execute(
        select(
            ranked.c.k,
            func.min(ranked.c.l),
            func.count(),
            func.avg(ranked.c.v),
            func.avg(case((middle, ranked.c.v))),
        ).group_by(ranked.c.k)
    ).all()
    items = [
        {
            "key": str(k),
            "label": lbl,
            "innovations": n,
            "mean_mpi": round(float(mean), 2),
            "median_mpi": round(float(median), 2),
        }
        for k, lbl, n, mean, median in rows
    ]
    return {"group_by": group_by, "as_of": as_of, "items": sorted(items, key=lambda item: item["key"])}
