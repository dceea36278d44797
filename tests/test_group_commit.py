"""Group commit (storage.group_commit): concurrent commands of one process share transactions, and each stays
atomic and isolated. A gate holds the first transaction while the others queue behind it, so every test knows a
shared transaction happened; each checks what the log holds afterwards."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.application import open_application
from storage.group_commit import GroupCommit
from storage.schema import create_event_tables
from tests.world import World, build_world
from tracker.application import TrackerApplication
from tracker.errors import DomainError, VersionConflictError


class Gate:
    """Wraps the group commit's insert: the first transaction waits until `queued` more commands wait behind it."""

    def __init__(self, group: GroupCommit, queued: int) -> None:
        self.group = group
        self.queued = queued
        self.real = group._insert
        self.sizes: list[int] = []
        self.first = True
        group._insert = self.insert

    def insert(self, events: Sequence[Any], **kwargs: Any) -> Any:
        if self.first:
            self.first = False
            deadline = time.monotonic() + 10
            while len(self.group._queue) < self.queued:
                assert time.monotonic() < deadline, "the other commands never queued"
                time.sleep(0.005)
        self.sizes.append(len(events))
        return self.real(events, **kwargs)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def grouped(request: pytest.FixtureRequest) -> Iterator[TrackerApplication]:
    url = request.getfixturevalue(f"{request.param}_url")
    create_event_tables(url)
    application = open_application(url, group_commit=True, pool_size=8)
    yield application
    application.close()


def together(*commands: Callable[[], Any]) -> list[Any]:
    """Run the commands in threads at once; each one's result, or the exception it raised."""
    results: list[Any] = [None] * len(commands)

    def run(n: int) -> None:
        try:
            results[n] = commands[n]()
        except Exception as error:  # the test looks at what each command raised
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(commands))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_commands_queued_behind_a_transaction_share_the_next_one(grouped: TrackerApplication) -> None:
    app = grouped
    assert app.group_commit is not None
    world = build_world(app)
    first = world.submit(title="First")
    gate = Gate(app.group_commit, queued=4)
    receipts = together(
        lambda: app.add_note(first, actor=world.manager, body="holds the gate"),
        *[
            lambda n=n: app.submit_innovation(
                actor=world.provider, title=f"Queued {n}", summary="s", themes=["t"], organisation_id=world.owner
            )
            for n in range(4)
        ],
    )
    assert not [r for r in receipts if isinstance(r, Exception)]
    assert gate.sizes == [1, 4], "the four queued commands did not share one transaction"
    positions = [r.position for r in receipts]
    assert len(set(positions)) == 5
    for receipt in receipts:
        (record,) = app.read_log(receipt.position - 1, 1)
        assert (record.aggregate_id, record.version) == (receipt.aggregate_id, receipt.version)


def test_a_version_conflict_inside_a_shared_transaction_fails_alone(grouped: TrackerApplication) -> None:
    app = grouped
    assert app.group_commit is not None
    world = build_world(app)
    target, other = world.submit(title="Target"), world.submit(title="Other")
    version = app.get_innovation(target).version
    gate = Gate(app.group_commit, queued=3)
    results = together(
        lambda: app.add_note(other, actor=world.manager, body="holds the gate"),
        # Two commands pinned to the same version of one aggregate: one of them must lose.
        lambda: app.add_note(target, actor=world.manager, body="pinned A", expected_version=version),
        lambda: app.add_note(target, actor=world.manager, body="pinned B", expected_version=version),
        lambda: app.add_note(other, actor=world.manager, body="bystander"),
    )
    assert gate.sizes[:2] == [1, 3], gate.sizes
    conflicts = [r for r in results if isinstance(r, VersionConflictError)]
    assert len(conflicts) == 1, results
    stored = [r for r in results if not isinstance(r, Exception)]
    assert len(stored) == 3
    notes = {n["body"] for n in app.get_innovation(target).notes}
    assert len(notes & {"pinned A", "pinned B"}) == 1
    assert {n["body"] for n in app.get_innovation(other).notes} == {"holds the gate", "bystander"}
    assert app.group_commit.retried_alone == 3


