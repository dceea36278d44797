"""Evaluation rounds as read: an evaluator's queue, an innovation's assignments and notes, and the round's analytics."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, func, select

from projections import tables as t
from projections.queries import aware, percentile
from tracker.stages import STAGES

QUEUE_STATES = ("pending", "done", "all")


def _pending() -> Any:
    """An assignment still waiting for its evaluator: not assessed, the innovation still in the stage visit it was
    assigned in, and taking assessments (joined with rm_innovations)."""
    a, i = t.assignments, t.innovations
    return and_(a.c.assessed_at.is_(None), a.c.seq == i.c.stage_seq, i.c.status == "active")


def _assignment(row: Any) -> dict[str, Any]:
    return {
        "evaluator_id": row["evaluator_id"],
        "stage": row["stage"],
        "assigned_at": aware(row["assigned_at"]),
        "due_on": row["due_on"],
        "assessed_at": aware(row["assessed_at"]),
    }


def queue(
    conn: Connection,
    evaluator_id: str,
    state: str = "pending",
    *,
    visible: Any = None,
    today: date | None = None,
) -> list[dict[str, Any]]:
    """An evaluator's assignments, oldest due first (those without a due date last, then by assignment), of the
    innovations `visible` (a condition on rm_innovations: the confidentiality policy's) lets them see.

    Pending: not assessed, and the innovation still in the stage visit it was assigned in and taking assessments.
    Done: assessed. All: both, and rounds that ended before the evaluator assessed (an innovation back in
    identification since then is no longer theirs to see, and is left out)."""
    if state not in QUEUE_STATES:
        raise ValueError(f"state must be one of {', '.join(QUEUE_STATES)}")
    a, i = t.assignments, t.innovations
    conditions: list[Any] = [a.c.evaluator_id == evaluator_id, *([visible] if visible is not None else [])]
    if state == "pending":
        conditions.append(_pending())
    elif state == "done":
        conditions.append(a.c.assessed_at.is_not(None))
    rows = conn.execute(
        select(a, i.c.title, i.c.stage.label("current_stage"), i.c.status, (a.c.seq == i.c.stage_seq).label("open"))
        .select_from(a.join(i, i.c.id == a.c.innovation_id))
        .where(*conditions)
        .order_by(a.c.due_on.is_(None), a.c.due_on, a.c.assigned_at, a.c.innovation_id)
    ).mappings()
    today = today or date.today()
    return [
        {
            "innovation_id": r["innovation_id"],
            "title": r["title"],
            **_assignment(r),
            "overdue": r["assessed_at"] is None and r["open"] and r["due_on"] is not None and r["due_on"] < today,
        }
        for r in rows
    ]


def assignments(conn: Connection, innovation_id: UUID, where: Any = None) -> list[dict[str, Any]]:
    """An innovation's assignments over all its stages, in the order they were made."""
    a = t.assignments
    query = select(a).where(a.c.innovation_id == innovation_id, *([where] if where is not None else []))
    rows = conn.execute(query.order_by(a.c.assigned_at, a.c.evaluator_id)).mappings()
    return [_assignment(r) for r in rows]


def notes(conn: Connection, innovation_id: UUID) -> list[dict[str, Any]]:
    """An innovation's deliberation notes, oldest first."""
    n = t.notes
    rows = conn.execute(select(n).where(n.c.innovation_id == innovation_id).order_by(n.c.position)).mappings()
    return [
        {
            "note_id": r["id"],
            "author_id": r["author_id"],
            "author_role": r["author_role"],
            "body": r["body"],
            "reply_to": r["reply_to"],
            "stage": r["stage"],
            "written_at": aware(r["written_at"]),
        }
        for r in rows
    ]


def evaluation(
    conn: Connection, *, ecosystem_id: UUID | None = None, stage: str | None = None, today: date | None = None
) -> dict[str, Any]:
    """Per stage: active innovations awaiting assignment, assignments pending (and how many overdue) and done, and
    the median days from assignment to assessment."""
    a, i = t.assignments, t.innovations
    today = today or date.today()
    eco: list[Any] = [i.c.ecosystem_id == ecosystem_id] if ecosystem_id is not None else []
    stages = [s for s in STAGES[:-1] if stage in (None, s)]
    result = {s: {"awaiting_assignment": 0, "pending": 0, "overdue": 0, "done": 0, "median_days": None} for s in stages}
    open_assignment = select(a.c.innovation_id).where(a.c.innovation_id == i.c.id, a.c.seq == i.c.stage_seq)
    awaiting = conn.execute(
        select(i.c.stage, func.count())
        .where(i.c.status == "active", i.c.stage.in_(stages), ~open_assignment.exists(), *eco)
        .group_by(i.c.stage)
    ).all()
    for s, n in awaiting:
        result[s]["awaiting_assignment"] = n
    joined = a.join(i, i.c.id == a.c.innovation_id)
    pending = _pending()
    rows = conn.execute(
        select(a.c.stage, a.c.due_on, a.c.assigned_at, a.c.assessed_at, pending.label("pending"))
        .select_from(joined)
        .where(a.c.stage.in_(stages), *eco)
    ).mappings()
    durations: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        counts = result[r["stage"]]
        if r["assessed_at"] is not None:
            counts["done"] += 1
            durations[r["stage"]].append((r["assessed_at"] - r["assigned_at"]).total_seconds() / 86400)
        elif r["pending"]:
            counts["pending"] += 1
            if r["due_on"] is not None and r["due_on"] < today:
                counts["overdue"] += 1
    for s, values in durations.items():
        median = percentile(sorted(values), 0.5)
        result[s]["median_days"] = round(median, 2) if median is not None else None
    return {"stages": result}


def open_loads(conn: Connection, evaluator_ids: list[str]) -> dict[str, int]:
    """How many assignments wait for each of these evaluators (the queue's "pending")."""
    a, i = t.assignments, t.innovations
    rows = conn.execute(
        select(a.c.evaluator_id, func.count())
        .select_from(a.join(i, i.c.id == a.c.innovation_id))
        .where(a.c.evaluator_id.in_(evaluator_ids), _pending())
        .group_by(a.c.evaluator_id)
    ).all()
    found = dict.fromkeys(evaluator_ids, 0)
    found.update({evaluator: int(n) for evaluator, n in rows})
    return found


def round_progress(conn: Connection, innovation_ids: list[UUID]) -> dict[UUID, dict[str, int]]:
    """For each innovation, its current stage's round: evaluators assigned, and how many of them have assessed."""
    a, i = t.assignments, t.innovations
    rows = conn.execute(
        select(a.c.innovation_id, func.count(), func.count(a.c.assessed_at))
        .select_from(a.join(i, i.c.id == a.c.innovation_id))
        .where(a.c.innovation_id.in_(innovation_ids), a.c.seq == i.c.stage_seq)
        .group_by(a.c.innovation_id)
    ).all()
    found = {iid: {"assigned": 0, "assessed": 0} for iid in innovation_ids}
    found.update({iid: {"assigned": int(n), "assessed": int(done)} for iid, n, done in rows})
    return found
