"""Organisations and ecosystems as projected."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Connection, case, exists, func, select

from projections import tables as t
from projections.queries import Page, aware, contains, offset
from tracker.ecosystem import MEMBER_ROLES

ROLE_ORDER = {role: n for n, role in enumerate(MEMBER_ROLES)}


def _organisation(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "country": row["country"],
        "kind": row["kind"],
        "pic": row["pic"],
        "oid": row["oid"],
        "website": row["website"],
        "registered_at": aware(row["registered_at"]),
        "version": row["version"],
    }


def list_organisations(
    conn: Connection,
    *,
    country: str | None = None,
    kind: str | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page:
    o = t.organisations
    conditions = []
    if country:
        conditions.append(o.c.country == country)
    if kind:
        conditions.append(o.c.kind == kind)
    if q:
        conditions.append(contains(o.c.name_key, q))
    total = conn.execute(select(func.count()).select_from(o).where(*conditions)).scalar_one()
    rows = conn.execute(
        select(o).where(*conditions).order_by(o.c.name_key, o.c.id).limit(page_size).offset(offset(page, page_size))
    ).mappings()
    return Page([_organisation(r) for r in rows], total, page, page_size)


def get_organisation(conn: Connection, organisation_id: UUID) -> dict[str, Any] | None:
    o = t.organisations
    row = conn.execute(select(o).where(o.c.id == organisation_id)).mappings().first()
    return _organisation(row) if row is not None else None


def _ecosystem(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "acronym": row["acronym"],
        "title": row["title"],
        "programme": row["programme"],
        "key_action": row["key_action"],
        "action_type": row["action_type"],
        "project_identifier": row["project_identifier"],
        "call_year": row["call_year"],
        "start_date": row["start_date"],
        "end_date": row["end_date"],
        "eu_grant_eur": row["eu_grant_eur"],
        "is_good_practice": row["is_good_practice"],
        "is_success_story": row["is_success_story"],
        "registered_at": aware(row["registered_at"]),
        "updated_at": aware(row["updated_at"]),
        "version": row["version"],
    }


# The ecosystem list's sorts, ascending and with "-" descending.
ECOSYSTEM_SORTED_BY = ("acronym", "title", "call_year", "eu_grant_eur", "member_count")
ECOSYSTEM_SORTS = tuple(key for name in ECOSYSTEM_SORTED_BY for key in (name, f"-{name}"))


def list_ecosystems(
    conn: Connection,
    *,
    country: str | None = None,
    q: str | None = None,
    sort: str = "acronym",
    page: int = 1,
    page_size: int = 20,
) -> Page:
    e, m = t.ecosystems, t.ecosystem_members
    if sort not in ECOSYSTEM_SORTS:
        raise ValueError(f"sort must be one of {', '.join(ECOSYSTEM_SORTS)}")
    conditions = []
    if country:
        conditions.append(exists().where(m.c.ecosystem_id == e.c.id, m.c.country == country))
    if q:
        conditions.append(contains(e.c.search_text, q))
    total = conn.execute(select(func.count()).select_from(e).where(*conditions)).scalar_one()
    name = sort.lstrip("-")
    members = select(func.count()).where(m.c.ecosystem_id == e.c.id).scalar_subquery()
    column = members if name == "member_count" else e.c[name]
    order = (column.desc() if sort.startswith("-") else column.asc()).nulls_last()
    rows = (
        conn.execute(
            select(e)
            .where(*conditions)
            .order_by(order, e.c.acronym, e.c.id)
            .limit(page_size)
            .offset(offset(page, page_size))
        )
        .mappings()
        .all()
    )
    counts = _member_counts(conn, [r["id"] for r in rows])
    return Page([_ecosystem(r) | {"member_count": counts.get(r["id"], 0)} for r in rows], total, page, page_size)


def member_ecosystems(conn: Connection, organisation_id: UUID) -> list[dict[str, Any]]:
    """The ecosystems an organisation is a member of, in any role, by acronym: where it may place an innovation."""
    e, m = t.ecosystems, t.ecosystem_members
    of_member = select(m.c.ecosystem_id).where(m.c.organisation_id == organisation_id)
    query = select(e.c.id, e.c.acronym, e.c.title).where(e.c.id.in_(of_member)).order_by(e.c.acronym, e.c.id)
    return [dict(row) for row in conn.execute(query).mappings()]


def _member_counts(conn: Connection, ids: list[UUID]) -> dict[UUID, int]:
    if not ids:
        return {}
    m = t.ecosystem_members
    query = select(m.c.ecosystem_id, func.count()).where(m.c.ecosystem_id.in_(ids)).group_by(m.c.ecosystem_id)
    return {k: v for k, v in conn.execute(query).all()}


def get_ecosystem(conn: Connection, ecosystem_id: UUID) -> dict[str, Any] | None:
    e, m, o = t.ecosystems, t.ecosystem_members, t.organisations
    row = conn.execute(select(e).where(e.c.id == ecosystem_id)).mappings().first()
    if row is None:
        return None
    members = conn.execute(
        select(m.c.organisation_id, m.c.role, m.c.country, m.c.joined_at, o.c.name)
        .select_from(m.join(o, o.c.id == m.c.organisation_id))
        .where(m.c.ecosystem_id == ecosystem_id)
        .order_by(case(ROLE_ORDER, value=m.c.role, else_=len(ROLE_ORDER)), o.c.name_key)
    ).mappings()
    member_list = [
        {
            "organisation_id": r["organisation_id"],
            "name": r["name"],
            "country": r["country"],
            "role": r["role"],
            "joined_at": aware(r["joined_at"]),
        }
        for r in members
    ]
    return _ecosystem(row) | {"member_count": len(member_list), "members": member_list}
