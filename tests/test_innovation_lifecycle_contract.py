"""The application contract for an innovation's life: submission, pilots, evidence, adoptions and gates.

Run on the in-memory, SQLite and PostgreSQL stores.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from tests.contract import refused
from tests.world import ADMIN, FULL_SCORES, World
from tracker.errors import (
    DomainError,
    DuplicateAdoptionError,
    GateNotMetError,
    IllegalDecisionError,
    InnovationOnHoldError,
    InvalidDateError,
    NotFoundError,
    PilotError,
    TerminalStateError,
    ValidationError,
    VersionConflictError,
)

# ---- innovations: submission and details ------------------------------------------------


def test_submit_innovation_starts_in_identification_and_active(world: World) -> None:
    receipt = world.app.submit_innovation(
        actor=world.provider,
        title="Dual learning",
        summary="Work-based",
        themes=["Dual Learning"],
        organisation_id=world.owner,
    )
    inn = receipt.aggregate
    assert (inn.stage, inn.status, receipt.version, inn.themes) == ("identification", "active", 1, ["dual learning"])
    assert inn.consolidated is None


@pytest.mark.parametrize(
    ("overrides", "error", "rule"),
    [
        ({"title": ""}, ValidationError, "validation.title"),
        ({"themes": []}, ValidationError, "validation.themes.required"),
        ({"themes": "digital"}, ValidationError, "validation.themes"),
        ({"readiness_level": 10}, ValidationError, "validation.readiness_level"),
        ({"readiness_level": True}, ValidationError, "validation.readiness_level"),
        ({"organisation_id": uuid4()}, NotFoundError, "not_found.organisation"),
        ({"ecosystem_id": uuid4()}, NotFoundError, "not_found.ecosystem"),
    ],
)
def test_submit_innovation_is_refused_when_input_is_invalid(
    world: World, overrides: dict[str, object], error: type[DomainError], rule: str
) -> None:
    with refused(world.app, error, rule):
        world.submit(**overrides)


def test_an_innovation_is_placed_only_in_an_ecosystem_its_organisation_is_a_member_of(world: World) -> None:
    """The ecosystem is where the innovation is piloted, and its members' evaluators are kept from assessing it: an
    organisation outside it could otherwise keep any ecosystem's evaluators off its innovation."""
    with refused(world.app, ValidationError, "ecosystem.not_member") as refusal:
        world.submit(organisation_id=world.site)
    assert refusal.info.value.field == "ecosystem_id"
    partner = world.app.get_innovation(world.submit(organisation_id=world.member))
    assert partner.ecosystem_id == world.ecosystem
    assert world.app.get_innovation(world.submit(organisation_id=world.site, ecosystem_id=None)).ecosystem_id is None


def test_a_title_is_one_line(world: World) -> None:
    """A title is an e-mail's subject and a list's cell: a line break in it, of any kind, is a space."""
    iid = world.submit(title="Open\r\nbadges\u2028for  welders")
    assert world.app.get_innovation(iid).title == "Open badges for welders"
    world.app.revise_innovation(iid, {"title": "Open\nbadges"}, actor=world.provider)
    assert world.app.get_innovation(iid).title == "Open badges"


def test_revise_innovation_records_only_changed_fields(world: World) -> None:
    iid = world.submit()
    receipt = world.app.revise_innovation(iid, {"title": "Badges 2.0", "readiness_level": 4}, actor=world.provider)
    assert receipt.version == 2
    assert world.app.history(iid)[-1].data == {"changes": {"title": "Badges 2.0"}}
    unchanged = world.app.revise_innovation(iid, {"title": "Badges 2.0"}, actor=world.provider)
    assert (unchanged.version, unchanged.position) == (2, None)
    with refused(world.app, ValidationError, "validation.stage"):
        world.app.revise_innovation(iid, {"stage": "mainstreamed"}, actor=world.provider)
    with refused(world.app, VersionConflictError):
        world.app.revise_innovation(iid, {"title": "Stale"}, actor=world.provider, expected_version=1)


# ---- pilots, evidence, adoptions --------------------------------------------------------


