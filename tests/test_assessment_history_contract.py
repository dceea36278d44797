"""The application contract for assessments, conflicts of interest, audit and time travel.

Run on the in-memory, SQLite and PostgreSQL stores.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.contract import refused
from tests.world import ADMIN, FULL_SCORES, World
from tracker.actors import Actor
from tracker.errors import (
    ConflictOfInterestError,
    InvalidScoresError,
    NotFoundError,
    ValidationError,
)

# ---- assessments ------------------------------------------------------------------------


def test_assessment_renormalises_over_assessable_criteria_and_consolidates_latest_per_evaluator(world: World) -> None:
    app, iid = world.app, world.submit()
    scores = dict.fromkeys(FULL_SCORES, 4) | {"openness": None, "partnership": None}
    first = app.record_assessment(iid, actor=world.evaluator(1), scores=scores, rationale="strong")
    assert first.aggregate.assessments[-1]["mpi"] == 100.0
    assert first.aggregate.assessments[-1]["rubric_version"] == 1
    app.record_assessment(iid, actor=world.evaluator(2), scores=dict.fromkeys(FULL_SCORES, 2), rationale="partial")
    superseding = app.record_assessment(
        iid, actor=world.evaluator(1), scores=dict.fromkeys(FULL_SCORES, 3), rationale="revised"
    )
    consolidated = superseding.aggregate.consolidated
    assert (consolidated.value, consolidated.evaluators, consolidated.spread) == (62.5, 2, 25.0)
    assert app.history(iid)[-1].data["rubric_version"] == 1


@pytest.mark.parametrize(
    ("scores", "rule"),
    [
        ({k: v for k, v in FULL_SCORES.items() if k != "openness"}, "scores.incomplete"),
        (FULL_SCORES | {"relevance": 5}, "scores.out_of_range"),
        (FULL_SCORES | {"relevance": -1}, "scores.out_of_range"),
        (FULL_SCORES | {"relevance": 2.5}, "scores.out_of_range"),
        (FULL_SCORES | {"relevance": True}, "scores.out_of_range"),
        (FULL_SCORES | {"impact": 3}, "scores.unknown_criterion"),
        (dict.fromkeys(FULL_SCORES), "scores.none_assessable"),
    ],
)
def test_assessment_is_refused_when_scores_are_invalid(world: World, scores: dict[str, object], rule: str) -> None:
    iid = world.submit()
    with refused(world.app, InvalidScoresError, rule):
        world.app.record_assessment(iid, actor=world.evaluator(1), scores=scores, rationale="x")  # type: ignore[arg-type]


def test_assessment_and_decision_are_refused_when_evaluator_has_a_conflict_of_interest(world: World) -> None:
    app, iid = world.app, world.submit()
    with refused(app, ConflictOfInterestError, "conflict_of_interest.owner"):
        app.record_assessment(iid, actor=world.conflicted_owner_evaluator, scores=FULL_SCORES, rationale="mine")
    with refused(app, ConflictOfInterestError, "conflict_of_interest.ecosystem_member"):
        app.record_assessment(iid, actor=world.conflicted_member_evaluator, scores=FULL_SCORES, rationale="partner")
    app.record_assessment(iid, actor=world.evaluator(1), scores=FULL_SCORES, rationale="independent")
    with refused(app, ConflictOfInterestError, "conflict_of_interest.ecosystem_member"):
        app.decide_gate(iid, actor=world.conflicted_member_evaluator, decision="advance", rationale="go")


def test_conflict_of_interest_follows_membership_added_later(world: World) -> None:
    app, iid = world.app, world.submit()
    app.add_ecosystem_member(world.ecosystem, actor=ADMIN, organisation_id=world.eval_org_a, role="associated_partner")
    with refused(app, ConflictOfInterestError, "conflict_of_interest.ecosystem_member"):
        app.record_assessment(iid, actor=world.evaluator(1), scores=FULL_SCORES, rationale="now a member")


# ---- audit and time travel --------------------------------------------------------------


def test_every_event_records_actor_and_correlation_id_and_its_log_position(world: World) -> None:
    app = world.app
    iid = app.submit_innovation(
        actor=world.provider, title="T", summary="S", themes=["x"], organisation_id=world.owner, correlation_id="req-1"
    ).aggregate_id
    app.add_evidence(iid, actor=world.provider, kind="report", title="r", correlation_id="req-2")
    app.decide_gate(iid, actor=world.evaluator(1), decision="hold", rationale="pause")
    history = app.history(iid)
    assert [(h.version, h.type, h.actor_id, h.actor_role, h.correlation_id) for h in history] == [
        (1, "Submitted", "provider-1", "provider", "req-1"),
        (2, "EvidenceAdded", "provider-1", "provider", "req-2"),
        (3, "PutOnHold", "evaluator-1", "evaluator", None),
    ]
    positions = [h.position for h in history]
    assert positions == sorted(positions)
    assert positions[-1] == app.current_position()
    assert (history[0].aggregate_type, history[0].data["title"]) == ("Innovation", "T")
    assert history[2].data == {"stage": "identification", "rationale": "pause"}


def test_innovation_can_be_rebuilt_as_of_a_version_or_an_instant(world: World) -> None:
    app = world.app
    clock = [datetime(2024, 1, 1, 9, tzinfo=UTC)]

    def tick() -> datetime:
        clock[0] += timedelta(days=30)
        return clock[0]

    app.clock = tick
    iid = world.submit()  # 2024-01-31
    app.record_assessment(iid, actor=world.evaluator(1), scores=FULL_SCORES, rationale="ok")  # 2024-03-01
    app.decide_gate(iid, actor=world.evaluator(1), decision="advance", rationale="go")  # 2024-03-31
    assert app.get_innovation(iid, version=2).stage == "identification"
    assert app.get_innovation(iid, as_of=datetime(2024, 3, 15, tzinfo=UTC)).version == 2
    assert app.get_innovation(iid, as_of=datetime(2024, 4, 1, tzinfo=UTC)).stage == "testing"
    with pytest.raises(NotFoundError):
        app.get_innovation(iid, as_of=datetime(2024, 1, 1, tzinfo=UTC))
    with pytest.raises(ValidationError):
        app.get_innovation(iid, as_of=datetime(2024, 4, 1))


def test_actor_must_have_a_known_role() -> None:
    with pytest.raises(ValidationError):
        Actor("x", "superuser")
    with pytest.raises(ValidationError):
        Actor("", "admin")
