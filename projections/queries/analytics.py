"""Portfolio analytics: funnel, stage durations and score groups, now or as of an instant."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Connection,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    not_,
    select,
    union_all,
)

from projections import tables as t
from projections.clock import utc_now
from projections.queries import EVERYTHING, Scope, naive, open_at, percentile, scored_at
from projections.running_counts import BANDS, band_of, month_of
from tracker.stages import STAGES, STATUSES

GROUPS = ("theme", "country", "ecosystem", "organisation")


def scope_conditions(
    ecosystem_id: UUID | None,
    country: str | None,
    theme: str | None,
    visible: list[Any] | None = None,
    organisation_id: UUID | None = None,
) -> list[Any]:
    """The filters, plus the conditions of what the caller may see (access.policy): no count includes an innovation
    they may not."""
    i = t.innovations
    conditions: list[Any] = list(visible or [])
    if ecosystem_id:
        conditions.append(i.c.ecosystem_id == ecosystem_id)
    if organisation_id:
        conditions.append(i.c.organisation_id == organisation_id)
    if country:
        conditions.append(i.c.country == country)
    if theme:
        th = t.innovation_themes
        conditions.append(exists().where(th.c.innovation_id == i.c.id, th.c.theme == theme.strip().lower()))
    return conditions


def funnel(
    conn: Connection,
    *,
    as_of: datetime | None = None,
    ecosystem_id: UUID | None = None,
    country: str | None = None,
    theme: str | None = None,
    visible: Scope = EVERYTHING,
    organisation_id: UUID | None = None,
) -> dict[str, Any]:
    """Innovations per stage and per status, now or as they stood at `as_of`."""
    i = t.innovations
    seen = visible.conditions() if as_of is None else visible.as_of(naive(as_of))
    scope = scope_conditions(ecosystem_id, country, theme, seen, organisation_id)
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


def interval_tables() -> tuple[tuple[str, Any, Any], ...]:
    si, st = t.stage_intervals, t.status_intervals
    return ("stage", si, si.c.stage), ("status", st, st.c.status)


def open_intervals(conn: Connection, at: datetime, scope: list[Any] | None = None) -> dict[str, dict[str, int]]:
    """Stage and status intervals open at `at` (naive UTC), per stage and status, counted one by one."""
    i = t.innovations
    counts: dict[str, dict[str, int]] = {}
    for dimension, table, column in interval_tables():
        # The innovations table is joined only to filter by scope: the whole portfolio needs the intervals alone.
        source = table.join(i, i.c.id == table.c.innovation_id) if scope else table
        # Grouping by an expression rather than the bare column keeps SQLite from walking the whole (stage, …)
        # index in group order; it then reads only the intervals entered before `at` from the as-of index.
        key = column.concat(literal_column("''"))
        query = select(key, func.count()).select_from(source).where(open_at(table, at), *(scope or [])).group_by(key)
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
    for dimension, table, column in interval_tables():
        label = literal(dimension, String)
        entered = and_(table.c.entered_at >= midnight, open_at(table, at))
        exited = and_(table.c.exited_at >= midnight, table.c.exited_at <= at, table.c.entered_at < midnight)
        parts.append(select(label, column, func.count()).where(entered).group_by(column))
        parts.append(select(label, column, -func.count()).where(exited).group_by(column))
    counts: dict[str, dict[str, int]] = {"stage": {}, "status": {}}
    for dimension, value, n in conn.execute(union_all(*parts)).all():
        counts[dimension][value] = counts[dimension].get(value, 0) + int(n)
    return counts


def stage_durations(
    conn: Connection,
    *,
    ecosystem_id: UUID | None = None,
    country: str | None = None,
    theme: str | None = None,
    visible: Scope = EVERYTHING,
    organisation_id: UUID | None = None,
) -> dict[str, Any]:
    """Median and 90th percentile of completed stays per stage, in days."""
    i, si = t.innovations, t.stage_intervals
    scope = scope_conditions(ecosystem_id, country, theme, visible.conditions(), organisation_id)
    if not scope:
        return _portfolio_durations(conn)
    rows = conn.execute(
        select(si.c.stage, si.c.duration_days)
        .select_from(si.join(i, i.c.id == si.c.innovation_id))
        .where(
            si.c.duration_days.is_not(None),
            *scope,
        )
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


def mpi_distribution(
    conn: Connection,
    *,
    as_of: datetime | None = None,
    ecosystem_id: UUID | None = None,
    country: str | None = None,
    theme: str | None = None,
    visible: Scope = EVERYTHING,
    organisation_id: UUID | None = None,
) -> dict[str, Any]:
    """Scored innovations per band of ten MPI points (0–10, …, 90–100; 100 in the last), now or as of an instant;
    an MPI hidden from the caller (blind review) is left out."""
    i = t.innovations
    scope = scope_conditions(ecosystem_id, country, theme, None, organisation_id)
    if as_of is not None and not scope and not visible.restricted and visible.then is None:
        return _distribution_then(conn, as_of)
    if as_of is None:
        value: Any = i.c.mpi_value
        source: Any = i
        seen = visible.conditions()
    else:
        at = naive(as_of)
        sh = t.score_history
        source = i.join(sh, and_(sh.c.innovation_id == i.c.id, scored_at(sh, at)))
        value, seen = sh.c.value, visible.as_of(at)
    conditions = [value.is_not(None), *scope_conditions(ecosystem_id, country, theme, seen, organisation_id)]
    if visible.mpi_hidden is not None:
        conditions.append(not_(visible.mpi_hidden))
    band = band_of(value)
    counts = dict(conn.execute(select(band, func.count()).select_from(source).where(*conditions).group_by(band)).all())
    return _bands(as_of, counts)


def _bands(as_of: datetime | None, counts: dict[int, int]) -> dict[str, Any]:
    return {
        "as_of": as_of,
        "bands": [{"start": n * 10, "end": n * 10 + 10, "innovations": int(counts.get(n, 0))} for n in range(BANDS)],
    }


def _distribution_then(conn: Connection, as_of: datetime) -> dict[str, Any]:
    """The whole portfolio's distribution as of an instant, from the running counts by month: the score history's
    rows that began before the instant's month less those that ended before it, then that month's own changes up to
    the instant from the history's indexes (as `portfolio_open_intervals` does by day)."""
    at = naive(as_of)
    month = month_of(at)
    start = datetime.combine(month, time())
    bm, sh = t.band_months, t.score_history
    band = band_of(sh.c.value)
    began = and_(sh.c.at >= start, scored_at(sh, at))
    ended = and_(sh.c.valid_to >= start, sh.c.valid_to <= at, sh.c.at < start)
    parts = union_all(
        select(bm.c.band, func.sum(bm.c.entered - bm.c.exited)).where(bm.c.month < month).group_by(bm.c.band),
        select(band, func.count()).where(began).group_by(band),
        select(band, -func.count()).where(ended).group_by(band),
    )
    counts: dict[int, int] = {}
    for n, change in conn.execute(parts).all():
        counts[int(n)] = counts.get(int(n), 0) + int(change)
    return _bands(as_of, counts)


