"""Loading an innovation with 10,000 events: with snapshots (every 100 events) against a replay from scratch."""

from __future__ import annotations

import time
from uuid import uuid4

from tracker.actors import Actor
from tracker.application import TrackerApplication, replay
from tracker.base import Context
from tracker.innovation import Innovation


def long_history(app: TrackerApplication, events: int = 10_000) -> object:
    owner = app.register_organisation(
        actor=Actor("bench", "admin"), name=f"Long history {uuid4().hex[:6]}", country="FI", kind="ngo"
    ).aggregate_id
    provider = Actor("bench-provider", "provider", owner)
    innovation = Innovation.submit(
        Context(provider, app.clock()), id=uuid4(), title="Long", summary="s", themes=["x"], organisation_id=owner
    )
    app.save(innovation)
    for start in range(1, events, 500):
        inn = app.get_innovation(innovation.id)
        for n in range(start, min(start + 500, events)):
            inn.revise(Context(provider, app.clock()), {"summary": f"Revision {n}"})
        app.save(inn)
    return innovation.id


def load_times(app: TrackerApplication, innovation_id: object, repeats: int) -> tuple[list[float], list[float]]:
    snapshot, scratch = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        app.get_innovation(innovation_id)  # type: ignore[arg-type]
        snapshot.append((time.perf_counter() - t0) * 1000)
    for _ in range(max(5, repeats // 20)):
        t0 = time.perf_counter()
        replay(None, app.events.get(innovation_id))  # type: ignore[arg-type]
        scratch.append((time.perf_counter() - t0) * 1000)
    return snapshot, scratch
