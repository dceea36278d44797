"""A round of evaluation is one visit of a stage: an innovation recycled back to a stage starts a new round there, in
which blind review, deliberation and the end of an assignment count only that visit's assessments."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from tests.test_rubric_v1_1 import open_fresh
from tests.world import FULL_SCORES, World, build_world
from tracker import evaluation
from tracker.application import TrackerApplication
from tracker.errors import AssignmentError


def revisited(world: World) -> uuid.UUID:
    """Assessed in identification by evaluators 1 and 2, advanced to testing, recycled to identification, where
    evaluator 2 is assessed again and evaluator 1 is assigned again: visits 1 (identification), 2 (testing) and
    3 (identification)."""
    app = world.app
    iid = world.submit()
    world.assess(iid, world.evaluator(2), scores=FULL_SCORES, rationale="first visit 2")
    world.to_stage(iid, "testing")  # evaluator 1 assesses identification on the way
    app.decide_gate(iid, actor=world.manager, decision="recycle", to_stage="identification", rationale="rework")
    world.assess(iid, world.evaluator(2), scores=dict.fromkeys(FULL_SCORES, 1), rationale="third visit 2")
    world.assign(iid, world.evaluator(1))
    return iid


def test_each_visit_of_a_stage_is_a_round_of_its_own(app: TrackerApplication) -> None:
    world = build_world(app)
    iid = revisited(world)
    inn = app.get_innovation(iid)
    first, second = world.evaluator(1).id, world.evaluator(2).id
    assert (inn.stage, inn.stage_seq) == ("identification", 3)
    assert [(a["evaluator_id"], a["stage_seq"]) for a in inn.assessments] == [(second, 1), (first, 1), (second, 3)]
    assert [a["rationale"] for a in inn.round_assessments()] == ["third visit 2"]
    # Evaluator 1 assessed identification in its first visit, not in this one: blind, no notes, and the
    # assignment may still end.
    assert evaluation.blind(inn, first)
    assert not evaluation.deliberates(inn, first)
    assert evaluation.deliberates(inn, second)
    assert not evaluation.blind(inn, second)
    app.unassign_evaluator(iid, actor=world.manager, evaluator_id=first)
    with pytest.raises(AssignmentError) as refused:
        app.unassign_evaluator(iid, actor=world.manager, evaluator_id=second)
    assert refused.value.rule == "assignment.already_assessed"


@pytest.mark.parametrize("snapshot_at", ["first visit", "third visit"])
def test_a_snapshot_taken_before_visits_were_numbered_is_numbered_as_the_events_number_them(
    app: TrackerApplication, snapshot_at: str
) -> None:
    world = build_world(app)
    if snapshot_at == "first visit":
        iid = world.submit()
        world.assess(iid, world.evaluator(1), scores=FULL_SCORES, rationale="first visit 1")
    else:
        iid = revisited(world)
    replayed = app.get_innovation(iid)
    app.take_snapshot(iid)
    (stored,) = app.snapshots.recorder.select_events(iid)
    snapshot = app.mapper.transcoder.decode(stored.state)
    assert snapshot["state"]["class_version"] == 4
    snapshot["state"]["class_version"] = 3  # what a version 3 snapshot held: no visits numbered
    del snapshot["state"]["stage_seq"]
    for assessment in snapshot["state"]["assessments"]:
        del assessment["stage_seq"]
    fresh = open_fresh(app, iid, dataclasses.replace(stored, state=app.mapper.transcoder.encode(snapshot)))
    assert fresh.stage_seq == replayed.stage_seq
    assert [a["stage_seq"] for a in fresh.assessments] == [a["stage_seq"] for a in replayed.assessments]
    assert evaluation.blind(fresh, world.evaluator(1).id) == evaluation.blind(replayed, world.evaluator(1).id)
