"""Innovations are snapshotted every 100 events, so long histories load from a recent snapshot."""

from __future__ import annotations

import pytest
from eventsourcing.application import project_aggregate
from eventsourcing.domain import CanMutateProtocol

from tests.world import build_world
from tracker.application import TrackerApplication


def test_innovation_loads_from_latest_snapshot_when_history_is_long(app: TrackerApplication) -> None:
    world = build_world(app)
    iid = world.submit()
    for n in range(249):
        app.revise_innovation(iid, {"summary": f"Revision {n}"}, actor=world.provider)
    assert app.snapshots is not None
    assert [s.originator_version for s in app.snapshots.get(iid)] == [100, 200]

    read: list[int] = []
    original_get = app.events.get

    def counting_get(*args, **kwargs):  # type: ignore[no-untyped-def]
        events = list(original_get(*args, **kwargs))
        read.extend(e.originator_version for e in events)
        return events

    app.events.get = counting_get  # type: ignore[method-assign]
    loaded = app.get_innovation(iid)
    assert read == list(range(201, 251)), "the repository replayed events the snapshot already covers"
    app.events.get = original_get  # type: ignore[method-assign]
    replayed = project_aggregate(None, app.events.get(iid))
    assert vars(loaded) == vars(replayed)
    assert loaded.summary == "Revision 248"


def test_loads_and_snapshots_do_not_check_each_event_against_the_librarys_protocol(
    app: TrackerApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library's projector asserts that every event matches CanMutateProtocol, a runtime-checkable Protocol whose
    isinstance check costs several times what applying the event does; the tracker's repository replays without it,
    to the same state."""
    world = build_world(app)
    iid = world.submit()
    checked: list[object] = []
    protocol_check = type(CanMutateProtocol).__instancecheck__

    def counting(cls: type, instance: object) -> bool:
        if cls is CanMutateProtocol:
            checked.append(instance)
        return protocol_check(cls, instance)

    monkeypatch.setattr(type(CanMutateProtocol), "__instancecheck__", counting)
    for n in range(120):  # past the snapshot at version 100
        app.revise_innovation(iid, {"summary": f"Revision {n}"}, actor=world.provider)
    assert world.owner in app.repository
    loaded = app.get_innovation(iid)
    assert app.snapshots is not None
    assert [s.originator_version for s in app.snapshots.get(iid)] == [100]
    assert checked == [], "an aggregate was replayed through the library's checked projector"

    replayed = project_aggregate(None, app.events.get(iid))
    assert checked, "the check is counted"
    assert vars(loaded) == vars(replayed)
