"""Rubric v1.1: the assessable criteria carry at least 60% of the weight, each criterion may carry a comment, and
three or more evaluators whose scores spread 30 points or more are consolidated as the mean of the two closest."""

from __future__ import annotations

import dataclasses
import uuid
from statistics import fmean

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.world import FULL_SCORES, World, build_world
from tracker.application import TrackerApplication
from tracker.errors import InvalidScoresError, ValidationError
from tracker.innovation import Innovation
from tracker.rubric import MAX_SPREAD, consolidate, validate_comments, validate_scores

NONE = dict.fromkeys(FULL_SCORES)


# ---- the 60% rule -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assessed", "allowed"),
    [
        (("openness",), False),  # 10% of the weight: alone it would score 100
        (("relevance", "effectiveness"), False),  # 40%
        (("relevance", "effectiveness", "partnership", "openness"), True),  # 60% exactly
        (("relevance", "effectiveness", "transferability"), True),  # 60%
        (("relevance", "effectiveness", "partnership"), False),  # 50%
        (tuple(FULL_SCORES), True),
    ],
)
def test_the_assessable_criteria_must_carry_at_least_60_percent_of_the_weight(
    assessed: tuple[str, ...], allowed: bool
) -> None:
    scores = NONE | dict.fromkeys(assessed, 4)
    if allowed:
        assert validate_scores(scores) == scores
    else:
        with pytest.raises(InvalidScoresError) as refused:
            validate_scores(scores)
        assert refused.value.rule == "scores.too_little_assessable"
        assert refused.value.field == "scores"


# ---- comments -----------------------------------------------------------------------------------------------------


def test_comments_are_kept_per_criterion_and_blank_ones_dropped() -> None:
    assert validate_comments({"openness": "  CC BY licence ", "relevance": " "}) == {"openness": "CC BY licence"}
    assert validate_comments(None) == {}
    with pytest.raises(InvalidScoresError, match="unknown criteria: colour"):
        validate_comments({"colour": "blue"})
    with pytest.raises(ValidationError, match="at most 2000"):
        validate_comments({"openness": "x" * 2001})


# ---- consolidation ------------------------------------------------------------------------------------------------


def test_three_evaluators_spread_30_or_more_are_consolidated_as_the_mean_of_the_two_closest() -> None:
    score = consolidate([90.0, 40.0, 85.0])
    assert score is not None
    assert (score.value, score.evaluators, score.spread) == (87.5, 3, 50.0)


def test_when_two_pairs_are_equally_close_the_mean_of_all_is_kept() -> None:
    score = consolidate([20.0, 50.0, 80.0])
    assert score is not None
    assert (score.value, score.spread) == (50.0, 60.0)


def test_two_evaluators_far_apart_and_three_close_together_keep_the_plain_mean() -> None:
    two = consolidate([90.0, 40.0])
    close = consolidate([70.0, 60.0, 50.0])
    assert two is not None
    assert close is not None
    assert two.value == 65.0
    assert close.value == 60.0


@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=1, max_size=8))
def test_the_consolidated_mpi_lies_within_the_scores_and_is_their_mean_unless_the_rule_applies(
    mpis: list[float],
) -> None:
    score = consolidate(mpis)
    assert score is not None
    assert min(mpis) - 0.01 <= score.value <= max(mpis) + 0.01
    assert score.evaluators == len(mpis)
    if len(mpis) < 3 or max(mpis) - min(mpis) < MAX_SPREAD - 0.01:
        assert score.value == round(fmean(mpis), 2)


def test_the_mainstreaming_gate_consolidates_three_evaluators_with_the_same_rule(app: TrackerApplication) -> None:
    world = build_world(app)
    iid = world.submit()
    world.to_stage(iid, "assessment")
    high = dict.fromkeys(FULL_SCORES, 4)
    low = dict.fromkeys(FULL_SCORES, 1)
    for n, scores in ((1, high), (2, low), (3, high | {"openness": 3})):
        world.assess(iid, world.evaluator(n), scores=scores, rationale="Assessed")
    inn = app.get_innovation(iid)
    consolidated = inn.consolidated
    assert consolidated is not None
    assert consolidated.spread >= MAX_SPREAD
    assert consolidated.value > 90  # the two high scores, not the mean with the low one (75.8)


# ---- old events and snapshots -------------------------------------------------------------------------------------


def test_an_assessment_stored_as_version_1_without_comments_is_read_by_current_code(app: TrackerApplication) -> None:
    world: World = build_world(app)
    iid = world.submit()
    evaluator = world.evaluator(1)
    template = app.mapper.to_stored_event(
        Innovation.AssessmentRecorded(
            originator_id=iid,
            originator_version=2,
            timestamp=app.clock(),
            actor_id=evaluator.id,
            actor_role=evaluator.role,
            actor_key=None,
            correlation_id=None,
            assessment_id=uuid.uuid4(),
            evaluator_organisation_id=evaluator.organisation_id,
            rubric_version=1,
            scores=FULL_SCORES,
            comments={"ignored": "x"},
            rationale="Recorded before comments existed",
        )
    )
    state = app.mapper.transcoder.decode(template.state)
    assert state.pop("class_version") == 2
    del state["comments"]  # exactly what a version 1 event held
    del state["actor_key"]
    app.recorder.insert_events([dataclasses.replace(template, state=app.mapper.transcoder.encode(state))])

    innovation = app.get_innovation(iid)
    assert innovation.assessments[0]["comments"] == {}
    assert innovation.consolidated is not None
    assert app.history(iid)[-1].data["comments"] == {}


def test_a_snapshot_taken_before_comments_and_assignments_is_read_by_current_code(app: TrackerApplication) -> None:
    world = build_world(app)
    iid = world.submit()
    world.assess(iid, world.evaluator(1), scores=FULL_SCORES, rationale="Before comments")
    app.take_snapshot(iid)
    (stored,) = app.snapshots.recorder.select_events(iid)
    snapshot = app.mapper.transcoder.decode(stored.state)
    snapshot["state"]["class_version"] = 1
    del snapshot["state"]["stage_seq"]  # no version before 4 numbered the visits of a stage
    for assessment in snapshot["state"]["assessments"]:
        del assessment["comments"]  # what a version 1 snapshot held
        del assessment["stage_seq"]
    del snapshot["state"]["assignments"]  # neither version 1 nor 2 had assignments or notes
    del snapshot["state"]["notes"]
    old = dataclasses.replace(stored, state=app.mapper.transcoder.encode(snapshot))
    fresh = open_fresh(app, iid, old)
    assert fresh.assessments[0]["comments"] == {}
    assert (fresh.assignments, fresh.notes) == ({}, [])
    assert (fresh.stage_seq, fresh.assessments[0]["stage_seq"]) == (1, 1)
    assert fresh.version == 3  # submitted, assigned, assessed


def open_fresh(app: TrackerApplication, iid: uuid.UUID, snapshot: object) -> Innovation:
    """The innovation rebuilt from `snapshot` (a stored snapshot event) alone."""
    aggregate = app.mapper.to_domain_event(snapshot).mutate(None)  # type: ignore[arg-type]
    assert isinstance(aggregate, Innovation)
    assert aggregate.id == iid
    return aggregate
