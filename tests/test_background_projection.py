"""The web process's projection thread: writes projected in batches after they are acknowledged, reads that still see
every write the process acknowledged, and a failing batch that is retried without losing anything."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from projections import handlers
from projections import tables as t
from projections.background import BackgroundProjection
from projections.read_model import ReadModel
from tests.world import World, build_world
from tracker.innovation import Innovation


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def world(read_model: ReadModel) -> World:
    built = build_world(read_model.app)
    read_model.catch_up()
    return built


@pytest.fixture
def projection(read_model: ReadModel, world: World) -> Iterator[BackgroundProjection]:
    background = BackgroundProjection(read_model, settle=0.005, poll=0.02)
    background.start()
    yield background
    background.stop()


def test_a_written_event_is_projected_by_the_thread_when_no_read_asks_for_it(
    read_model: ReadModel, world: World, projection: BackgroundProjection
) -> None:
    innovation = world.submit()
    position = read_model.app.current_position()
    projection.written(position)
    assert eventually(lambda: read_model.position() >= position)
    with read_model.reader.connect() as conn:
        assert conn.execute(select(t.innovations.c.id).where(t.innovations.c.id == innovation)).first() is not None


def test_writes_of_another_process_are_projected_when_this_process_writes_nothing(
    read_model: ReadModel, world: World, projection: BackgroundProjection
) -> None:
    world.submit()  # never reported through written(): as a CLI import's would not be
    position = read_model.app.current_position()
    assert eventually(lambda: read_model.position() >= position)


def test_a_read_applies_an_acknowledged_write_itself_when_the_thread_has_not_yet(
    read_model: ReadModel, world: World
) -> None:
    idle = BackgroundProjection(read_model, settle=60, poll=60)  # never started: nothing projects in the background
    world.submit()
    position = read_model.app.current_position()
    idle.written(position)
    assert read_model.position() < position
    assert idle.caught_up(timeout=5)
    assert read_model.position() >= position
    assert idle.acknowledged == position


def test_a_write_acknowledged_earlier_never_lowers_the_position_a_read_waits_for(read_model: ReadModel) -> None:
    idle = BackgroundProjection(read_model)
    idle.written(7)
    idle.written(3)
    assert idle.acknowledged == 7


def test_a_failing_batch_is_retried_until_it_applies_and_a_read_meanwhile_answers_without_it(
    read_model: ReadModel, world: World, projection: BackgroundProjection, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = read_model.position()
    handler = handlers.PROJECTIONS["portfolio"][Innovation.Submitted]
    failures: list[int] = []

    def broken(rows: object, event: object, position: int) -> None:
        failures.append(position)
        raise RuntimeError("handler failed")

    monkeypatch.setitem(handlers.PROJECTIONS["portfolio"], Innovation.Submitted, broken)
    innovation = world.submit()
    position = read_model.app.current_position()
    projection.written(position)
    assert eventually(lambda: len(failures) >= 2)  # the thread tried, and tried again
    assert projection.caught_up(timeout=0.2) is False  # a read gives up and answers from what is there
    assert read_model.position() == before  # the failed batches left nothing behind
    monkeypatch.setitem(handlers.PROJECTIONS["portfolio"], Innovation.Submitted, handler)
    assert eventually(lambda: read_model.position() >= position)
    with read_model.reader.connect() as conn:
        assert conn.execute(select(t.innovations.c.id).where(t.innovations.c.id == innovation)).first() is not None


def test_stop_ends_the_thread_when_it_is_waiting(read_model: ReadModel) -> None:
    background = BackgroundProjection(read_model, poll=30)
    background.start()
    thread = background._thread
    assert thread is not None
    assert thread.is_alive()
    started = time.monotonic()
    background.stop()
    assert not thread.is_alive()
    assert time.monotonic() - started < 5