def _portfolio_durations(conn: Connection) -> dict[str, Any]:
    """The whole portfolio's percentiles read from the (stage, duration) index: each stage's count, then the one or
    two values each percentile interpolates between, found by their rank, without fetching the other stays."""
    si = t.stage_intervals
    completed = si.c.duration_days.is_not(None)
    counts = dict(conn.execute(select(si.c.stage, func.count()).where(completed).group_by(si.c.stage)).all())
    result = {}
    for stage in STAGES[:-1]:
        n = int(counts.get(stage, 0))
        found: dict[str, float | None] = {}
        for name, fraction in (("median_days", 0.5), ("p90_days", 0.9)):
            if not n:
                found[name] = None
                continue
            rank = fraction * (n - 1)
            values = conn.scalars(
                select(si.c.duration_days)
                .where(si.c.stage == stage, completed)
                .order_by(si.c.duration_days)
                .limit(2)
                .offset(int(rank))
            ).all()
            found[name] = round(percentile(list(values), rank - int(rank)) or 0.0, 2)
        result[stage] = {"count": n, **found}
    return {"stages": result}


def score_groups(
    conn: Connection,
    *,
    group_by: str,
    as_of: datetime | None = None,
    visible: Scope = EVERYTHING,
    top: int | None = None,
) -> dict[str, Any]:
    """Mean and median consolidated MPI per theme, country, ecosystem or organisation (scored innovations only).

    MPIs have two decimals, so the sums are taken in exact integer hundredths; the mean and the median (the mean of
    the two middle values of an even group) are then rounded exactly to two decimals, halves to even. The running
    counts serve the whole portfolio; a caller who may see only part of it is answered from the score history.

    With `top`, the answer also names the `top` largest groups (most innovations, then by key) and gives the mean of
    the rest taken together (`others`, exact from their sums), for a chart that cannot label every group."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    if visible.restricted:
        at = naive(as_of) if as_of is not None else utc_now()
        groups = _groups_as_of(conn, group_by, at, visible)
    elif as_of is None:
        groups = _current_groups(conn, group_by)
    else:
        groups = _groups_as_of(conn, group_by, naive(as_of))
    items = [
        {
            "key": str(k),
            "label": lbl,
            "innovations": n,
            "mean_mpi": mean_of(total, n),
            "median_mpi": mean_of(middle_total, middle_n),
        }
        for k, lbl, n, total, middle_total, middle_n in groups
    ]
    answer = {"group_by": group_by, "as_of": as_of, "items": sorted(items, key=lambda item: item["key"])}
    if top is not None:
        shown, answer["others"] = largest([(str(g[0]), g[2], g[3]) for g in groups], top)
        answer["largest"] = [key for key, _, _ in shown]
    return answer


def largest(groups: list[tuple[str, int, int]], top: int) -> tuple[list[tuple[str, int, int]], dict[str, Any] | None]:
    """Of groups (key, scored innovations, sum of their MPIs in hundredths): the `top` largest (most innovations,
    then by key), and the rest together (how many groups, innovations, and their mean MPI), or None."""
    by_size = sorted(groups, key=lambda g: (-g[1], g[0]))
    rest = by_size[top:]
    n, total = sum(g[1] for g in rest), sum(g[2] for g in rest)
    return by_size[:top], ({"groups": len(rest), "innovations": n, "mean_mpi": mean_of(total, n)} if rest else None)


# Per group: key, label, innovations, sum of hundredths, and the sum and number of the middle one or two values.
GroupRow = tuple[Any, str | None, int, int, int, int]


def mean_of(hundredths: int, count: int) -> float:
    """hundredths / count, rounded exactly to a whole hundredth (halves to even, as Python's round), as an MPI."""
    whole, rest = divmod(hundredths, count)
    if 2 * rest > count or (2 * rest == count and whole % 2):
        whole += 1
    return whole / 100


def _current_groups(conn: Connection, group_by: str) -> list[GroupRow]:
    """From the running counts: each group's total, and the values at its middle ranks, found bucket by bucket."""
    g, b, v = t.score_groups, t.score_buckets, t.score_values
    # Each whole-point bucket with the number of the group's values below it.
    below = func.sum(b.c.innovations).over(partition_by=b.c.key, order_by=b.c.bucket, rows=(None, 0)) - b.c.innovations
    buckets = (
        select(b.c.key, b.c.bucket, b.c.innovations, below.label("below")).where(b.c.group_by == group_by).subquery()
    )
    # The middle ranks (from 0) of n values are (n - 1) // 2 and n // 2. Keep the one or two buckets holding them and
    # rank their exact values: the buckets are consecutive, so ranks run on from the lower one's first.
    first = (
        func.min(buckets.c.below).over(partition_by=g.c.key)
        + func.sum(v.c.innovations).over(partition_by=g.c.key, order_by=v.c.hundredths, rows=(None, 0))
        - v.c.innovations
    )
    middle = (
        select(
            g.c.key,
            g.c.label,
            g.c.innovations.label("n"),
            g.c.mpi_hundredths.label("total"),
            v.c.hundredths,
            v.c.innovations,
            first.label("first"),
        )
        .select_from(g)
        .join(buckets, buckets.c.key == g.c.key)
        .join(
            v,
            and_(
                v.c.group_by == group_by,
                v.c.key == g.c.key,
                v.c.hundredths >= buckets.c.bucket * 100,
                v.c.hundredths < buckets.c.bucket * 100 + 100,
            ),
        )
        .where(
            g.c.group_by == group_by,
            buckets.c.below <= g.c.innovations // 2,
            buckets.c.below + buckets.c.innovations > (g.c.innovations - 1) // 2,
        )
        .subquery()
    )
    m = middle.c
    low, high = (and_(m.first <= rank, m.first + m.innovations > rank) for rank in ((m.n - 1) // 2, m.n // 2))
    # One statement, so the totals and the counts come from the same snapshot; one row per group comes back (with
    # a pure-Python driver, every value fetched costs microseconds).
    rows = conn.execute(
        select(
            m.key,
            m.label,
            m.n,
            m.total,
            func.sum(case((low, m.hundredths), else_=0)) + func.sum(case((high, m.hundredths), else_=0)),
            func.count(case((low, 1))) + func.count(case((high, 1))),
        ).group_by(m.key, m.label, m.n, m.total)
    ).all()
    return [
        (k, label, n, int(total), int(middle_total), middle_n) for k, label, n, total, middle_total, middle_n in rows
    ]


def _groups_as_of(conn: Connection, group_by: str, at: datetime, visible: Scope = EVERYTHING) -> list[GroupRow]:
    """From the score history: the values then, ranked per group by window functions (of the innovations the
    caller may see, leaving out those whose MPI is hidden from them)."""
    i, sh = t.innovations, t.score_history
    source: Any = i.join(sh, and_(sh.c.innovation_id == i.c.id, scored_at(sh, at)))
    conditions: list[Any] = visible.as_of(at)
    if visible.mpi_hidden is not None:
        conditions.append(not_(visible.mpi_hidden))
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
    # The median is the mean of the one or two middle values of each group, found with window functions, so no
    # per-innovation row leaves the database.
    value = cast(func.round(sh.c.value * 100), Integer)
    values = select(key.label("k"), label.label("l"), value.label("v")).select_from(source).where(*conditions)
    ranked = values.add_columns(
        func.row_number().over(partition_by=key, order_by=sh.c.value).label("rn"),
        func.count().over(partition_by=key).label("n"),
    ).subquery()
    middle = ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
    rows = conn.execute(
        select(
            ranked.c.k,
            func.min(ranked.c.l),
            func.count(),
            func.sum(ranked.c.v),
            func.sum(case((middle, ranked.c.v), else_=0)),
            func.count(case((middle, 1))),
        ).group_by(ranked.c.k)
    ).all()
    return [(k, lbl, n, int(total), int(middle_total), middle_n) for k, lbl, n, total, middle_total, middle_n in rows]
