"""One innovation's timeline as projected: its consolidated score after each change, and its stays in each stage."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select

from projections import tables as t
from projections.queries import aware


def score_history(conn: Connection, innovation_id: UUID) -> list[dict[str, Any]]:
    sh = t.score_history
    rows = conn.execute(select(sh).where(sh.c.innovation_id == innovation_id).order_by(sh.c.seq)).mappings()
    return [
        {"at": aware(r["at"]), "value": r["value"], "evaluators": r["evaluators"], "spread": r["spread"]} for r in rows
    ]


def stage_intervals(conn: Connection, innovation_id: UUID) -> list[dict[str, Any]]:
    si = t.stage_intervals
    rows = conn.execute(select(si).where(si.c.innovation_id == innovation_id).order_by(si.c.seq)).mappings()
    return [
        {"stage": r["stage"], "entered_at": aware(r["entered_at"]), "exited_at": aware(r["exited_at"])} for r in rows
    ]
