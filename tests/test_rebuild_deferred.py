"""A rebuild drops the secondary indexes and leaves the running counts until its end; nothing it puts off is lost,
even when it stops part way."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli.main import main
from projections import deferred, migrate
from projections import tables as t
from projections.dump import dump
from projections.migrate import current_revision, downgrade, finish_stopped_rebuild
from projections.read_model import ReadModel
from projections.rebuilding import REBUILD_LOCK_WAIT
from tests.readmodel import age_records, projected_history
from tests.world import FULL_SCORES, World

COUNT_TABLES = ("rm_funnel_days", "rm_score_groups", "rm_score_buckets", "rm_score_values", "rm_facet_counts")


def indexes(read_model: ReadModel) -> dict[str, dict[str, str]]:
    with read_model.reader.connect() as conn:
        return {table.name: deferred.secondary_indexes(conn, table) for table in t.READ_MODEL_TABLES}


def records(read_model: ReadModel) -> list[str]:
    with read_model.reader.connect() as conn:
        return sorted(name for name, _ in deferred.records(conn))


def history(read_model: ReadModel) -> World:
    return projected_history(read_model, seed=3, steps=120)


def stop_part_way(read_model: ReadModel, monkeypatch: pytest.MonkeyPatch, events: int | None) -> None:
    """Rebuild as a process killed after `events` events (None: after them all, before its end) would leave it."""
    real_catch_up = read_model.catch_up

    def killed(*args: Any, **kwargs: Any) -> int:
        real_catch_up(limit=events)
        raise RuntimeError("killed")

    with monkeypatch.context() as patch:
        patch.setattr(read_model, "catch_up", killed)
        # A killed process never reaches its end: nothing is finished on the way out.
        patch.setattr(read_model, "_finish_rebuild", lambda: None)
        with pytest.raises(RuntimeError, match="killed"):
            read_model.rebuild()


def status(read_model: ReadModel) -> str:
    """What 'tracker projections status' prints."""
    result = CliRunner().invoke(main, ["projections", "status"], env={"TRACKER_DATABASE_URL": read_model.url})
    assert result.exit_code == 0, result.output
    return result.output


def assert_finished(read_model: ReadModel, indexes_before: dict[str, Any], tables: dict[str, Any]) -> None:
    """Nothing left undone: no record, every index as it was, and the tables (the counts too) as projected."""
    assert records(read_model) == []
    assert indexes(read_model) == indexes_before
    assert dump(read_model) == tables


def counted(conn: Any) -> dict[str, int]:
    return {name: conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar() for name in COUNT_TABLES}  # noqa: S608


def test_a_rebuild_drops_the_secondary_indexes_and_counts_nothing_until_its_end(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(read_model)
    before, projected = indexes(read_model), dump(read_model)
    assert len(before["rm_innovations"]) >= 10
    assert before["rm_audit"]
    assert all(projected[name] for name in COUNT_TABLES)
    seen: list[tuple[Any, ...]] = []
    real_project = read_model._project

    def watched(conn: Any, *args: Any) -> Any:
        # In each batch's transaction, after the batches before it: no index, no count, and the records saying so.
        found = {table.name: deferred.secondary_indexes(conn, table) for table in t.READ_MODEL_TABLES}
        seen.append((found, counted(conn), sorted(name for name, _ in deferred.records(conn))))
        return real_project(conn, *args)

    monkeypatch.setattr(read_model, "_project", watched)
    read_model.rebuild_batch_size = 20
    assert read_model.rebuild() == read_model.app.current_position()
    assert len(seen) > 3
    dropped = sorted([deferred.COUNTS, *(name for found in before.values() for name in found)])
    assert seen == [({name: {} for name in before}, dict.fromkeys(COUNT_TABLES, 0), dropped)] * len(seen)
    # At its end: the same indexes, built by the same statements, the counts counted, and no record left.
    assert_finished(read_model, before, projected)


def test_the_next_batch_finishes_what_a_rebuild_that_stopped_part_way_left(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = history(read_model)
    before = indexes(read_model)
    read_model.rebuild_batch_size = 30
    stop_part_way(read_model, monkeypatch, events=60)
    assert read_model.position() == 60
    assert records(read_model)
    assert indexes(read_model)["rm_innovations"] == {}

    # Another process, within the rebuild's lease: it takes the rebuild to be running, and leaves the counts to it.
    other = ReadModel(read_model.app, read_model.url, batch_size=25)
    try:
        world.submit(title="Submitted while the rebuild ran")
        assert other.catch_up() > 0
        with other.reader.connect() as conn:
            assert counted(conn) == dict.fromkeys(COUNT_TABLES, 0)
        assert indexes(other)["rm_innovations"] == {}

        # Once the lease is over the rebuild has stopped: the next batch finishes its work, then counts as usual.
        age_records(read_model)
        innovation = world.submit(title="Submitted after the rebuild stopped")
        world.assess(innovation, world.evaluator(1), scores=FULL_SCORES, rationale="late")
        assert other.catch_up() > 0
        assert records(other) == []
        assert indexes(other) == before
        finished = dump(other)
    finally:
        other.close()
    # The same tables as a rebuild that ran to its end.
    read_model.rebuild()
    assert dump(read_model) == finished


def test_an_idle_process_finishes_a_rebuild_that_stopped_after_its_last_batch(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(read_model)
    before, projected = indexes(read_model), dump(read_model)
    stop_part_way(read_model, monkeypatch, events=None)
    assert read_model.position() == read_model.app.current_position()
    age_records(read_model)
    # Nothing new to project: the batch still finishes the rebuild's work.
    assert read_model.catch_up() == 0
    assert_finished(read_model, before, projected)


def test_an_upgrade_finishes_a_stopped_rebuild_but_leaves_a_running_one(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(read_model)
    before, projected = indexes(read_model), dump(read_model)
    stop_part_way(read_model, monkeypatch, events=None)
    assert finish_stopped_rebuild(read_model.url) is False
    assert "rebuild unfinished (running)" in status(read_model)
    age_records(read_model)
    assert "rebuild unfinished (stopped part way" in status(read_model)
    assert finish_stopped_rebuild(read_model.url) is True
    assert "rebuild unfinished" not in status(read_model)
    assert_finished(read_model, before, projected)


def test_an_upgrade_at_the_head_finishes_a_stopped_rebuild_without_running_the_migrations(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schema at this release's head has nothing for Alembic to do, so the upgrade leaves it alone; it still counts
    what a rebuild that stopped part way left. One revision behind, it runs the migrations to the head."""
    history(read_model)
    before, projected = indexes(read_model), dump(read_model)
    stop_part_way(read_model, monkeypatch, events=None)
    age_records(read_model)
    moves: list[str] = []
    real = migrate.command.upgrade
    monkeypatch.setattr(
        migrate.command, "upgrade", lambda config, revision: (moves.append(revision), real(config, revision))
    )
    migrate.upgrade(read_model.url)
    assert moves == []
    assert_finished(read_model, before, projected)
    head = current_revision(read_model.url)
    downgrade(read_model.url, "-1")
    assert current_revision(read_model.url) != head
    migrate.upgrade(read_model.url)
    assert moves == ["head"]
    assert current_revision(read_model.url) == head


