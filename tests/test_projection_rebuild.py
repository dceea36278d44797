"""Incremental projection equals a full rebuild, row for row; concurrent catch-ups never double-apply."""

from __future__ import annotations

import gc
import random
import threading
from datetime import UTC
from typing import Any

import pytest
from sqlalchemy import text

from projections import tables as t
from projections.dump import dump
from projections.queries.analytics import funnel, open_intervals
from projections.read_model import ReadModel
from tests.readmodel import Clock, random_history
from tests.world import build_world


@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_tables_equal_a_full_rebuild_when_history_is_random(read_model: ReadModel, seed: int) -> None:
    rng = random.Random(seed)
    read_model.batch_size = 7  # small batches, so rows change both within and across batches
    read_model.app.clock = Clock(rng)
    world = build_world(read_model.app)

    def maybe_catch_up() -> None:
        if rng.random() < 0.3:
            read_model.catch_up()

    accepted = random_history(world, rng, steps=160, after_each=maybe_catch_up)
    read_model.catch_up()
    assert accepted > 50
    incremental = dump(read_model)
    assert len(incremental["rm_audit"]) == read_model.app.current_position()
    assert [row[0] for row in incremental["rm_audit_chain"]] == list(range(1, read_model.app.current_position() + 1))
    assert incremental["rm_score_history"], "the history never scored an innovation"
    assert len(incremental["rm_stage_intervals"]) > len(incremental["rm_innovations"]), "no innovation changed stage"
    assert incremental["rm_funnel_days"], "no daily funnel counts"
    assert incremental["rm_grants"], "no evaluator holds a grant to a confidential innovation"
    _assert_funnel_counts_open_intervals(read_model, incremental)

    read_model.rebuild_batch_size = 50  # several batches on every store
    rebuilt_count = read_model.rebuild()
    assert rebuilt_count == read_model.app.current_position()
    assert dump(read_model) == incremental


def test_a_rebuild_counts_every_event_when_another_thread_of_the_process_takes_a_batch_meanwhile(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(read_model.app)
    read_model.catch_up()
    read_model.batch_size = 3
    read_model.rebuild_batch_size = 4
    real_catch_up = read_model.catch_up
    collector_threshold = gc.get_threshold()

    def after_a_batch_elsewhere(*args: Any, **kwargs: Any) -> int:
        # What a web process's projection thread does when it wakes between the rebuild's reset and its catch-up.
        taken = threading.Thread(target=read_model._apply_batch)
        taken.start()
        taken.join()
        return real_catch_up(*args, **kwargs)

    monkeypatch.setattr(read_model, "catch_up", after_a_batch_elsewhere)
    assert read_model.rebuild() == read_model.app.current_position()
    assert read_model.position() == read_model.app.current_position()
    # What the rebuild changed for its duration is back: the live batch size and the collector's threshold.
    assert read_model._batch_limit() == 3
    assert gc.get_threshold() == collector_threshold


def _assert_funnel_counts_open_intervals(read_model: ReadModel, tables: dict[str, list[Any]]) -> None:
    """At every interval boundary, the portfolio funnel equals the intervals open then, counted one by one."""
    bounds = {row[i] for name in ("rm_stage_intervals", "rm_status_intervals") for row in tables[name] for i in (3, 4)}
    with read_model.reader.connect() as conn:
        for at in sorted(b for b in bounds if b is not None):
            got = funnel(conn, as_of=at.replace(tzinfo=UTC))
            expected = open_intervals(conn, at)
            assert {k: v for k, v in got["stages"].items() if v} == expected["stage"], at
            assert {k: v for k, v in got["statuses"].items() if v} == expected["status"], at


def test_concurrent_catch_ups_apply_each_event_once(read_model: ReadModel) -> None:
    rng = random.Random(7)
    read_model.app.clock = Clock(rng)
    world = build_world(read_model.app)
    random_history(world, rng, steps=80)
    read_model.batch_size = 5
    others = [ReadModel(read_model.app, read_model.url, batch_size=5) for _ in range(3)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(others) + 1)

    def run(model: ReadModel) -> None:
        try:
            barrier.wait()
            model.catch_up()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(m,)) for m in [read_model, *others]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for model in others:
        model.close()
    assert errors == []
    together = dump(read_model)
    assert [row[0] for row in together["rm_audit"]] == list(range(1, read_model.app.current_position() + 1))
    read_model.rebuild()
    assert dump(read_model) == together


def test_status_reports_zero_lag_after_catch_up_and_the_gap_when_behind(read_model: ReadModel) -> None:
    world = build_world(read_model.app)
    read_model.catch_up()
    assert {s.lag for s in read_model.status()} == {0}
    before = read_model.app.current_position()
    world.submit()
    world.submit()
    status = read_model.status()
    assert {s.name for s in status} == {"directory", "portfolio", "audit", "audit_chain"}
    assert {s.lag for s in status} == {2}
    assert {s.position for s in status} == {before}
    assert read_model.wait_for(before + 2, timeout=2)
    assert {s.lag for s in read_model.status()} == {0}


def test_wait_for_times_out_when_nobody_catches_up(read_model: ReadModel) -> None:
    build_world(read_model.app)
    target = read_model.app.current_position()
    assert read_model.wait_for(target, timeout=0.05, catch_up=False) is False
    assert read_model.wait_for(target, timeout=1) is True


def test_rebuild_vacuums_postgres_tables_so_counts_can_use_indexes_alone(read_model: ReadModel) -> None:
    """A rebuild ends with VACUUM (ANALYZE): only a vacuum marks the fresh pages all-visible, which an index-only
    count needs. (Whether every page ends up all-visible depends on other open transactions in the database, so the
    test checks that the vacuum ran.)"""
    if read_model.config.kind != "postgresql":
        pytest.skip("the visibility map is PostgreSQL's")
    world = build_world(read_model.app)
    for n in range(40):
        world.submit(title=f"Innovation {n}")

    def vacuums() -> dict[str, int]:
        with read_model.reader.connect() as conn:
            rows = conn.execute(
                text("SELECT relname, vacuum_count FROM pg_stat_user_tables WHERE schemaname = current_schema()")
            ).all()
        return {name: count for name, count in rows}

    before = vacuums()
    read_model.rebuild()
    after = vacuums()
    for table in t.READ_MODEL_TABLES:
        assert after[table.name] == before.get(table.name, 0) + 1, table.name