def test_pilot_outcome_is_recorded_once_and_validated(world: World) -> None:
    app, iid = world.app, world.submit()
    pilot = app.start_pilot(
        iid, actor=world.provider, site_organisation_id=world.site, started_on="2025-03-01", planned_participants=30
    )
    assert pilot.item_id is not None
    with refused(app, InvalidDateError, "validation.date.order"):
        app.record_pilot_outcome(
            iid, pilot.item_id, actor=world.provider, ended_on="2025-02-01", participants=20, completion_rate=0.5
        )
    with refused(app, ValidationError, "validation.completion_rate"):
        app.record_pilot_outcome(
            iid, pilot.item_id, actor=world.provider, ended_on="2025-06-01", participants=20, completion_rate=1.5
        )
    with refused(app, ValidationError, "validation.completion_rate"):
        app.record_pilot_outcome(
            iid,
            pilot.item_id,
            actor=world.provider,
            ended_on="2025-06-01",
            participants=20,
            completion_rate=float("nan"),
        )
    with refused(app, NotFoundError, "not_found.pilot"):
        app.record_pilot_outcome(
            iid, uuid4(), actor=world.provider, ended_on="2025-06-01", participants=20, completion_rate=0.5
        )
    app.record_pilot_outcome(
        iid,
        pilot.item_id,
        actor=world.provider,
        ended_on="2025-06-01",
        participants=28,
        completion_rate=0.9,
        satisfaction=4.5,
    )
    with refused(app, PilotError, "pilot.outcome_already_recorded"):
        app.record_pilot_outcome(
            iid, pilot.item_id, actor=world.provider, ended_on="2025-06-02", participants=28, completion_rate=0.9
        )
    outcome = app.get_innovation(iid).pilots[pilot.item_id.hex]["outcome"]
    assert (outcome["participants"], outcome["completion_rate"], outcome["satisfaction"]) == (28, 0.9, 4.5)


def test_pilot_is_refused_when_it_starts_in_the_future_or_at_an_unknown_site(world: World) -> None:
    app, iid = world.app, world.submit()
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date()
    with refused(app, InvalidDateError, "validation.date"):
        app.start_pilot(iid, actor=world.provider, site_organisation_id=world.site, started_on=tomorrow)
    with refused(app, InvalidDateError, "validation.date"):
        app.start_pilot(iid, actor=world.provider, site_organisation_id=world.site, started_on="01/02/2025")
    with refused(app, NotFoundError, "not_found.organisation"):
        app.start_pilot(iid, actor=world.provider, site_organisation_id=uuid4(), started_on="2025-01-01")


def test_evidence_and_adoptions_are_recorded_with_their_rules(world: World) -> None:
    app, iid = world.app, world.submit()
    app.add_evidence(
        iid, actor=world.provider, kind="report", title="Evaluation report", url="https://www.example.org/report.pdf"
    )
    with refused(app, ValidationError, "validation.kind"):
        app.add_evidence(iid, actor=world.provider, kind="rumour", title="Heard it")
    app.record_adoption(iid, actor=ADMIN, organisation_id=world.site, adopted_on="2025-09-01")
    with refused(app, DuplicateAdoptionError, "duplicate.adoption"):
        app.record_adoption(iid, actor=ADMIN, organisation_id=world.site, adopted_on="2025-09-02")
    with refused(app, DuplicateAdoptionError, "adoption.owner"):
        app.record_adoption(iid, actor=ADMIN, organisation_id=world.owner, adopted_on="2025-09-02")
    inn = app.get_innovation(iid)
    assert inn.evidence[0]["url"] == "https://www.example.org/report.pdf"
    assert [a["organisation_id"] for a in inn.adoptions] == [world.site]


def test_the_owner_is_the_submitting_organisation_whatever_follows(world: World) -> None:
    """owner_of reads the first event alone; a later event naming another organisation (an adoption, a pilot site)
    leaves the owner as it was."""
    app, iid = world.app, world.submit()
    app.start_pilot(iid, actor=world.provider, site_organisation_id=world.site, started_on="2025-01-01")
    app.record_adoption(iid, actor=ADMIN, organisation_id=world.site, adopted_on="2025-09-01")
    assert app.owner_of(iid) == world.owner == app.get_innovation(iid).organisation_id
    for unknown in (uuid4(), world.site, "not-an-id"):  # no aggregate; an organisation's own id; not a UUID
        with refused(app, NotFoundError, "not_found.innovation"):
            app.owner_of(unknown)  # type: ignore[arg-type]


