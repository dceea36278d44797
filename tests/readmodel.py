"""Helpers for read-model tests: a random command history (tables are compared with projections.dump)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from alembic.script import ScriptDirectory
from sqlalchemy import text, update

from projections import deferred
from projections import tables as t
from projections.migrate import alembic_config, code_revision
from projections.read_model import ReadModel
from tests.world import ADMIN, FULL_SCORES, World, build_world
from tracker.errors import DomainError
from tracker.stages import DECISIONS, STAGES


class Clock:
    """A clock that moves forward by a random number of hours per command."""

    def __init__(self, rng: random.Random, start: datetime | None = None) -> None:
        self.rng = rng
        self.now = start or datetime(2023, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(hours=self.rng.randint(0, 72), minutes=self.rng.randint(0, 59))
        return self.now


class SteppingBack(Clock):
    """A wall clock that now and then steps back: 40 days, or to the first instant of the month (exactly at a
    series' point)."""

    def __call__(self) -> datetime:
        now = super().__call__()
        draw = self.rng.random()
        if draw < 0.15:
            return now - timedelta(days=40)
        if draw < 0.3:
            return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return now


def random_history(world: World, rng: random.Random, steps: int, after_each: Any = None, stop: Any = None) -> int:
    """Apply `steps` random commands (some refused); returns how many were accepted."""
    app = world.app
    ids = [world.submit() for _ in range(3)]
    accepted = 0
    for _ in range(steps):
        if stop is not None and stop.is_set():
            break
        iid = rng.choice(ids)
        roll = rng.random()
        evaluator = world.evaluator(rng.choice([1, 2, 3]))
        scores = {k: rng.choice([None, 1, 2, 3, 4, 4]) for k in FULL_SCORES}
        try:
            if roll < 0.08:
                ids.append(world.submit(themes=rng.sample(["badges", "green skills", "dual learning", "mobility"], 2)))
            elif roll < 0.3:
                # Mostly assessments; some rounds are opened or changed without one (the evaluators' grants).
                turn = rng.random()
                if turn < 0.7:
                    world.assess(iid, evaluator, scores=scores, rationale="random")
                elif turn < 0.85:
                    world.assign(iid, evaluator)
                else:
                    app.unassign_evaluator(iid, actor=world.manager, evaluator_id=evaluator.id)
            elif roll < 0.45:
                pilot = app.start_pilot(
                    iid, actor=world.provider, site_organisation_id=world.site, started_on="2022-06-01"
                )
                if rng.random() < 0.8:
                    app.record_pilot_outcome(
                        iid,
                        pilot.item_id,
                        actor=world.provider,
                        ended_on="2022-09-01",
                        participants=12,
                        completion_rate=0.75,
                    )
            elif roll < 0.55:
                app.add_evidence(iid, actor=world.provider, kind="report", title=f"Report {rng.random():.3f}")
            elif roll < 0.6:
                app.record_adoption(
                    iid, actor=ADMIN, organisation_id=rng.choice([world.site, world.member]), adopted_on="2022-12-01"
                )
            elif roll < 0.66:
                app.revise_innovation(
                    iid, {"title": f"Title {rng.randint(1, 5)}", "themes": ["badges", "open"]}, actor=world.provider
                )
            else:
                decision = rng.choice(("advance", "advance", "advance", *DECISIONS))
                to_stage = rng.choice(STAGES) if decision == "recycle" else None
                app.decide_gate(iid, actor=world.manager, decision=decision, to_stage=to_stage, rationale="random")
            accepted += 1
        except DomainError:
            pass
        if after_each is not None:
            after_each()
    return accepted


def projected_history(read_model: ReadModel, seed: int, steps: int) -> World:
    """A world with `steps` random commands on a moving clock, every event projected."""
    rng = random.Random(seed)
    read_model.app.clock = Clock(rng)
    world = build_world(read_model.app)
    random_history(world, rng, steps=steps)
    read_model.catch_up()
    return world


def stamp(read_model: ReadModel, revision: str) -> None:
    """Record `revision` as the schema's, as an upgrade or a downgrade by another release would leave it."""
    with read_model.write_lock, read_model.writer.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision})


def earlier_revision() -> str:
    """The schema revision before this release's latest, as a process of the release before would be written for."""
    down = ScriptDirectory.from_config(alembic_config()).get_revision(code_revision()).down_revision
    assert isinstance(down, str)
    return down


def age_records(read_model: ReadModel) -> None:
    """Make the records look as a stopped rebuild's do once its lease is over."""
    with read_model.writer.begin() as conn:
        stopped = deferred.clock(conn) - deferred.REBUILD_LEASE - timedelta(seconds=1)
        conn.execute(update(t.deferred).values(touched_at=stopped))


def running_import_job(
    services: Any, *, person_id: Any, runner: str, path: str, updated_at: datetime, done: int, total: int = 3
) -> UUID:
    """An import job's row as a running import leaves it (runtime.import_jobs), of a CoVE file `path`."""
    from runtime.import_jobs import import_jobs

    job_id = uuid4()
    with services.read_model.writer.begin() as tx:
        tx.execute(
            import_jobs.insert().values(
                id=job_id,
                person_id=person_id,
                source="cove",
                filename="cove-part.json",
                state="running",
                done=done,
                total=total,
                note="",
                started_at=updated_at,
                updated_at=updated_at,
                runner=runner,
                path=path,
                filters=[],
            )
        )
    return job_id


def store_fails_at(monkeypatch: Any, app: Any, call: int) -> None:
    """Make the `call`-th ecosystem registration fail as a locked SQLite store does (the store, not the record)."""
    from sqlalchemy.exc import OperationalError

    register = app.register_ecosystem
    calls: list[object] = []

    def failing(**kwargs: object) -> object:
        calls.append(kwargs)
        if len(calls) == call:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return register(**kwargs)

    monkeypatch.setattr(app, "register_ecosystem", failing)
