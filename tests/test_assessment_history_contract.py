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
    first = world.assess(iid, world.evaluator(1), scores=scores, rationale="strong")
    assert first.aggregate.assessments[-1]["mpi"] == 100.0
    assert first.aggregate.assessments[-1]["rubric_version"] == 1
    world.assess(iid, world.evaluator(2), scores=dict.fromkeys(FULL_SCORES, 2), rationale="partial")
    superseding = world.assess(iid, world.evaluator(1), scores=dict.fromkeys(FULL_SCORES, 3), rationale="revised")
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
    world.assign(iid, world.evaluator(1))
    with refused(world.app, InvalidScoresError, rule):
        world.assess(iid, world.evaluator(1), scores=scores, rationale="x")  # type: ignore[arg-type]


def test_assignment_and_decision_are_refused_for_a_conflict_of_interest(world: World) -> None:
    app, iid = world.app, world.submit()
    for conflicted in (world.conflicted_owner_evaluator, world.conflicted_member_evaluator):
        with refused(app, ConflictOfInterestError, "assignment.conflict_of_interest"):
            world.assign(iid, conflicted)
    world.assess(iid, world.evaluator(1), scores=FULL_SCORES, rationale="independent")
    partner_manager = Actor("manager-partner", "manager", world.member)
    with refused(app, ConflictOfInterestError, "conflict_of_interest.ecosystem_member"):
        app.decide_gate(iid, actor=partner_manager, decision="advance", rationale="go")
    owner_manager = Actor("manager-owner", "manager", world.owner)
    with refused(app, ConflictOfInterestError, "conflict_of_interest.owner"):
        app.decide_gate(iid, actor=owner_manager, decision="advance", rationale="go")
    assert app.decide_gate(iid, actor=world.manager, decision="advance", rationale="go").aggregate.stage == "testing"


def test_conflict_of_interest_follows_membership_added_later(world: World) -> None:
    """Assigned before its organisation joined the ecosystem, the evaluator is refused when assessing."""
    app, iid = world.app, world.submit()
    world.assign(iid, world.evaluator(1))
    app.add_ecosystem_member(world.ecosystem, actor=ADMIN, organisation_id=world.eval_org_a, role="associated_partner")
    with refused(app, ConflictOfInterestError, "conflict_of_interest.ecosystem_member"):
        world.assess(iid, world.evaluator(1), scores=FULL_SCORES, rationale="now a member")


# ---- audit and time travel --------------------------------------------------------------


def test_every_event_records_actor_and_correlation_id_and_its_log_position(world: World) -> None:
    app = world.app
    iid = app.submit_innovation(
        actor=world.provider, title="T", summary="S", themes=["x"], organisation_id=world.owner, correlation_id="req-1"
    ).aggregate_id
    app.add_evidence(iid, actor=world.provider, kind="report", title="r", correlation_id="req-2")
    app.decide_gate(iid, actor=world.manager, decision="hold", rationale="pause")
    history = app.history(iid)
    assert [(h.version, h.type, h.actor_id, h.actor_role, h.correlation_id) for h in history] == [
        (1, "Submitted", "provider-1", "provider", "req-1"),
        (2, "EvidenceAdded", "provider-1", "provider", "req-2"),
        (3, "PutOnHold", "manager-1", "manager", None),
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
    world.assign(iid, world.evaluator(1))  # 2024-03-01
    world.assess(iid, world.evaluator(1), scores=FULL_SCORES, rationale="ok")  # 2024-03-31
    app.decide_gate(iid, actor=world.manager, decision="advance", rationale="go")  # 2024-04-30
    assert app.get_innovation(iid, version=3).stage == "identification"
    assert app.get_innovation(iid, as_of=datetime(2024, 4, 15, tzinfo=UTC)).version == 3
    assert app.get_innovation(iid, as_of=datetime(2024, 5, 1, tzinfo=UTC)).stage == "testing"
    with pytest.raises(NotFoundError):
        app.get_innovation(iid, as_of=datetime(2024, 1, 1, tzinfo=UTC))
    with pytest.raises(ValidationError):
        app.get_innovation(iid, as_of=datetime(2024, 4, 1))


def test_actor_must_have_a_known_role() -> None:
    with pytest.raises(ValidationError):
        Actor("x", "superuser")
    with pytest.raises(ValidationError):
        Actor("", "admin")
