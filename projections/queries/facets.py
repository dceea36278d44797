"""Filter choices with counts: the countries, themes, ecosystems and organisations of the innovations a caller may
see, now or as they stood at an instant.

Each facet counts the innovations the other filters keep; its own filter is left out, so that choosing a country
still offers the others, with what they would show. A facet lists its values most innovations first, as many as
`limit`, with the number of values it has in all (`total`); `q` keeps the values whose label contains it (the
dashboard's type-ahead for the long lists)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import Connection, Select, and_, bindparam, exists, func, select

from projections import tables as t
from projections.queries import EVERYTHING, Scope, contains, naive
from projections.running_counts import month_of

FACETS = ("country", "theme", "ecosystem", "organisation")
LIMIT_MAX = 500


def facets(
    conn: Connection,
    *,
    as_of: datetime | None = None,
    ecosystem_id: UUID | None = None,
    organisation_id: UUID | None = None,
    country: str | None = None,
    theme: str | None = None,
    q: str | None = None,
    only: str | None = None,
    limit: int = 100,
    visible: Scope = EVERYTHING,
) -> dict[str, Any]:
    """The facets (or `only` one), each {"items": [{"key", "label", "innovations"}], "total"}."""
    if only is not None and only not in FACETS:
        raise ValueError(f"facet must be one of {', '.join(FACETS)}")
    i = t.innovations
    at = naive(as_of) if as_of is not None else None
    seen = visible.conditions() if at is None else visible.as_of(at)
    theme_key = theme.strip().lower() if theme else None
    filters = {
        "country": i.c.country == country if country else None,
        "theme": _has_theme(theme_key) if theme_key else None,
        "ecosystem": i.c.ecosystem_id == ecosystem_id if ecosystem_id else None,
        "organisation": i.c.organisation_id == organisation_id if organisation_id else None,
    }
    found = {}
    for facet in FACETS if only is None else (only,):
        others = [condition for name, condition in filters.items() if name != facet and condition is not None]
        found[facet] = _facet(conn, facet, [*seen, *others], at, q, limit)
    return {"as_of": as_of, "facets": found}


def _has_theme(theme: str) -> Any:
    th = t.innovation_themes
    return exists().where(th.c.innovation_id == t.innovations.c.id, th.c.theme == theme)


def _facet(
    conn: Connection, facet: str, conditions: list[Any], at: datetime | None, q: str | None, limit: int
) -> dict[str, Any]:
    """One facet's values, most first, with the number of values beside each row: from the running counts for the
    whole portfolio now, else counted in one statement grouped by key from an index (the key and the submission
    time). The labels of ecosystems and organisations are read for the rows returned only."""
    if not conditions and not q:
        return _counted(conn, facet, limit) if at is None else _counted_as_of(conn, facet, at, limit)
    i = t.innovations
    source: Any = i
    submitted = i.c.submitted_at
    if facet == "theme":
        th = t.innovation_themes
        # With nothing else to filter by, the themes' own index answers alone.
        source = th.join(i, i.c.id == th.c.innovation_id) if conditions else th
        key, submitted = th.c.theme, th.c.submitted_at
    else:
        key = {"country": i.c.country, "ecosystem": i.c.ecosystem_id, "organisation": i.c.organisation_id}[facet]
    if at is not None:
        conditions = [*conditions, submitted <= at]
    named = _names(facet)
    if q:
        if named is None:
            conditions = [*conditions, contains(func.lower(key), q)]
        else:
            table, _, searched = named
            conditions = [*conditions, key.in_(select(table.c.id).where(contains(searched, q)))]
    if facet == "ecosystem":
        conditions = [*conditions, key.is_not(None)]
    n = func.count()
    grouped = (
        select(key.label("key"), n.label("innovations"), func.count().over().label("total"))
        .select_from(source)
        .where(*conditions)
        .group_by(key)
        .order_by(n.desc(), _ordered_by_key(key, conn.dialect.name))
        .limit(min(max(limit, 1), LIMIT_MAX))
    )
    return _labelled(conn, facet, conn.execute(grouped).all())


def _counted(conn: Connection, facet: str, limit: int) -> dict[str, Any]:
    """The whole portfolio now, from the facets' running counts (projections.running_counts.count_facets)."""
    fc = t.facet_counts
    rows = conn.execute(
        select(fc.c.key, fc.c.innovations, func.count().over().label("total"))
        .where(fc.c.facet == facet)
        .order_by(fc.c.innovations.desc(), _ordered_by_key(fc.c.key, conn.dialect.name))
        .limit(min(max(limit, 1), LIMIT_MAX))
    ).all()
    return _labelled(conn, facet, rows)


