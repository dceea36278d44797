"""Many writers on one innovation: no acknowledged event is lost, no version gap, losers get conflicts."""

from __future__ import annotations

import threading
from collections import Counter
from uuid import UUID

import pytest

from storage.application import open_application
from storage.schema import create_event_tables
from tests.world import build_world
from tracker.application import Receipt, TrackerApplication
from tracker.errors import VersionConflictError

THREADS = 8
COMMANDS_PER_THREAD = 12


def hammer(app: TrackerApplication, iid: UUID, provider: object) -> tuple[list[Receipt], Counter[str]]:
    acknowledged: list[Receipt] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def writer(n: int) -> None:
        start.wait()
        for i in range(COMMANDS_PER_THREAD):
            pinned = i % 2 == 0  # half the commands pin the version they read, like If-Match
            try:
                expected = app.get_innovation(iid).version if pinned else None
                receipt = app.add_evidence(
                    iid,
                    actor=provider,
                    kind="report",
                    title=f"w{n}-{i}",
                    expected_version=expected,  # type: ignore[arg-type]
                )
            except VersionConflictError:
                with lock:
                    outcomes["conflict"] += 1
            except Exception as exc:  # anything else is corruption or a crash: fail loudly
                with lock:
                    outcomes[f"error: {exc!r}"] += 1
            else:
                with lock:
                    acknowledged.append(receipt)
                    outcomes["ok"] += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return acknowledged, outcomes


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_writers_lose_no_acknowledged_event_when_eight_threads_write_one_innovation(
    request: pytest.FixtureRequest, store: str
) -> None:
    url = request.getfixturevalue(f"{store}_url")
    create_event_tables(url)
    app = open_application(url, pool_size=THREADS)
    try:
        world = build_world(app)
        iid = world.submit()
        acknowledged, outcomes = hammer(app, iid, world.provider)

        assert not [k for k in outcomes if k.startswith("error")], outcomes
        assert outcomes["conflict"] > 0, "the writers never raced, so the test proved nothing"
        assert outcomes["ok"] + outcomes["conflict"] == THREADS * COMMANDS_PER_THREAD
        history = app.history(iid)
        assert [h.version for h in history] == list(range(1, len(history) + 1)), "versions have a gap"
        assert len(history) == 1 + len(acknowledged)
        stored = {h.data["evidence_id"]: (h.version, h.position) for h in history if h.type == "EvidenceAdded"}
        for receipt in acknowledged:
            assert stored[receipt.item_id] == (receipt.version, receipt.position)
        unpinned = THREADS * COMMANDS_PER_THREAD // 2
        assert outcomes["ok"] >= unpinned, "unpinned commands must be retried, not refused"
    finally:
        app.close()


def test_a_command_given_the_aggregate_its_caller_loaded_starts_from_it_and_reloads_after_a_lost_race(
    app: TrackerApplication,
) -> None:
    world = build_world(app)
    iid = world.submit()
    loads: list[UUID] = []
    real_get = app.repository.get

    def counted_get(aggregate_id: UUID, *args: object, **kwargs: object) -> object:
        loads.append(aggregate_id)
        return real_get(aggregate_id, *args, **kwargs)  # type: ignore[arg-type]

    app.repository.get = counted_get  # type: ignore[method-assign]
    fresh = app.get_innovation(iid)
    loads.clear()
    first = app.add_evidence(iid, actor=world.provider, kind="report", title="From the loaded", loaded=fresh)
    assert loads == [], "the command loaded the innovation again"
    assert first.version == fresh.version

    # A copy loaded before that write has lost the race: the command stores nothing from it, reloads and retries.
    stale = app.get_innovation(iid, version=first.version - 1)
    loads.clear()
    second = app.add_evidence(iid, actor=world.provider, kind="report", title="After the race", loaded=stale)
    assert loads == [iid]
    assert second.version == first.version + 1
    assert [h.version for h in app.history(iid)] == list(range(1, second.version + 1))
    # Pinned to the stale version, the lost race is a conflict, as it is when the command loads it itself.
    stale = app.get_innovation(iid, version=second.version - 1)
    with pytest.raises(VersionConflictError):
        app.add_evidence(
            iid, actor=world.provider, kind="report", title="Pinned", loaded=stale, expected_version=stale.version
        )
    assert app.get_innovation(iid).version == second.version


def test_a_pinned_command_given_an_older_copy_than_its_pin_loads_the_current_one(app: TrackerApplication) -> None:
    """A copy loaded before the version the caller pinned is no reason for a conflict: the command loads afresh."""
    world = build_world(app)
    iid = world.submit()
    older = app.get_innovation(iid)
    current = app.add_evidence(iid, actor=world.provider, kind="report", title="Moves it on")
    receipt = app.add_evidence(
        iid, actor=world.provider, kind="report", title="Pinned", loaded=older, expected_version=current.version
    )
    assert receipt.version == current.version + 1
