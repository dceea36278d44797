"""The audit index: who did what to which aggregate, filterable and paged by log position."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select

from projections import tables as t
from projections.queries import aware, naive
from tracker import event_types

MAX_LIMIT = 1000


def audit_trail(
    conn: Connection,
    *,
    actor: str | None = None,
    aggregate_id: UUID | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: int | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """Events in log order after position `after`; `next_after` continues the listing (None at the end)."""
    a = t.audit
    conditions = []
    if actor:
        conditions.append(a.c.actor_id == actor)
    if aggregate_id:
        conditions.append(a.c.aggregate_id == aggregate_id)
    if event_type in event_types.INDEXED:  # a published name, as the feed gives it: one aggregate's event
        aggregate_type, indexed = event_types.INDEXED[event_type]
        conditions += [a.c.aggregate_type == aggregate_type, a.c.event_type == indexed]
    elif event_type:  # as the items give it in `type`: any aggregate's event of that name
        conditions.append(a.c.event_type == event_type)
    if since:
        conditions.append(a.c.at >= naive(since))
    if until:
        conditions.append(a.c.at < naive(until))
    if after is not None:
        conditions.append(a.c.position > after)
    limit = max(1, min(limit, MAX_LIMIT))
    rows = conn.execute(select(a).where(*conditions).order_by(a.c.position).limit(limit)).mappings().all()
    items = [
        {
            "position": r["position"],
            "at": aware(r["at"]),
            "aggregate_type": r["aggregate_type"],
            "aggregate_id": r["aggregate_id"],
            "version": r["version"],
            "type": r["event_type"],
            "actor": {"id": r["actor_id"], "role": r["actor_role"]},
            "correlation_id": r["correlation_id"],
        }
        for r in rows
    ]
    return {"items": items, "next_after": items[-1]["position"] if len(items) == limit else None}