def _counted_as_of(conn: Connection, facet: str, at: datetime, limit: int) -> dict[str, Any]:
    """The whole portfolio as of `at`, from the running counts by month (projections.running_counts.count_facets):
    the months before `at`'s, plus that month's submissions up to `at` counted one by one (none, at a month's first
    instant)."""
    fm, i = t.facet_months, t.innovations
    month = month_of(at)
    before = select(fm.c.key, func.sum(fm.c.innovations)).where(fm.c.facet == facet, fm.c.month < month)
    found: Counter[str] = Counter({key: int(n) for key, n in conn.execute(before.group_by(fm.c.key))})
    since = and_(i.c.submitted_at >= datetime.combine(month, time()), i.c.submitted_at <= at)
    if facet == "theme":
        th = t.innovation_themes
        recent: Any = select(th.c.theme).select_from(th.join(i, i.c.id == th.c.innovation_id)).where(since)
    else:
        column = {"country": i.c.country, "ecosystem": i.c.ecosystem_id, "organisation": i.c.organisation_id}[facet]
        recent = select(column).where(since, column.is_not(None))
    found.update(str(key) for key in conn.scalars(recent))
    # Most first, ties in the keys' order of code points, as _ordered_by_key has the database order them.
    ranked = sorted(((key, n) for key, n in found.items() if n > 0), key=lambda kn: (-kn[1], kn[0]))
    rows = [_Row(key, n, len(ranked)) for key, n in ranked[: min(max(limit, 1), LIMIT_MAX)]]
    return _labelled(conn, facet, rows)


class _Row(NamedTuple):
    key: str
    innovations: int
    total: int


def _ordered_by_key(column: Any, dialect: str) -> Any:
    """A facet's key to break ties by, in the order of its characters' code points whatever the database's
    collation (SQLite compares text so already; ids compare as their text does)."""
    if dialect == "postgresql" and column.type.python_type is str:
        return column.collate("C")
    return column


def _submitted_by() -> Select[Any]:
    fm, i = t.facet_months, t.innovations
    before = select(func.coalesce(func.sum(fm.c.innovations), 0)).where(
        fm.c.facet == "country", fm.c.month < bindparam("month")
    )
    since = select(func.count()).where(
        i.c.submitted_at >= bindparam("month_began"), i.c.submitted_at <= bindparam("at")
    )
    return select(before.scalar_subquery() + since.scalar_subquery())


# Read with every step of the dashboard's slider: built once, as the page it counts for (see _by_score_statements).
_SUBMITTED_BY = _submitted_by()


def submitted_by(conn: Connection, at: datetime) -> int:
    """How many innovations were submitted by `at` (naive UTC), from the countries' running counts by month (every
    innovation counts in one country) and that month's submissions up to `at`."""
    month = month_of(at)
    values = {"month": month, "month_began": datetime.combine(month, time()), "at": at}
    return int(conn.execute(_SUBMITTED_BY, values).scalar_one())


def _labelled(conn: Connection, facet: str, rows: list[Any]) -> dict[str, Any]:
    """A facet's rows (key, innovations, total) as its answer, the ecosystems' and organisations' ids named (read
    for these rows only). A key is an id, or its text from the running counts."""
    labels = names(conn, facet, [str(r.key) for r in rows])
    items = [
        {"key": str(r.key), "label": labels.get(str(r.key), str(r.key)), "innovations": r.innovations} for r in rows
    ]
    return {"items": items, "total": rows[0].total if rows else 0}


def names(conn: Connection, facet: str, keys: list[str]) -> dict[str, str]:
    """The labels of an ecosystem or organisation facet's keys (ids as text), read for these keys only; none for
    the facets whose keys are their own labels."""
    named = _names(facet)
    if named is None or not keys:
        return {}
    table, label, _ = named
    ids = [UUID(key) for key in keys]
    return {str(k): v for k, v in conn.execute(select(table.c.id, label).where(table.c.id.in_(ids))).all()}


def _names(facet: str) -> tuple[Any, Any, Any] | None:
    """Where a facet's labels are kept, for those whose key is an id: the table, the label, and what `q` searches
    (an ecosystem's acronym, title and project number; an organisation's name)."""
    if facet == "ecosystem":
        return t.ecosystems, t.ecosystems.c.acronym, t.ecosystems.c.search_text
    if facet == "organisation":
        return t.organisations, t.organisations.c.name, t.organisations.c.name_key
    return None