def test_a_rebuild_that_fails_finishes_what_it_did(read_model: ReadModel, monkeypatch: pytest.MonkeyPatch) -> None:
    history(read_model)
    before = indexes(read_model)
    real_catch_up = read_model.catch_up

    def failing(*args: Any, **kwargs: Any) -> int:
        real_catch_up(limit=50)
        raise RuntimeError("a batch failed")

    monkeypatch.setattr(read_model, "catch_up", failing)
    read_model.rebuild_batch_size = 25
    with pytest.raises(RuntimeError, match="a batch failed"):
        read_model.rebuild()
    monkeypatch.undo()
    # The tables hold the first 50 events, with their indexes and counts, so catching up goes on from there.
    assert read_model.position() == 50
    assert records(read_model) == []
    assert indexes(read_model) == before
    read_model.catch_up()
    caught_up = dump(read_model)
    read_model.rebuild()
    assert dump(read_model) == caught_up


def test_a_rebuild_on_postgresql_waits_for_a_reader_without_deadlocking_it(read_model: ReadModel) -> None:
    """A reader holding one table in a transaction and then asking for another neither deadlocks with a rebuild that
    drops the indexes nor is aborted: the rebuild lets go of the tables and tries again."""
    if read_model.config.kind != "postgresql":
        pytest.skip("SQLite readers take no table locks")
    history(read_model)
    projected = dump(read_model)
    failures: list[BaseException] = []

    def rebuild() -> None:
        try:
            read_model.rebuild()
        except BaseException as error:
            failures.append(error)

    with read_model.reader.connect() as reader:
        reader.execute(select(func.count()).select_from(t.audit)).scalar_one()
        thread = threading.Thread(target=rebuild)
        thread.start()
        # Longer than the rebuild waits for the tables: it has let go and tried again at least once.
        time.sleep(REBUILD_LOCK_WAIT * 2.5)
        assert thread.is_alive()
        reader.execute(select(func.count()).select_from(t.innovations)).scalar_one()
        reader.rollback()
    thread.join(30)
    assert failures == []
    assert dump(read_model) == projected


def test_a_batch_that_read_its_events_before_another_process_reset_the_tables_applies_nothing(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    if read_model.config.kind != "sqlite":
        pytest.skip("on PostgreSQL a batch reads its events under the tracking rows' lock")
    world = history(read_model)
    projected = dump(read_model)
    for n in range(5):
        world.submit(title=f"Submitted after the catch-up {n}")
    other = ReadModel(read_model.app, read_model.url)
    real_select = read_model.app.recorder.select_notifications

    def read_then_reset(*args: Any, **kwargs: Any) -> Any:
        found = real_select(*args, **kwargs)
        # Another process's rebuild empties the tables now, between this batch's read and its lock.
        monkeypatch.setattr(read_model.app.recorder, "select_notifications", real_select)
        # (Without the batch lock, which is this process's and is held by the batch: another process has its own.)
        other._empty()
        return found

    try:
        monkeypatch.setattr(read_model.app.recorder, "select_notifications", read_then_reset)
        batch = read_model._apply_batch()
        assert (batch.applied, batch.reached, read_model.position()) == (0, 0, 0)
        read_model.catch_up()
        with other.writer.begin() as conn:
            deferred.finish(conn)
    finally:
        other.close()
    everything = dump(read_model)
    assert len(everything["rm_audit"]) == read_model.app.current_position()
    read_model.rebuild()
    assert dump(read_model) == everything
    assert len(everything["rm_innovations"]) == len(projected["rm_innovations"]) + 5


def test_a_downgrade_past_0009_refuses_while_a_rebuild_is_unfinished(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(read_model)
    stop_part_way(read_model, monkeypatch, events=None)
    head = current_revision(read_model.url)
    with pytest.raises(RuntimeError, match="rebuild is unfinished"):
        downgrade(read_model.url, "0008")
    assert current_revision(read_model.url) == head  # the refused downgrade changed nothing
    assert records(read_model)
