"""On SQLite a projection batch works out its rows before it takes the write lock, and writes them only if nothing
they came from changed meanwhile."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import insert

from projections import deferred
from projections import rows as rows_module
from projections import tables as t
from projections.clock import utc_now
from projections.dump import dump
from projections.handlers import PROJECTIONS
from projections.read_model import Batch, ReadModel
from storage.locks import sqlite_writer_lock
from tests.readmodel import projected_history
from tests.world import World
from tracker.innovation import Innovation


@pytest.fixture
def model(sqlite_read_model: ReadModel) -> ReadModel:
    return sqlite_read_model


def history(model: ReadModel) -> World:
    return projected_history(model, seed=5, steps=60)


def rebuilt(model: ReadModel) -> dict[str, Any]:
    """The read model as a rebuild from position 0 leaves it."""
    model.rebuild()
    return dump(model)


def test_a_write_is_stored_while_a_batch_works_out_its_rows(model: ReadModel, monkeypatch: pytest.MonkeyPatch) -> None:
    world = history(model)
    world.submit(title="Projected by the batch below")
    writer_lock = sqlite_writer_lock(str(model.config.path))
    seen: dict[str, Any] = {}
    real = PROJECTIONS["portfolio"][Innovation.Submitted]

    def submitted(rows: Any, event: Any, position: int) -> None:
        if not seen:
            seen["locked"] = writer_lock.locked()
            # A request thread stores a write while the batch is working out its rows.
            writer = threading.Thread(target=lambda: seen.update(written=world.submit(title="Written meanwhile")))
            writers.append(writer)
            writer.start()
            writer.join(10)
            seen["stored in time"] = not writer.is_alive()
        real(rows, event, position)

    writers: list[threading.Thread] = []
    monkeypatch.setitem(PROJECTIONS["portfolio"], Innovation.Submitted, submitted)
    batch = model._apply_batch()
    writers[0].join()
    assert seen["locked"] is False
    assert seen["stored in time"] is True
    assert batch.applied == 1
    # The write made meanwhile comes after the batch's events, and the next batch projects it.
    model.catch_up()
    everything = dump(model)
    assert any(row[0] == seen["written"] for row in everything["rm_innovations"])
    monkeypatch.undo()
    assert rebuilt(model) == everything


def test_under_the_write_lock_a_batch_only_runs_statements_bound_before(
    model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows' statements are written out and their values bound on the read snapshot: under the writer lock the
    batch binds nothing, and what it writes is what a rebuild writes."""
    world = history(model)
    for n in range(4):
        world.submit(title=f"Bound ahead {n}")
    writer_lock = sqlite_writer_lock(str(model.config.path))
    binds = {"locked": 0, "unlocked": 0}
    real_binder = rows_module._binder

    def counting_binder(processors: Any) -> Any:
        bind = real_binder(processors)

        def counted(row: Any) -> Any:
            binds["locked" if writer_lock.locked() else "unlocked"] += 1
            return bind(row)

        return counted

    monkeypatch.setattr(rows_module, "_binder", counting_binder)
    batch = model._apply_batch()
    assert batch.applied >= 4
    assert binds["unlocked"] > 0
    # Under the lock only the audit chain's links are bound (they follow the chain's head there): one per event.
    assert binds["locked"] <= batch.applied, binds
    monkeypatch.undo()
    everything = dump(model)
    model.catch_up()
    assert dump(model) == everything
    assert rebuilt(model) == everything


@pytest.mark.parametrize("other_applies", ["all", "part"])
def test_a_batch_another_applied_meanwhile_is_worked_out_again_and_nothing_is_applied_twice(
    model: ReadModel, monkeypatch: pytest.MonkeyPatch, other_applies: str
) -> None:
    world = history(model)
    for n in range(5):
        world.submit(title=f"Pending {n}")
    other = ReadModel(model.app, model.url, batch_size=5 if other_applies == "all" else 2)
    real = model._project_ahead

    def then_another_batch(start: int, notifications: Any) -> Any:
        ahead = real(start, notifications)
        # Another process's batch commits between this batch's snapshot and its write lock.
        other._apply_batch()
        return ahead

    monkeypatch.setattr(model, "_project_ahead", then_another_batch)
    try:
        batch = model._apply_batch()
    finally:
        other.close()
    assert batch.applied == (0 if other_applies == "all" else 3)
    assert model.position() == model.app.current_position()
    everything = dump(model)
    assert len(everything["rm_audit"]) == model.app.current_position()
    monkeypatch.undo()
    assert rebuilt(model) == everything


def test_counts_are_kept_when_a_rebuild_ends_between_a_batch_and_its_write_lock(
    model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = history(model)
    # A rebuild is running elsewhere: its record says the running counts are left to its end.
    with model.writer.begin() as conn:
        deferred.leave_counts(conn)
    for n in range(4):
        world.submit(title=f"Submitted during the rebuild {n}")
    real = model._project_ahead
    worked_out: list[bool] = []

    def then_the_rebuild_ends(start: int, notifications: Any) -> Any:
        ahead = real(start, notifications)
        worked_out.append(ahead.counts_left)
        # That rebuild ends now: it counts everything there is, and removes its record.
        with model.writer.begin() as conn:
            deferred.finish(conn)
        return ahead

    monkeypatch.setattr(model, "_project_ahead", then_the_rebuild_ends)
    assert model._apply_batch().applied == 4
    assert worked_out == [True]
    everything = dump(model)
    monkeypatch.undo()
    # The batch counted its events: without a record, nothing else ever would.
    assert rebuilt(model) == everything


def test_a_batch_finishes_what_a_stopped_rebuild_left_before_its_own_rows(
    model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = history(model)
    with model.writer.begin() as conn:
        conn.execute(
            insert(t.deferred).values(
                name=deferred.COUNTS, statement=None, touched_at=utc_now() - 2 * deferred.REBUILD_LEASE
            )
        )
    world.submit(title="After the rebuild stopped")
    ahead: list[Any] = []
    real = model._project_ahead
    monkeypatch.setattr(model, "_project_ahead", lambda *args: ahead.append(real(*args)) or ahead[-1])
    assert model._apply_batch().applied == 1
    # Worked out under the write lock, after the finish: nothing ahead of it.
    assert ahead == [None]
    everything = dump(model)
    monkeypatch.undo()
    assert rebuilt(model) == everything


def test_a_batch_whose_events_a_rebuild_elsewhere_outdated_before_its_snapshot_applies_nothing(
    model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = history(model)
    innovation = world.submit(title="Projected before the rebuild")
    model.catch_up()
    # Events that change a row: on the emptied tables their handlers would find nothing to change.
    world.to_stage(innovation, "testing")
    other = ReadModel(model.app, model.url)
    recorder = model.app.recorder
    real = recorder.select_notifications

    def then_a_rebuild_starts(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        # Another process's rebuild empties the tables between this batch's read of its events and its snapshot.
        other._empty()
        return found

    monkeypatch.setattr(recorder, "select_notifications", then_a_rebuild_starts)
    try:
        assert model._apply_batch() == Batch(0, 0, 0)
    finally:
        monkeypatch.undo()
        other.close()
    model.catch_up()
    with model.writer.begin() as conn:
        deferred.finish(conn)
    everything = dump(model)
    assert len(everything["rm_audit"]) == model.app.current_position()
    assert rebuilt(model) == everything
