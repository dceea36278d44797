"""The innovation portfolio: filtered, sorted, paged lists (now or as of an instant) and per-innovation history."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import (
    BindParameter,
    Connection,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    select,
    type_coerce,
)

from projections import tables as t
from projections.queries import EVERYTHING, Page, Scope, aware, contains, naive, offset, open_at, scored_at
from projections.queries.facets import submitted_by
from tracker.stages import CONFIDENTIAL_STAGES

# Each sort key, ascending and with "-" descending; ties are broken by id, so pages never overlap.
SORTED_BY = ("mpi", "submitted_at", "title", "stage", "status", "country", "ecosystem")
SORTS = tuple(key for name in SORTED_BY for key in (name, f"-{name}"))


@dataclass(frozen=True)
class InnovationFilter:
    stage: str | None = None
    status: str | None = None
    theme: str | None = None
    country: str | None = None
    organisation_id: UUID | None = None
    ecosystem_id: UUID | None = None
    min_mpi: float | None = None
    max_mpi: float | None = None
    q: str | None = None
    as_of: datetime | None = None


def _masked(cols: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """The MPI columns as the caller may see them: none where the scope hides the MPI (a blind evaluator)."""
    if scope.mpi_hidden is None:
        return cols
    hidden = scope.mpi_hidden
    return cols | {
        "mpi_value": case((hidden, None), else_=cols["mpi_value"]),
        "mpi_evaluators": case((hidden, 0), else_=cols["mpi_evaluators"]),
        "mpi_spread": case((hidden, None), else_=cols["mpi_spread"]),
    }


def _portfolio(f: InnovationFilter, scope: Scope = EVERYTHING) -> tuple[Select[Any], dict[str, Any]]:
    """The base query with stage, status and MPI as they are now, or as they were at `as_of`, of the innovations
    the scope lets the caller see."""
    i = t.innovations
    if f.as_of is None:
        raw = {
            "stage": i.c.stage,
            "status": i.c.status,
            "mpi_value": i.c.mpi_value,
            "mpi_evaluators": i.c.mpi_evaluators,
            "mpi_spread": i.c.mpi_spread,
        }
        query = select(*_summary_columns(), *_labelled(raw, scope)).select_from(i)
        return query.where(*scope.conditions()), _masked(raw, scope)
    return _portfolio_then(naive(f.as_of), scope)


def _portfolio_then(at: datetime | BindParameter[Any], scope: Scope) -> tuple[Select[Any], dict[str, Any]]:
    """_portfolio as of `at`: naive UTC, or a parameter that will be."""
    i = t.innovations
    si, st, sh = t.stage_intervals.alias("si"), t.status_intervals.alias("st"), t.score_history.alias("sh")
    raw = {
        "stage": si.c.stage,
        "status": st.c.status,
        "mpi_value": sh.c.value,
        "mpi_evaluators": func.coalesce(sh.c.evaluators, 0),
        "mpi_spread": sh.c.spread,
    }
    joined = (
        i.join(
            si,
            and_(si.c.innovation_id == i.c.id, open_at(si, at)),
        )
        .join(
            st,
            and_(st.c.innovation_id == i.c.id, open_at(st, at)),
        )
        .outerjoin(sh, and_(sh.c.innovation_id == i.c.id, scored_at(sh, at)))
    )
    query = (
        select(*_summary_columns(), *_labelled(raw, scope))
        .select_from(joined)
        .where(i.c.submitted_at <= at, *scope.as_of(at))
    )
    return query, _masked(raw, scope)


def _labelled(raw: dict[str, Any], scope: Scope) -> list[Any]:
    """The selected columns: stage, status and MPI as stored, and where the scope may hide the MPI, whether it does
    (computed once per row; `summary` then leaves the MPI out). Filters and sorting use the masked MPI instead."""
    columns = [c.label(n) for n, c in raw.items()]
    if scope.mpi_hidden is not None:
        columns.append(scope.mpi_hidden.label("mpi_hidden"))
    return columns


def _summary_columns() -> list[Any]:
    i = t.innovations
    return [
        i.c.id,
        i.c.title,
        i.c.summary,
        i.c.themes,
        i.c.target_groups,
        i.c.organisation_id,
        i.c.organisation_name,
        i.c.country,
        i.c.ecosystem_id,
        i.c.ecosystem_acronym,
        i.c.readiness_level,
        i.c.pilots_count,
        i.c.evidence_count,
        i.c.assessments_count,
        i.c.adoptions_count,
        i.c.submitted_at,
        i.c.updated_at,
        i.c.version,
    ]


def _filtered(f: InnovationFilter, scope: Scope = EVERYTHING) -> tuple[Select[Any], dict[str, Any]]:
    i = t.innovations
    query, cols = _portfolio(f, scope)
    conditions = []
    if f.stage:
        conditions.append(cols["stage"] == f.stage)
    if f.status:
        conditions.append(cols["status"] == f.status)
    if f.country:
        conditions.append(i.c.country == f.country)
    if f.organisation_id:
        conditions.append(i.c.organisation_id == f.organisation_id)
    if f.ecosystem_id:
        conditions.append(i.c.ecosystem_id == f.ecosystem_id)
    if f.min_mpi is not None:
        conditions.append(cols["mpi_value"] >= f.min_mpi)
    if f.max_mpi is not None:
        conditions.append(cols["mpi_value"] <= f.max_mpi)
    if f.theme:
        th = t.innovation_themes
        conditions.append(exists().where(th.c.innovation_id == i.c.id, th.c.theme == f.theme.strip().lower()))
    if f.q:
        conditions.append(contains(i.c.search_text, f.q))
    return query.where(*conditions), cols


def _ordered(query: Select[Any], cols: dict[str, Any], sort: str) -> Select[Any]:
    """`query` in the order of `sort`. `cols` gives stage, status and MPI (now or then) and may give the innovation's
    id from another table than `rm_innovations` (a query that needs nothing else of it need not join it)."""
    i = t.innovations
    ident = cols.get("id", i.c.id)
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    name = sort.lstrip("-")
    column = {
        "mpi": cols["mpi_value"],
        "submitted_at": i.c.submitted_at,
        "title": i.c.title,
        # As they were at the list's instant, where it has one.
        "stage": cols["stage"],
        "status": cols["status"],
        "country": i.c.country,
        "ecosystem": i.c.ecosystem_acronym,
    }[name]
    descending = sort.startswith("-")
    order = column.desc() if descending else column.asc()
    if name in ("mpi", "ecosystem"):  # the columns that may be empty: those rows last, either way
        order = order.nulls_last()
    if name in ("stage", "status", "country", "ecosystem"):
        # Many rows share a value: ties by submission, as the (value, submitted_at) indexes keep them.
        ties = [i.c.submitted_at.desc(), ident.desc()] if descending else [i.c.submitted_at, ident]
        return query.order_by(order, *ties)
    # Ties in id order either way: the indexes for the MPI lists end with the id, ascending.
    return query.order_by(order, ident)


def list_innovations(
    conn: Connection,
    f: InnovationFilter,
    *,
    sort: str = "-submitted_at",
    page: int = 1,
    page_size: int = 20,
    scope: Scope = EVERYTHING,
) -> Page:
    if _by_score_then(f, sort, scope):
        return _by_score_as_of(conn, naive(f.as_of), sort, page, page_size)  # type: ignore[arg-type]
    if _narrow_then(f, sort, scope):
        return _narrow_as_of(conn, f, sort, page, page_size)
    query, cols = _filtered(f, scope)
    rows = conn.execute(_ordered(query, cols, sort).limit(page_size).offset(offset(page, page_size))).mappings()
    return Page([summary(r) for r in rows], _total(conn, f, scope, query), page, page_size)


def _whole_portfolio_then(f: InnovationFilter, scope: Scope) -> bool:
    """Whether a list is the whole portfolio as of an instant, for a caller who sees all of it: the dashboard's view
    as its slider moves. Its total is the number of innovations submitted by then, each of which the rows hold once:
    at any instant after its submission exactly one of its stage intervals and one of its status intervals are open,
    and at most one row of its score history (projections.handlers.no_earlier keeps them in order)."""
    return f.as_of is not None and f == InnovationFilter(as_of=f.as_of) and not scope.restricted and scope.then is None


def _by_score_then(f: InnovationFilter, sort: str, scope: Scope) -> bool:
    """Whether a page is the whole portfolio as of an instant sorted by MPI: read from the score history's indexes
    in MPI order."""
    return sort in ("mpi", "-mpi") and _whole_portfolio_then(f, scope)


def _narrow_then(f: InnovationFilter, sort: str, scope: Scope) -> bool:
    """Whether a list of the portfolio as of an instant, for a caller who sees all of it, reads its ids joined only
    with what the filter and the sort need, then the page's rows by id (_narrow_as_of): where it is filtered, or
    sorted by stage or status. Unfiltered and sorted by a column of the innovation's own row, the general query
    walks that column's index and stops at the page's end, and the total comes from running counts."""
    return (
        f.as_of is not None
        and (f != InnovationFilter(as_of=f.as_of) or sort.lstrip("-") in ("stage", "status"))
        and not scope.restricted
        and scope.then is None
    )


class _Narrow(NamedTuple):
    ids: Select[Any]
    total: Select[Any]


def _narrow_statements(f: InnovationFilter, sort: str) -> _Narrow:
    """The ids of an as-of list in the sort's order and their number, from the tables the filter and the sort need.

    Each innovation submitted by the instant has exactly one stage interval and one status interval open then, and
    none before (projections.handlers.no_earlier), and at most one row of its score history holds: so the intervals
    are joined only to filter or sort by them, the score only to filter or sort by MPI, a theme as a join (at most
    one row per innovation, read from the theme's index), and the innovation's own row only for its columns. Where an
    interval or a theme is joined, it also says the innovation was submitted by then."""
    at = naive(f.as_of)  # type: ignore[arg-type]
    i, sh, th = t.innovations, t.score_history, t.innovation_themes
    si, st = t.stage_intervals.alias("si"), t.status_intervals.alias("st")
    name = sort.lstrip("-")
    parts: list[tuple[Any, Any, list[Any]]] = []  # (table, its innovation id, conditions)
    if f.stage or name == "stage":
        parts.append((si, si.c.innovation_id, [open_at(si, at), *([si.c.stage == f.stage] if f.stage else [])]))
    if f.status or name == "status":
        parts.append((st, st.c.innovation_id, [open_at(st, at), *([st.c.status == f.status] if f.status else [])]))
    if f.theme:
        parts.append((th, th.c.innovation_id, [th.c.theme == f.theme.strip().lower(), th.c.submitted_at <= at]))
    own = [
        *([i.c.country == f.country] if f.country else []),
        *([i.c.organisation_id == f.organisation_id] if f.organisation_id else []),
        *([i.c.ecosystem_id == f.ecosystem_id] if f.ecosystem_id else []),
        *([contains(i.c.search_text, f.q)] if f.q else []),
    ]
    # Sorted by anything but MPI, the order (or its ties) reads the innovation's own columns.
    if own or name != "mpi" or not parts:
        parts.insert(0, (i, i.c.id, [i.c.submitted_at <= at, *own]))
    first, ident, where = parts[0]
    joined = first
    for table, other, conditions in parts[1:]:
        joined = joined.join(table, other == ident)
        where = [*where, *conditions]
    scored = [
        *([sh.c.value >= f.min_mpi] if f.min_mpi is not None else []),
        *([sh.c.value <= f.max_mpi] if f.max_mpi is not None else []),
    ]
    counted = joined
    if scored or name == "mpi":
        joined = joined.outerjoin(sh, and_(sh.c.innovation_id == ident, scored_at(sh, at)))
        counted = joined if scored else counted
    where = [*where, *scored]
    cols = {"id": ident, "stage": si.c.stage, "status": st.c.status, "mpi_value": sh.c.value}
    return _Narrow(
        ids=_ordered(select(ident).select_from(joined).where(*where), cols, sort),
        total=select(func.count()).select_from(counted).where(*where),
    )


def _narrow_as_of(conn: Connection, f: InnovationFilter, sort: str, page: int, page_size: int) -> Page:
    """The same page as the general query, without joining every innovation submitted by then with its intervals
    and its score: the ids in the sort's order first, then those rows. The whole portfolio's total comes from the
    running counts (see _whole_portfolio_then)."""
    statements = _narrow_statements(f, sort)
    at = naive(f.as_of)  # type: ignore[arg-type]
    start = offset(page, page_size)
    ids = _walked(conn, f, sort, start, page_size)
    if ids is None:
        ids = conn.scalars(statements.ids.limit(page_size).offset(start)).all()
    if _whole_portfolio_then(f, EVERYTHING):
        total = submitted_by(conn, at)
    else:
        total = conn.execute(statements.total).scalar_one()
    return Page(_rows_in_order(conn, at, ids), total, page, page_size)


# How many rows of the score history a page of one stage or status sorted by MPI walks, per row it needs, before it
# sorts the whole stage instead; and at most.
WALK_PER_ROW = 20
WALK_AT_MOST = 5_000


def _walked(conn: Connection, f: InnovationFilter, sort: str, start: int, page_size: int) -> list[UUID] | None:
    """The ids of a page of one stage or status (or both) sorted by MPI, walking the score history in MPI order from
    its index and keeping the innovations in that stage (status) then, as the whole portfolio's page does
    (_by_score_as_of); None where that walk is not enough and the page must sort the whole stage instead.

    The walk reads at most WALK_PER_ROW rows per row up to the page's end: a page is complete when that many rows
    of the score history held then, in MPI order, hold the page's end; one whose innovations are mostly unscored
    then (the unscored come last) or rare among those scored sorts the whole stage."""
    if sort.lstrip("-") != "mpi" or f != InnovationFilter(as_of=f.as_of, stage=f.stage, status=f.status):
        return None
    walk = (start + page_size) * WALK_PER_ROW
    if walk > WALK_AT_MOST:
        return None
    at = naive(f.as_of)  # type: ignore[arg-type]
    sh, si, st = t.score_history, t.stage_intervals, t.status_intervals
    value = sh.c.value.desc() if sort.startswith("-") else sh.c.value.asc()
    held = select(sh.c.innovation_id, sh.c.value).where(scored_at(sh, at)).order_by(value, sh.c.innovation_id)
    walked = held.limit(walk).subquery()
    # Each walked row's stage (status) then, read by the innovation's key alone as a scalar subquery, which no planner
    # turns into a join: a walk stops at the page's end, and no planner reads the whole stage from the (stage, entry)
    # index per row (as SQLite does for an EXISTS while that index has no statistics yet).
    kept = []
    if f.stage:
        then = select(si.c.stage).where(si.c.innovation_id == walked.c.innovation_id, open_at(si, at))
        kept.append(then.scalar_subquery() == f.stage)
    if f.status:
        then = select(st.c.status).where(st.c.innovation_id == walked.c.innovation_id, open_at(st, at))
        kept.append(then.scalar_subquery() == f.status)
    order = walked.c.value.desc() if sort.startswith("-") else walked.c.value.asc()
    page = select(walked.c.innovation_id).where(*kept).order_by(order, walked.c.innovation_id)
    ids = conn.scalars(page.limit(page_size).offset(start)).all()
    return list(ids) if len(ids) == page_size else None


@cache
def _rows_by_id() -> Select[Any]:
    """The rows of the innovations `ids` as of `at`."""
    query, _ = _portfolio_then(bindparam("at"), EVERYTHING)
    return query.where(t.innovations.c.id.in_(bindparam("ids", expanding=True)))


def _rows_in_order(conn: Connection, at: datetime, ids: list[UUID]) -> list[dict[str, Any]]:
    if not ids:
        return []
    found = {r["id"]: summary(r) for r in conn.execute(_rows_by_id(), {"at": at, "ids": ids}).mappings()}
    return [found[n] for n in ids if n in found]


class _ByScore(NamedTuple):
    """The statements of _by_score_as_of in one direction, the instant bound as `at`."""

    ids: Select[Any]
    scored: Select[Any]
    unscored: Select[Any]


@cache
def _by_score_statements(sort: str) -> _ByScore:
    """Built once per direction: the dashboard's slider reads a page with every step, and building these statements
    took about a third of a page."""
    i, sh = t.innovations, t.score_history
    at = bindparam("at")
    query, cols = _portfolio_then(at, EVERYTHING)
    value = sh.c.value.desc() if sort.startswith("-") else sh.c.value.asc()
    # Tested row by row (not joined): the scores are read in the index's order and the page stops early.
    held = and_(scored_at(sh, at), exists().where(i.c.id == sh.c.innovation_id, i.c.submitted_at <= at))
    return _ByScore(
        ids=select(sh.c.innovation_id).where(held).order_by(value, sh.c.innovation_id),
        scored=select(func.count()).where(held),
        unscored=_ordered(query.where(cols["mpi_value"].is_(None)), cols, sort),
    )


def _by_score_as_of(conn: Connection, at: datetime, sort: str, page: int, page_size: int) -> Page:
    """The same page as the general query, without joining and sorting every innovation submitted by then.

    The scored innovations come first, in MPI order, each the score history's row that held then (of an innovation
    submitted by then), read in the order of an index (value, id) until the page is full; the page's rows are then
    read by id. Where the page runs past the scored innovations, the unscored follow in id order, as in the general
    query. The total is the number of innovations submitted by then, from running counts by month."""
    statements = _by_score_statements(sort)
    start = offset(page, page_size)
    ids = conn.scalars(statements.ids.limit(page_size).offset(start), {"at": at}).all()
    items = _rows_in_order(conn, at, ids)
    if len(ids) < page_size:
        scored = conn.execute(statements.scored, {"at": at}).scalar_one() if not ids else start
        unscored = statements.unscored.limit(page_size - len(ids)).offset(max(start - scored, 0))
        items.extend(summary(r) for r in conn.execute(unscored, {"at": at}).mappings())
    return Page(items, submitted_by(conn, at), page, page_size)


def _total(conn: Connection, f: InnovationFilter, scope: Scope, query: Select[Any]) -> int:
    """How many innovations match. The whole portfolio as of an instant, for a caller who sees all of it: the number
    submitted by then, from running counts (see _whole_portfolio_then). For a caller who sees part of the portfolio
    now, never by testing every row:

    - with nothing filtering, everything less the confidential stages plus what of them the caller may see (the
      scope's `granted_total`): three counts, each of an index or of the caller's own grants;
    - otherwise in two parts in one statement, each answered from an index: what everyone sees, and what of the
      confidential stages the caller may. A list of one stage is all public or all confidential: only its part is
      counted."""
    if _whole_portfolio_then(f, scope):
        return submitted_by(conn, naive(f.as_of))  # type: ignore[arg-type]
    if scope.public is None or scope.private is None or scope.granted is None or f.as_of is not None:
        return int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())
    i = t.innovations
    if f == InnovationFilter() and scope.granted_total is not None:
        everything = conn.execute(select(func.count()).select_from(i)).scalar_one()
        confidential = conn.execute(select(func.count()).select_from(i).where(scope.private)).scalar_one()
        return int(everything - confidential + conn.execute(scope.granted_total).scalar_one())

    def count(where: Any) -> Any:
        return _filtered(f, replace(scope, where=where))[0].with_only_columns(func.count()).scalar_subquery()

    public, granted = scope.public, and_(scope.private, scope.granted)
    if not f.stage:
        total = count(public) + count(granted)
    else:
        total = count(granted if f.stage in CONFIDENTIAL_STAGES else public)
    return int(conn.execute(select(total)).scalar_one())


# The columns of an export row, in order (see iter_innovations).
EXPORT_COLUMNS = (
    "id",
    "title",
    "stage",
    "status",
    "mpi",
    "mpi_evaluators",
    "mpi_spread",
    "themes",
    "target_groups",
    "organisation_id",
    "organisation_name",
    "country",
    "ecosystem_id",
    "ecosystem_acronym",
    "readiness_level",
    "pilots_count",
    "evidence_count",
    "assessments_count",
    "adoptions_count",
    "submitted_at",
    "updated_at",
    "version",
)


def iter_innovations(
    conn: Connection, f: InnovationFilter, *, sort: str = "-submitted_at", chunk: int = 2000, scope: Scope = EVERYTHING
) -> Iterator[list[Any]]:
    """Every matching innovation as a list in EXPORT_COLUMNS order, streamed from the database (for CSV export).

    Values are ready to write out: ids as canonical UUID text, instants as ISO-8601 UTC text ending in Z, themes
    and target groups as lists, and the MPI's evaluators and spread None when there is no MPI (as in `summary`)."""
    query, cols = _filtered(f, scope)
    exported = _export_columns(cols)
    statement = _ordered(query, cols, sort).with_only_columns(*(exported[column] for column in EXPORT_COLUMNS))
    convert = [(n, _EXPORT_CONVERTERS[c]) for n, c in enumerate(EXPORT_COLUMNS) if c in _EXPORT_CONVERTERS]
    result = conn.execution_options(stream_results=True, yield_per=chunk).execute(statement)
    for row in result:
        values = list(row)
        for n, converter in convert:
            values[n] = converter(values[n])
        yield values


def _export_columns(cols: dict[str, Any]) -> dict[str, Any]:
    """The SQL of each export column. Ids, JSON and instants come as the driver's text: building UUID, JSON and
    datetime objects for each row only to print them again cost more than the query."""
    i = t.innovations
    unscored = cols["mpi_value"].is_(None)
    return {
        "id": cast(i.c.id, Text),
        "title": i.c.title,
        "stage": cols["stage"],
        "status": cols["status"],
        "mpi": cols["mpi_value"],
        "mpi_evaluators": case((unscored, None), else_=cols["mpi_evaluators"]),
        "mpi_spread": case((unscored, None), else_=cols["mpi_spread"]),
        "themes": cast(i.c.themes, Text),
        "target_groups": cast(i.c.target_groups, Text),
        "organisation_id": cast(i.c.organisation_id, Text),
        "organisation_name": i.c.organisation_name,
        "country": i.c.country,
        "ecosystem_id": cast(i.c.ecosystem_id, Text),
        "ecosystem_acronym": i.c.ecosystem_acronym,
        "readiness_level": i.c.readiness_level,
        "pilots_count": i.c.pilots_count,
        "evidence_count": i.c.evidence_count,
        "assessments_count": i.c.assessments_count,
        "adoptions_count": i.c.adoptions_count,
        "submitted_at": type_coerce(i.c.submitted_at, Text),
        "updated_at": type_coerce(i.c.updated_at, Text),
        "version": i.c.version,
    }


def _uuid_text(value: str | None) -> str | None:
    """Canonical UUID text: PostgreSQL casts it so; SQLite holds the 32 hex digits SQLAlchemy stored."""
    if value is None or len(value) == 36:
        return value
    if len(value) == 32:
        v = value.lower()
        return f"{v[:8]}-{v[8:12]}-{v[12:16]}-{v[16:20]}-{v[20:]}"
    return str(UUID(value))


def _json_list(value: str) -> Any:
    """A JSON list column, cast to text (the driver's own JSON decoding costs more)."""
    return [] if value == "[]" else json.loads(value)


def _utc_text(value: datetime | str) -> str:
    """A naive UTC instant (a datetime from PostgreSQL, text from SQLite) as ISO-8601 with Z."""
    if type(value) is str:
        value = datetime.fromisoformat(value)
    return value.isoformat() + "Z"


_EXPORT_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "id": _uuid_text,
    "themes": _json_list,
    "target_groups": _json_list,
    "organisation_id": _uuid_text,
    "ecosystem_id": _uuid_text,
    "submitted_at": _utc_text,
    "updated_at": _utc_text,
}