# ---- gate decisions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "rule"),
    [
        ("identification", "gate.testing.assessment_required"),
        ("testing", "gate.development.pilot_outcome_required"),
        ("development", "gate.assessment.evidence_required"),
        ("assessment", "gate.mainstreamed.evaluators_required"),
    ],
)
def test_advance_is_refused_when_the_gate_requirement_is_unmet(world: World, stage: str, rule: str) -> None:
    app, iid = world.app, world.submit()
    _advance_without_meeting(world, iid, stage)
    with refused(app, GateNotMetError, rule) as _:
        app.decide_gate(iid, actor=world.manager, decision="advance", rationale="try")


def _advance_without_meeting(world: World, iid: object, stage: str) -> None:
    """Reach `stage` while leaving its own gate unmet (each earlier gate is met, in order)."""
    app = world.app
    order = ["identification", "testing", "development", "assessment"]
    for current in order[: order.index(stage)]:
        if current == "identification":
            world.assess(iid, world.evaluator(1), scores=FULL_SCORES, rationale="ok")  # type: ignore[arg-type]
        if current == "testing":
            pilot = app.start_pilot(iid, actor=world.provider, site_organisation_id=world.site, started_on="2025-01-01")  # type: ignore[arg-type]
            app.record_pilot_outcome(
                iid, pilot.item_id, actor=world.provider, ended_on="2025-02-01", participants=1, completion_rate=1
            )  # type: ignore[arg-type]
        if current == "development":
            app.add_evidence(iid, actor=world.provider, kind="report", title="r")  # type: ignore[arg-type]
        app.decide_gate(iid, actor=world.manager, decision="advance", rationale="ok")  # type: ignore[arg-type]
    if stage == "assessment":
        world.assess(iid, world.evaluator(1), scores=FULL_SCORES, rationale="only one")  # type: ignore[arg-type]


def test_innovation_is_mainstreamed_when_every_gate_is_met(world: World) -> None:
    app, iid = world.app, world.submit()
    world.to_stage(iid, "mainstreamed")
    inn = app.get_innovation(iid)
    assert (inn.stage, inn.status) == ("mainstreamed", "mainstreamed")
    assert [d["decision"] for d in inn.decisions] == ["advance"] * 4


def test_mainstreaming_is_refused_when_score_or_criterion_mean_is_too_low(world: World) -> None:
    app = world.app
    low = world.submit()
    world.to_stage(low, "assessment")
    for n in (1, 2):
        world.assess(low, world.evaluator(n), scores=dict.fromkeys(FULL_SCORES, 2), rationale="average")
    with refused(app, GateNotMetError, "gate.mainstreamed.score_too_low"):
        app.decide_gate(low, actor=world.manager, decision="advance", rationale="try")
    weak = world.submit()
    world.to_stage(weak, "assessment")
    scores = dict.fromkeys(FULL_SCORES, 4) | {"openness": 1}
    for n in (1, 2):
        world.assess(weak, world.evaluator(n), scores=scores, rationale="closed licence")
    with refused(app, GateNotMetError, "gate.mainstreamed.criterion_too_low"):
        app.decide_gate(weak, actor=world.manager, decision="advance", rationale="try")


def test_mainstreaming_needs_a_third_evaluator_when_spread_is_30_or_more(world: World) -> None:
    app, iid = world.app, world.submit()
    world.to_stage(iid, "assessment")
    world.assess(iid, world.evaluator(1), scores=dict.fromkeys(FULL_SCORES, 4), rationale="excellent")
    world.assess(iid, world.evaluator(2), scores=dict.fromkeys(FULL_SCORES, 2), rationale="partial")  # 100 vs 50
    with refused(app, GateNotMetError, "gate.mainstreamed.third_evaluator_required"):
        app.decide_gate(iid, actor=world.manager, decision="advance", rationale="try")
    world.assess(iid, world.evaluator(3), scores=dict.fromkeys(FULL_SCORES, 3), rationale="tie-break")
    assert (
        app.decide_gate(iid, actor=world.manager, decision="advance", rationale="third view").aggregate.status
        == "mainstreamed"
    )


