"""An innovation's intervals follow one another whatever the clocks that stamped its events did: each stage interval,
status interval and row of the score history begins no earlier than the one before it (a score no earlier than the
submission) and ends where the next begins, so at any instant one stage and one status are open, and one score at
most. Migration 0026 puts rows projected before in that order, and the counts follow."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select

from projections import handlers
from projections import tables as t
from projections.deferred import records
from projections.dump import dump
from projections.migrate import alembic_config, downgrade, upgrade
from projections.read_model import ReadModel
from tests.readmodel import Clock, SteppingBack, random_history
from tests.world import build_world

# (table, beginning, end)
SEQUENCES = (
    (t.stage_intervals, "entered_at", "exited_at"),
    (t.status_intervals, "entered_at", "exited_at"),
    (t.score_history, "at", "valid_to"),
)


def _raw_times(e: Any, floor: datetime) -> datetime:
    """Each interval begins at its event's own time, as the projection did before migration 0026."""
    return handlers.naive_utc(e.timestamp)


def _out_of_order(read_model: ReadModel) -> dict[str, int]:
    """Per table, the rows that break the order: begin before the row before them ends, or before the submission,
    or end other than where the next begins, or end before they begin."""
    found = {}
    with read_model.reader.connect() as conn:
        submitted = dict(conn.execute(select(t.innovations.c.id, t.innovations.c.submitted_at)).all())
        for table, began, ended in SEQUENCES:
            rows: dict[Any, list[Any]] = defaultdict(list)
            query = select(table.c.innovation_id, table.c[began], table.c[ended]).order_by(
                table.c.innovation_id, table.c.seq
            )
            for innovation_id, start, end in conn.execute(query):
                rows[innovation_id].append((start, end))
            broken = 0
            for innovation_id, sequence in rows.items():
                floor = submitted[innovation_id]
                for n, (start, end) in enumerate(sequence):
                    following = sequence[n + 1][0] if n + 1 < len(sequence) else None
                    broken += start < floor or end != following or (end is not None and end < start)
                    floor = start
            found[table.name] = broken
    return found


def _history(read_model: ReadModel, seed: int) -> None:
    rng = random.Random(seed)
    read_model.app.clock = SteppingBack(rng)
    random_history(build_world(read_model.app), rng, steps=200)


def _rounded(tables: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """Durations to the microsecond: the same difference of times, worked out once or twice, as floats."""
    return {
        name: [tuple(round(v, 11) if isinstance(v, float) else v for v in row) for row in rows]
        for name, rows in tables.items()
    }


@pytest.mark.parametrize("clock", [Clock, SteppingBack], ids=["clock-in-order", "clock-stepping-back"])
def test_each_innovations_intervals_follow_one_another_whatever_its_clock_did(
    read_model: ReadModel, clock: type[Clock]
) -> None:
    rng = random.Random(52)
    read_model.app.clock = clock(rng)
    random_history(build_world(read_model.app), rng, steps=200)
    read_model.catch_up()
    assert _out_of_order(read_model) == {table.name: 0 for table, _, _ in SEQUENCES}
    with read_model.reader.connect() as conn:
        # The innovation's row says when its current stage began, as its open interval does.
        assert not conn.execute(
            select(t.innovations.c.id)
            .join(t.stage_intervals, t.stage_intervals.c.innovation_id == t.innovations.c.id)
            .where(
                t.stage_intervals.c.seq == t.innovations.c.stage_seq,
                t.stage_intervals.c.entered_at != t.innovations.c.stage_entered_at,
            )
        ).all()


def test_the_clamp_is_what_makes_them_follow(read_model: ReadModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """The history of the other tests does break the order when each interval takes its event's own time."""
    _history(read_model, seed=52)
    monkeypatch.setattr(handlers, "no_earlier", _raw_times)
    read_model.catch_up()
    broken = _out_of_order(read_model)
    assert all(broken.values()), broken


def test_the_upgrade_puts_rows_projected_out_of_order_in_order_and_counts_them_again(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _history(read_model, seed=52)
    with monkeypatch.context() as patched:
        patched.setattr(handlers, "no_earlier", _raw_times)
        read_model.catch_up()
    assert all(_out_of_order(read_model).values())
    before = dump(read_model)

    downgrade(read_model.url, "0025")
    upgrade(read_model.url, "0026")
    with read_model.reader.connect() as conn:
        # Short of the head, the counts are left to count again.
        assert [name for name, _ in records(conn)] == ["counts"]
    upgrade(read_model.url, ScriptDirectory.from_config(alembic_config()).get_current_head())  # the head, by name
    with read_model.reader.connect() as conn:
        assert records(conn) == []
    assert _out_of_order(read_model) == {table.name: 0 for table, _, _ in SEQUENCES}
    migrated = dump(read_model)
    assert migrated["rm_funnel_days"] != before["rm_funnel_days"]

    # The same tables as the projection writes from the log now, the running counts among them.
    read_model.rebuild()
    assert _rounded(migrated) == _rounded(dump(read_model))


def test_the_upgrade_leaves_rows_in_order_as_they_are(read_model: ReadModel) -> None:
    rng = random.Random(27)
    read_model.app.clock = Clock(rng)
    random_history(build_world(read_model.app), rng, steps=120)
    read_model.catch_up()
    before = dump(read_model)
    downgrade(read_model.url, "0025")
    upgrade(read_model.url, "0026")
    with read_model.reader.connect() as conn:
        assert records(conn) == []  # nothing to count again
    assert dump(read_model) == before