# Copied into the read model from the directory: a projected innovation has them, one replayed from its events not.
_DIRECTORY_FIELDS = ("organisation_name", "country", "ecosystem_acronym")
ITEMS = ("pilots", "evidence", "adoptions")


def summary(values: Any) -> dict[str, Any]:
    """An innovation as lists show it, from a read-model row or from `Innovation.summary_fields()`."""
    row = dict(values)  # one conversion, then plain dictionary lookups (a RowMapping lookup costs more)
    mpi = None
    if row["mpi_value"] is not None and not row.get("mpi_hidden"):
        mpi = {"value": row["mpi_value"], "evaluators": row["mpi_evaluators"], "spread": row["mpi_spread"]}
    return {
        "id": row["id"],
        "title": row["title"],
        "summary": row["summary"],
        "themes": row["themes"],
        "target_groups": row["target_groups"],
        "organisation_id": row["organisation_id"],
        **{name: row[name] for name in _DIRECTORY_FIELDS if name in row},
        "ecosystem_id": row["ecosystem_id"],
        "stage": row["stage"],
        "status": row["status"],
        "readiness_level": row["readiness_level"],
        "mpi": mpi,
        "pilots_count": row["pilots_count"],
        "evidence_count": row["evidence_count"],
        "assessments_count": row["assessments_count"],
        "adoptions_count": row["adoptions_count"],
        "submitted_at": aware(row["submitted_at"]),
        "updated_at": aware(row["updated_at"]),
        "version": row["version"],
    }