def test_innovation_on_hold_accepts_only_resume_and_discontinue(world: World) -> None:
    app, iid = world.app, world.submit()
    app.decide_gate(iid, actor=world.manager, decision="hold", rationale="funding pause")
    with refused(app, InnovationOnHoldError, "hold.only_resume_or_discontinue"):
        app.decide_gate(iid, actor=world.manager, decision="advance", rationale="x")
    with refused(app, InnovationOnHoldError):
        app.decide_gate(iid, actor=world.manager, decision="hold", rationale="x")
    with refused(app, InnovationOnHoldError):
        app.add_evidence(iid, actor=world.provider, kind="report", title="x")
    with refused(app, InnovationOnHoldError):
        world.assess(iid, world.evaluator(1), scores=FULL_SCORES, rationale="x")
    assert app.decide_gate(iid, actor=world.manager, decision="resume", rationale="funded").aggregate.status == "active"
    with refused(app, IllegalDecisionError, "decision.resume_requires_hold"):
        app.decide_gate(iid, actor=world.manager, decision="resume", rationale="x")


def test_recycle_goes_back_to_an_earlier_stage_only(world: World) -> None:
    app, iid = world.app, world.submit()
    world.to_stage(iid, "development")
    with refused(app, IllegalDecisionError, "decision.recycle_requires_earlier_stage"):
        app.decide_gate(iid, actor=world.manager, decision="recycle", to_stage="assessment", rationale="x")
    with refused(app, ValidationError, "validation.to_stage") as missing:
        app.decide_gate(iid, actor=world.manager, decision="recycle", rationale="x")
    assert missing.info.value.field_message == "name the earlier stage to go back to: one of identification, testing"
    with refused(app, ValidationError, "validation.to_stage"):
        app.decide_gate(iid, actor=world.manager, decision="advance", to_stage="testing", rationale="x")
    with refused(app, ValidationError, "validation.decision"):
        app.decide_gate(iid, actor=world.manager, decision="approve", rationale="x")
    with refused(app, ValidationError, "validation.rationale"):
        app.decide_gate(iid, actor=world.manager, decision="hold", rationale=" ")
    inn = app.decide_gate(
        iid, actor=world.manager, decision="recycle", to_stage="testing", rationale="retest"
    ).aggregate
    assert (inn.stage, inn.status) == ("testing", "active")


def test_discontinued_innovation_accepts_nothing(world: World) -> None:
    app, iid = world.app, world.submit()
    app.decide_gate(iid, actor=world.manager, decision="hold", rationale="pause")
    app.decide_gate(iid, actor=world.manager, decision="discontinue", rationale="no funding")
    for command in (
        lambda: app.decide_gate(iid, actor=world.manager, decision="resume", rationale="x"),
        lambda: app.add_evidence(iid, actor=world.provider, kind="report", title="x"),
        lambda: app.record_adoption(iid, actor=ADMIN, organisation_id=world.site, adopted_on="2025-01-01"),
        lambda: app.revise_innovation(iid, {"title": "x"}, actor=world.provider),
    ):
        with refused(app, TerminalStateError, "terminal.discontinued"):
            command()


def test_mainstreamed_innovation_still_accepts_evidence_and_adoptions_only(world: World) -> None:
    app, iid = world.app, world.submit()
    world.to_stage(iid, "mainstreamed")
    app.add_evidence(iid, actor=world.provider, kind="policy_document", title="Written into the national curriculum")
    app.record_adoption(iid, actor=ADMIN, organisation_id=world.site, adopted_on="2025-10-01")
    with refused(app, TerminalStateError, "terminal.mainstreamed"):
        world.assess(iid, world.evaluator(3), scores=FULL_SCORES, rationale="late")
    with refused(app, TerminalStateError, "terminal.mainstreamed"):
        app.decide_gate(iid, actor=world.manager, decision="recycle", to_stage="testing", rationale="x")
    with refused(app, TerminalStateError, "terminal.mainstreamed"):
        app.start_pilot(iid, actor=world.provider, site_organisation_id=world.site, started_on="2025-01-01")


def test_decision_is_refused_when_expected_version_is_stale(world: World) -> None:
    iid = world.submit()
    with refused(world.app, VersionConflictError, "version_conflict"):
        world.app.decide_gate(iid, actor=world.manager, decision="hold", rationale="x", expected_version=7)
    receipt = world.app.decide_gate(iid, actor=world.manager, decision="hold", rationale="x", expected_version=1)
    assert receipt.version == 2


def test_commands_on_unknown_or_wrong_kind_of_aggregate_are_not_found(world: World) -> None:
    with refused(world.app, NotFoundError, "not_found.innovation"):
        world.app.add_evidence(uuid4(), actor=world.provider, kind="report", title="x")
    with refused(world.app, NotFoundError, "not_found.innovation"):
        world.app.add_evidence(world.owner, actor=world.provider, kind="report", title="x")
