"""The evaluators' grants (tables.grants): who, besides the owner and the roles that read all, may see an innovation
while it is in a confidential stage. An evaluator holds one while assigned at the innovation's current stage or once
they have assessed it (access.policy's `was_assigned`), and only while its stage is confidential.

Kept event by event from the innovation's summary row, where `evaluator_mpis` names who has assessed it, so no
handler reads rm_grants. A rebuild leaves them, as it leaves the running counts, and `recount` builds them from
rm_assignments and rm_assessments at its end (projections.deferred)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from projections import tables as t
from projections.rows import Rows
from tracker.stages import CONFIDENTIAL_STAGES


def _kept(rows: Rows, row: dict[str, Any]) -> bool:
    return not rows.counts_deferred and row["stage"] in CONFIDENTIAL_STAGES


def assigned(rows: Rows, row: dict[str, Any], evaluator_id: str) -> None:
    """An evaluator assigned at the current stage: granted, unless an assessment already granted them."""
    if _kept(rows, row) and evaluator_id not in row["evaluator_mpis"]:
        rows.insert(t.grants, {"evaluator_id": evaluator_id, "innovation_id": row["id"]})


def unassigned(rows: Rows, row: dict[str, Any], evaluator_id: str) -> None:
    """An evaluator unassigned: the grant goes, unless they have assessed the innovation."""
    if _kept(rows, row) and evaluator_id not in row["evaluator_mpis"]:
        rows.delete_where(t.grants, evaluator_id=evaluator_id, innovation_id=row["id"])


def assessed(rows: Rows, row: dict[str, Any], evaluator_id: str, *, was_assigned: bool) -> None:
    """An assessment (call it before `evaluator_mpis` names the evaluator): granted, unless the evaluator already
    was, by an assignment at this stage or an earlier assessment. Assessments recorded before assignments existed
    grant too."""
    if _kept(rows, row) and not was_assigned and evaluator_id not in row["evaluator_mpis"]:
        rows.insert(t.grants, {"evaluator_id": evaluator_id, "innovation_id": row["id"]})


def stage_changed(rows: Rows, before: dict[str, Any], stage: str) -> None:
    """A change of stage (call it before the row changes) ends the round's assignments: what is left are the
    grants of those who assessed the innovation, where the new stage is confidential too."""
    if rows.counts_deferred:
        return
    if before["stage"] in CONFIDENTIAL_STAGES:
        rows.delete_where(t.grants, innovation_id=before["id"])
    if stage in CONFIDENTIAL_STAGES:
        for evaluator_id in before["evaluator_mpis"]:
            rows.insert(t.grants, {"evaluator_id": evaluator_id, "innovation_id": before["id"]})


def recount(conn: Connection) -> None:
    """Build every grant again from the assignments and assessments (replacing what the table held)."""
    stages = ", ".join(f"'{stage}'" for stage in CONFIDENTIAL_STAGES)
    conn.exec_driver_sql("DELETE FROM rm_grants")
    conn.exec_driver_sql(
        f"""
        INSERT INTO rm_grants (evaluator_id, innovation_id)
        SELECT a.evaluator_id, a.innovation_id
        FROM rm_assignments a JOIN rm_innovations i ON i.id = a.innovation_id AND i.stage_seq = a.seq
        WHERE i.stage IN ({stages})
        UNION
        SELECT s.evaluator_id, s.innovation_id
        FROM rm_assessments s JOIN rm_innovations i ON i.id = s.innovation_id
        WHERE i.stage IN ({stages})
        """  # noqa: S608 - stage names from the domain's constant
    )
