"""How the projections take the log in batches: how many, from where, and what a failed batch leaves behind."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from sqlalchemy import func, insert, select, update

from projections import audit_chain
from projections import tables as t
from projections.postgres_batch import open_batch
from projections.read_model import Batch, ReadModel
from storage.application import open_application
from tests.readmodel import Clock, random_history
from tests.world import World, build_world


def count_batches(read_model: ReadModel, monkeypatch: pytest.MonkeyPatch) -> list[Batch]:
    seen: list[Batch] = []
    real = read_model._apply_batch

    def counted() -> Batch:
        batch = real()
        seen.append(batch)
        return batch

    monkeypatch.setattr(read_model, "_apply_batch", counted)
    return seen


def test_catch_up_reads_the_log_once_when_the_first_batch_is_short(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(read_model.app)
    read_model.catch_up()
    world.submit()
    world.submit()
    batches = count_batches(read_model, monkeypatch)
    assert read_model.catch_up() == 2
    assert [(b.read, b.applied) for b in batches] == [(2, 2)]
    assert read_model.position() == read_model.app.current_position()


def test_catch_up_takes_a_backlog_in_batches_of_the_batch_size_when_it_is_longer(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(read_model.app)
    read_model.catch_up()
    for _ in range(7):
        world.submit()
    read_model.batch_size = 3
    batches = count_batches(read_model, monkeypatch)
    assert read_model.catch_up() == 7
    assert [b.applied for b in batches] == [3, 3, 1]
    assert read_model.position() == read_model.app.current_position()


def test_a_batch_that_fails_to_write_leaves_no_row_and_no_position_behind_when_a_row_conflicts(
    read_model: ReadModel,
) -> None:
    world = build_world(read_model.app)
    read_model.catch_up()
    before = read_model.position()
    world.submit()
    world.submit()
    # A stray audit row where the second new event's row goes: the batch's writes fail at the database.
    with read_model.writer.begin() as conn:
        conn.execute(
            insert(t.audit).values(
                position=before + 2,
                at=datetime(2024, 1, 1),
                aggregate_type="Stray",
                aggregate_id=world.owner,
                version=1,
                event_type="Stray",
                actor_id="x",
                actor_role="admin",
            )
        )
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        read_model.catch_up()
    with read_model.reader.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(t.innovations)) == 0
        assert conn.scalar(select(func.count()).select_from(t.audit_chain)) == before
    assert read_model.position() == before
    with read_model.writer.begin() as conn:
        conn.execute(t.audit.delete().where(t.audit.c.position == before + 2))
    assert read_model.catch_up() == 2
    with read_model.reader.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(t.innovations)) == 2


@pytest.mark.postgres
def test_open_batch_reads_what_the_recorder_reads_after_the_lowest_tracked_position(postgres_url: str) -> None:
    from projections.migrate import upgrade
    from storage.schema import create_event_tables

    create_event_tables(postgres_url)
    upgrade(postgres_url)
    app = open_application(postgres_url, cipher_key="Yp0sRiVmxUL8E0CnQtWNbNvR1HqZfEHzk2lqK2KjZK0=")
    model = ReadModel(app, postgres_url)
    try:
        rng = random.Random(3)
        app.clock = Clock(rng)
        random_history(build_world(app), rng, steps=30)
        model.batch_size = 10
        model.catch_up(limit=1)
        with model.writer.begin() as conn:
            head = audit_chain.head(conn)
        assert head.position == 10
        with model.writer.begin() as conn:
            # One projection behind the others: the batch starts after the lowest position.
            conn.execute(update(t.tracking).where(t.tracking.c.name == "portfolio").values(position=6))
        with model.writer.begin() as conn:
            opened = open_batch(conn, app.recorder, 25)  # type: ignore[arg-type]
        assert opened.positions == {
            "directory": 10,
            "portfolio": 6,
            "audit": 10,
            audit_chain.NAME: 10,
        }
        assert opened.head == head
        assert opened.notifications == list(app.recorder.select_notifications(7, 25))
        assert len(opened.notifications) == 25
    finally:
        model.close()
        app.close()


def postgres_read_model(postgres_url: str) -> ReadModel:
    from projections.migrate import upgrade
    from storage.schema import create_event_tables

    create_event_tables(postgres_url)
    upgrade(postgres_url)
    return ReadModel(open_application(postgres_url), postgres_url)


@contextmanager
def following(model: ReadModel, world: World, **options: float) -> Iterator[None]:
    """model.follow(**options) in a thread for the block; then stopped, and checked to have ended without error."""
    errors: list[BaseException] = []

    def follow() -> None:
        try:
            model.follow(**options)  # type: ignore[arg-type]
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    follower = threading.Thread(target=follow)
    follower.start()
    try:
        yield
    finally:
        model.stop()
        world.submit()  # wakes the follower, which then sees the stop
        follower.join(timeout=20)
        model.close()
        model.app.close()
    assert not follower.is_alive()
    assert errors == []


@pytest.mark.postgres
def test_follow_projects_a_commit_at_once_when_the_idle_wait_is_long(postgres_url: str) -> None:
    model = postgres_read_model(postgres_url)
    app = model.app
    world = build_world(app)
    with following(model, world, idle_wait=20):
        assert model.wait_for(app.current_position(), timeout=5, catch_up=False)
        for _ in range(3):
            world.submit()
            # Well inside the idle wait: the commit's notification woke the follower.
            assert model.wait_for(app.current_position(), timeout=2, catch_up=False)


@pytest.mark.postgres
def test_follow_applies_the_commits_that_arrive_while_it_settles_in_one_batch(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = postgres_read_model(postgres_url)
    app = model.app
    world = build_world(app)
    model.catch_up()
    before = model.position()
    batches = count_batches(model, monkeypatch)
    with following(model, world, idle_wait=20, settle=1.0):
        assert model.wait_for(before, timeout=5, catch_up=False)
        time.sleep(0.2)  # the follower's first catch-up is done: it waits for a notification
        for _ in range(4):
            world.submit()  # the first wakes the follower; the others commit while it settles
        assert model.wait_for(app.current_position(), timeout=10, catch_up=False)
        arrived = len(app.recorder.select_notifications(before + 1, 1000))
        assert [batch.applied for batch in batches if batch.applied] == [arrived]