def test_an_unpinned_command_that_loses_a_race_inside_a_batch_is_retried_and_stored(
    grouped: TrackerApplication,
) -> None:
    app = grouped
    assert app.group_commit is not None
    world = build_world(app)
    target, other = world.submit(title="Target"), world.submit(title="Other")
    Gate(app.group_commit, queued=3)
    results = together(
        lambda: app.add_note(other, actor=world.manager, body="holds the gate"),
        *[lambda n=n: app.add_note(target, actor=world.manager, body=f"unpinned {n}") for n in range(3)],
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {n["body"] for n in app.get_innovation(target).notes} == {f"unpinned {n}" for n in range(3)}


def test_a_refused_command_never_reaches_the_batch_and_its_neighbours_are_stored(grouped: TrackerApplication) -> None:
    app = grouped
    assert app.group_commit is not None
    world = build_world(app)
    target, first, second = (world.submit(title=f"Innovation {n}") for n in range(3))
    start = app.current_position()
    gate = Gate(app.group_commit, queued=2)
    stranger = world.evaluator(3)  # not assigned: the rule refuses the note before anything is stored
    results = together(
        lambda: app.add_note(target, actor=world.manager, body="holds the gate"),
        lambda: app.add_note(target, actor=stranger, body="refused"),
        lambda: app.add_note(first, actor=world.manager, body="neighbour 1"),
        lambda: app.add_note(second, actor=world.manager, body="neighbour 2"),
    )
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 1
    assert gate.sizes == [1, 2]
    assert sorted(r.data["body"] for r in app.read_log(start, 10)) == ["holds the gate", "neighbour 1", "neighbour 2"]


def test_an_error_of_the_store_fails_every_command_of_the_transaction_and_stores_none(
    grouped: TrackerApplication,
) -> None:
    app = grouped
    assert app.group_commit is not None
    world = build_world(app)
    target = world.submit(title="Target")
    before = app.current_position()
    group = app.group_commit
    gate = Gate(group, queued=2)
    broken = gate.insert

    def failing(events: Sequence[Any], **kwargs: Any) -> Any:
        if len(events) > 1:
            raise ConnectionError("the database went away")
        return broken(events, **kwargs)

    group._insert = failing
    results = together(
        lambda: app.add_note(target, actor=world.manager, body="holds the gate"),
        lambda: app.add_note(target, actor=world.manager, body="lost A"),
        lambda: app.add_note(target, actor=world.manager, body="lost B"),
    )
    assert sum(isinstance(r, ConnectionError) for r in results) == 2
    assert app.current_position() == before + 1


# ---- any interleaving: the log against a serial replay ---------------------------------------------------------------

COMMANDS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=2), st.booleans()),  # (innovation, pinned to the version read)
    min_size=2,
    max_size=12,
)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TrackerApplication, World, list[UUID]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('group')}/tracker.db"
    create_event_tables(url)
    application = open_application(url, group_commit=True)
    world = build_world(application)
    yield application, world, [world.submit(title=f"Shared {n}") for n in range(3)]
    application.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commands=COMMANDS, threads=st.integers(min_value=2, max_value=6))
def test_any_interleaving_leaves_the_log_a_serial_replay_agrees_with(
    shared_store: tuple[TrackerApplication, World, list[UUID]], commands: list[tuple[int, bool]], threads: int
) -> None:
    app, world, innovations = shared_store
    start = app.current_position()
    bodies = [f"note {time.monotonic_ns()} {n}" for n in range(len(commands))]

    def command(n: int) -> Callable[[], Any]:
        which, pinned = commands[n]
        iid = innovations[which]
        version = app.get_innovation(iid).version if pinned else None
        return lambda: app.add_note(iid, actor=world.manager, body=bodies[n], expected_version=version)

    runs = [command(n) for n in range(len(commands))]
    results: list[Any] = []
    for offset in range(0, len(runs), threads):
        results += together(*runs[offset : offset + threads])
    stored = {bodies[n]: r for n, r in enumerate(results) if not isinstance(r, Exception)}
    assert all(isinstance(r, VersionConflictError) for r in results if isinstance(r, Exception)), results
    # The log after `start`: positions in order, each stored command's one event at its receipt's position, and no
    # event of a refused command.
    log = app.read_log(start, 1000)
    assert [r.position for r in log] == list(range(start + 1, start + 1 + len(log)))
    assert sorted(r.data["body"] for r in log) == sorted(stored)
    for record in log:
        receipt = stored[record.data["body"]]
        assert (receipt.position, receipt.aggregate_id, receipt.version) == (
            record.position,
            record.aggregate_id,
            record.version,
        )
    # A serial replay of each innovation's events gives what the application reads, versions without gaps.
    for iid in innovations:
        history = app.history(iid)
        assert [r.version for r in history] == list(range(1, len(history) + 1))
        replayed = [r.data["body"] for r in history if "body" in r.data]
        assert [n["body"] for n in app.get_innovation(iid).notes] == replayed
