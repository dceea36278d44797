"""intervals in order: each stage interval, status interval and row of the score history begins no earlier than the
one before it of the same innovation (and a score no earlier than the submission), as the projection now keeps them

Before, each began at its event's own time, and where a wall clock had stepped back between two of an innovation's
events an interval ended before it began and two were open at once (a list as of an instant then held the
innovation twice). Each beginning becomes the latest of its own, those before it and the submission; each end
becomes the next one's beginning; a stage's duration follows. Rows projected from events stamped in order do not
change, and only the innovations with a row out of order are read.

Where any row changed, the running counts counted from these rows (the funnel's days, the score history's months)
are recorded as left to count again, as a rebuild that stopped part way leaves them (projections.deferred); an
upgrade that reaches the head counts them again in its transaction, with the code of that revision.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_innovations = sa.table(
    "rm_innovations",
    sa.column("id", sa.Uuid()),
    sa.column("submitted_at", sa.DateTime()),
    sa.column("stage_seq", sa.Integer()),
    sa.column("stage_entered_at", sa.DateTime()),
)


def _sequence(name: str, began: str, ended: str, *extra: str) -> sa.TableClause:
    return sa.table(
        name,
        sa.column("innovation_id", sa.Uuid()),
        sa.column("seq", sa.Integer()),
        sa.column(began, sa.DateTime()),
        sa.column(ended, sa.DateTime()),
        *(sa.column(c, sa.Float()) for c in extra),
    )


# (table, when a row begins, when it ends)
_SEQUENCES = (
    (_sequence("rm_stage_intervals", "entered_at", "exited_at", "duration_days"), "entered_at", "exited_at"),
    (_sequence("rm_status_intervals", "entered_at", "exited_at"), "entered_at", "exited_at"),
    (_sequence("rm_score_history", "at", "valid_to"), "at", "valid_to"),
)


def _out_of_order(table: sa.TableClause, began: str) -> sa.Select:
    """The innovations with a row that begins before one before it, or before the submission."""
    i, p = _innovations, table.alias("p")
    earlier = sa.exists().where(
        p.c.innovation_id == table.c.innovation_id, p.c.seq < table.c.seq, p.c[began] > table.c[began]
    )
    before_submission = sa.exists().where(i.c.id == table.c.innovation_id, i.c.submitted_at > table.c[began])
    return sa.select(table.c.innovation_id).where(sa.or_(earlier, before_submission)).distinct()


def _in_order(rows: list[sa.Row], submitted_at: datetime, began: str, ended: str) -> list[dict]:
    """The rows of one innovation (in seq order) as the projection keeps them now: each begins at the latest of its
    own beginning, those before it and the submission, and ends where the next begins."""
    floor, fixed = submitted_at, []
    for row in rows:
        floor = max(floor, row._mapping[began])
        fixed.append({"seq": row.seq, began: floor, ended: row._mapping[ended]})
    for row, following in pairwise(fixed):
        row[ended] = following[began]
    return fixed


def upgrade() -> None:
    bind = op.get_bind()
    changed = False
    for table, began, ended in _SEQUENCES:
        for (innovation_id,) in bind.execute(_out_of_order(table, began)).all():
            submitted_at = bind.execute(
                sa.select(_innovations.c.submitted_at).where(_innovations.c.id == innovation_id)
            ).scalar_one()
            rows = bind.execute(
                sa.select(table.c.seq, table.c[began], table.c[ended])
                .where(table.c.innovation_id == innovation_id)
                .order_by(table.c.seq)
            ).all()
            for old, new in zip(rows, _in_order(rows, submitted_at, began, ended), strict=True):
                if (old._mapping[began], old._mapping[ended]) == (new[began], new[ended]):
                    continue
                values = {began: new[began], ended: new[ended]}
                if "duration_days" in table.c:
                    # As the projection works it out when the stage ends.
                    ends = new[ended]
                    values["duration_days"] = None if ends is None else (ends - new[began]).total_seconds() / 86400
                bind.execute(
                    table.update()
                    .where(table.c.innovation_id == innovation_id, table.c.seq == new["seq"])
                    .values(**values)
                )
                changed = True
    if not changed:
        return
    i, s = _innovations, _SEQUENCES[0][0]
    current = sa.select(s.c.entered_at).where(s.c.innovation_id == i.c.id, s.c.seq == i.c.stage_seq).scalar_subquery()
    bind.execute(i.update().where(i.c.stage_entered_at != current).values(stage_entered_at=current))
    # Touched long ago: as a rebuild that stopped part way, whose counts an upgrade to the head counts again at its
    # end. Where a record is there already, it says as much.
    bind.execute(
        sa.text(
            "INSERT INTO rm_deferred (name, statement, touched_at) VALUES ('counts', NULL, :at) "
            "ON CONFLICT (name) DO NOTHING"
        ),
        {"at": datetime(1970, 1, 1)},
    )


def downgrade() -> None:
    # Rows in order are rows the earlier projection could have written too: nothing to undo.
    pass