def detail(values: Any) -> dict[str, Any]:
    """An innovation in detail: the summary plus its pilots, evidence and adoptions (from the same sources)."""
    return summary(values) | {key: [typed(item) for item in values[key]] for key in ITEMS}


def get_innovation(conn: Connection, innovation_id: UUID, scope: Scope = EVERYTHING) -> dict[str, Any] | None:
    """The detail of one innovation as projected, or None where it does not exist or the scope hides it."""
    i = t.innovations
    query = select(i).where(i.c.id == innovation_id, *scope.conditions())
    if scope.mpi_hidden is not None:
        query = query.add_columns(scope.mpi_hidden.label("mpi_hidden"))
    row = conn.execute(query).mappings().first()
    return None if row is None else detail(row)


def titles(conn: Connection, ids: set[UUID], scope: Scope = EVERYTHING) -> dict[UUID, str]:
    """The titles of these innovations that the scope lets the caller see, in one statement."""
    if not ids:
        return {}
    i = t.innovations
    rows = conn.execute(select(i.c.id, i.c.title).where(i.c.id.in_(ids), *scope.conditions()))
    return {row.id: row.title for row in rows}


def visible(conn: Connection, innovation_id: UUID, scope: Scope) -> tuple[bool, bool]:
    """Whether the scope lets the caller see the innovation, and whether it hides its MPI and score history."""
    i = t.innovations
    hidden = scope.mpi_hidden if scope.mpi_hidden is not None else literal(False)
    row = conn.execute(select(hidden).where(i.c.id == innovation_id, *scope.conditions())).first()
    return (row is not None, bool(row[0]) if row is not None else False)


def typed(value: Any) -> Any:
    """JSON from the read model with its ids, dates and times typed again (…_id, …_on, …_at)."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if item is None or not isinstance(item, str):
            out[key] = typed(item)
        elif key.endswith("_id"):
            out[key] = UUID(item)
        elif key.endswith("_on"):
            out[key] = date.fromisoformat(item)
        elif key.endswith("_at"):
            out[key] = datetime.fromisoformat(item.replace("Z", "+00:00"))
        else:
            out[key] = item
    return out
