"""One contract suite for the application, run on the in-memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from tests.world import ADMIN, FULL_SCORES, World, build_world
from tracker.actors import Actor
from tracker.application import TrackerApplication
from tracker.errors import (
    ConflictOfInterestError,
    DomainError,
    DuplicateAdoptionError,
    DuplicateEcosystemError,
    DuplicateMembershipError,
    DuplicateOrganisationError,
    GateNotMetError,
    IllegalDecisionError,
    InnovationOnHoldError,
    InvalidCountryError,
    InvalidDateError,
    InvalidScoresError,
    NotFoundError,
    PilotError,
    TerminalStateError,
    ValidationError,
    VersionConflictError,
)


@pytest.fixture
def world(app: TrackerApplication) -> World:
    return build_world(app)


def refused(app: TrackerApplication, error: type[DomainError], rule: str | None = None):
    """Context manager: the command raises `error` (naming `rule`) and records no event."""

    class _Refusal:
        def __enter__(self) -> None:
            self.before = app.current_position()
            self.raises = pytest.raises(error)
            self.info = self.raises.__enter__()

        def __exit__(self, *exc: object) -> bool:
            handled = self.raises.__exit__(*exc)  # type: ignore[arg-type]
            if rule is not None:
                assert self.info.value.rule == rule, self.info.value
            assert app.current_position() == self.before, "a refused command recorded an event"
            return bool(handled)

    return _Refusal()


# ---- organisations ----------------------------------------------------------------------


def test_register_organisation_stores_iso_country_when_given_eu_code(app: TrackerApplication) -> None:
    receipt = app.register_organisation(
        actor=ADMIN, name="  Hellenic   VET  School ", country="EL", kind="vet_provider"
    )
    org = app.get_organisation(receipt.aggregate_id)
    assert (org.name, org.country, receipt.version) == ("Hellenic VET School", "GR", 1)
    assert receipt.position == app.current_position()


def test_register_organisation_is_refused_when_normalised_name_and_country_repeat(app: TrackerApplication) -> None:
    app.register_organisation(actor=ADMIN, name="Kold College", country="DK", kind="vet_provider")
    with refused(app, DuplicateOrganisationError, "duplicate.organisation"):
        app.register_organisation(actor=ADMIN, name="  KOLD   college ", country="dk", kind="company")
    other = app.register_organisation(actor=ADMIN, name="Kold College", country="SE", kind="vet_provider")
    assert app.get_organisation(other.aggregate_id).country == "SE"
    assert app.find_organisation_id("kold COLLEGE", "DK") is not None


@pytest.mark.parametrize(
    ("fields", "error", "rule"),
    [
        ({"country": "XX"}, InvalidCountryError, "validation.country"),
        ({"country": "Denmark"}, InvalidCountryError, "validation.country"),
        ({"kind": "club"}, ValidationError, "validation.kind"),
        ({"name": "   "}, ValidationError, "validation.name"),
        ({"name": "x" * 301}, ValidationError, "validation.name"),
        ({"name": "bad\x00name"}, ValidationError, "validation.name"),
        ({"website": "not a url"}, ValidationError, "validation.website"),
    ],
)
def test_register_organisation_is_refused_when_a_field_is_invalid(
    app: TrackerApplication, fields: dict[str, str], error: type[DomainError], rule: str
) -> None:
    base = {"name": "Valid School", "country": "FI", "kind": "vet_provider"} | fields
    with refused(app, error, rule):
        app.register_organisation(actor=ADMIN, **base)


# ---- ecosystems -------------------------------------------------------------------------


def test_register_ecosystem_keeps_members_roles_and_exact_grant(world: World) -> None:
    eco = world.app.get_ecosystem(world.ecosystem)
    assert eco.eu_grant_eur == Decimal("136836.00")
    assert [(m["organisation_id"], m["role"]) for m in eco.members] == [
        (world.owner, "coordinator"),
        (world.member, "partner"),
    ]
    assert eco.version == 3


def test_ecosystem_member_may_hold_two_roles_but_each_role_once(world: World) -> None:
    app = world.app
    app.add_ecosystem_member(world.ecosystem, actor=ADMIN, organisation_id=world.member, role="associated_partner")
    with refused(app, DuplicateMembershipError, "duplicate.membership"):
        app.add_ecosystem_member(world.ecosystem, actor=ADMIN, organisation_id=world.member, role="partner")
    with refused(app, DuplicateMembershipError, "duplicate.membership.coordinator"):
        app.add_ecosystem_member(world.ecosystem, actor=ADMIN, organisation_id=world.site, role="coordinator")
    with refused(app, ValidationError, "validation.role"):
        app.add_ecosystem_member(world.ecosystem, actor=ADMIN, organisation_id=world.site, role="sponsor")
    with refused(app, NotFoundError, "not_found.organisation"):
        app.add_ecosystem_member(world.ecosystem, actor=ADMIN, organisation_id=uuid4(), role="partner")
    assert len(app.get_ecosystem(world.ecosystem).members) == 3


def test_add_ecosystem_member_is_refused_when_expected_version_is_stale(world: World) -> None:
    with refused(world.app, VersionConflictError, "version_conflict"):
        world.app.add_ecosystem_member(
            world.ecosystem, actor=ADMIN, organisation_id=world.site, role="partner", expected_version=2
        )


def test_register_ecosystem_is_refused_when_project_identifier_repeats_or_dates_are_reversed(world: World) -> None:
    app = world.app
    with refused(app, DuplicateEcosystemError, "duplicate.ecosystem"):
        app.register_ecosystem(
            actor=ADMIN, acronym="VISION2", title="Again", project_identifier="2020-1-lt01-ka202-077843"
        )
    with refused(app, InvalidDateError, "validation.date.order"):
        app.register_ecosystem(actor=ADMIN, acronym="X", title="X", start_date="2021-01-01", end_date="2020-12-31")
    with refused(app, InvalidDateError, "validation.date"):
        app.register_ecosystem(actor=ADMIN, acronym="X", title="X", start_date="2021-02-30")
    with refused(app, ValidationError, "validation.eu_grant_eur"):
        app.register_ecosystem(actor=ADMIN, acronym="X", title="X", eu_grant_eur="-5")
    with refused(app, ValidationError, "validation.eu_grant_eur"):
        app.register_ecosystem(actor=ADMIN, acronym="X", title="X", eu_grant_eur="1.234")
    with refused(app, NotFoundError, "not_found.organisation"):
        app.register_ecosystem(actor=ADMIN, acronym="X", title="X", members=[(uuid4(), "partner")])


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
        ({"themes": []}, ValidationError, "validation.themes"),
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
        iid, actor=world.provider, kind="report", title="Evaluation report", url="www.example.org/report.pdf"
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
        app.decide_gate(iid, actor=world.evaluator(3), decision="advance", rationale="try")


def _advance_without_meeting(world: World, iid: object, stage: str) -> None:
    """Reach `stage` while leaving its own gate unmet (each earlier gate is met, in order)."""
    app = world.app
    order = ["identification", "testing", "development", "assessment"]
    for current in order[: order.index(stage)]:
        if current == "identification":
            app.record_assessment(iid, actor=world.evaluator(1), scores=FULL_SCORES, rationale="ok")  # type: ignore[arg-type]
        if current == "testing":
            pilot = app.start_pilot(iid, actor=world.provider, site_organisation_id=world.site, started_on="2025-01-01")  # type: ignore[arg-type]
            app.record_pilot_outcome(
                iid, pilot.item_id, actor=world.provider, ended_on="2025-02-01", participants=1, completion_rate=1
            )  # type: ignore[arg-type]
        if current == "development":
            app.add_evidence(iid, actor=world.provider, kind="report", title="r")  # type: ignore[arg-type]
        app.decide_gate(iid, actor=world.evaluator(1), decision="advance", rationale="ok")  # type: ignore[arg-type]
    if stage == "assessment":
        app.record_assessment(iid, actor=world.evaluator(1), scores=FULL_SCORES, rationale="only one")  # type: ignore[arg-type]


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
        app.record_assessment(low, actor=world.evaluator(n), scores=dict.fromkeys(FULL_SCORES, 2), rationale="average")
    with refused(app, GateNotMetError, "gate.mainstreamed.score_too_low"):
        app.decide_gate(low, actor=world.evaluator(1), decision="advance", rationale="try")
    weak = world.submit()
    world.to_stage(weak, "assessment")
    scores = dict.fromkeys(FULL_SCORES, 4) | {"openness": 1}
    for n in (1, 2):
        app.record_assessment(weak, actor=world.evaluator(n), scores=scores, rationale="closed licence")
    with refused(app, GateNotMetError, "gate.mainstreamed.criterion_too_low"):
        app.decide_gate(weak, actor=world.evaluator(1), decision="advance", rationale="try")


def test_mainstreaming_needs_a_third_evaluator_when_spread_is_30_or_more(world: World) -> None:
    app, iid = world.app, world.submit()
    world.to_stage(iid, "assessment")
    app.record_assessment(iid, actor=world.evaluator(1), scores=dict.fromkeys(FULL_SCORES, 4), rationale="excellent")
    app.record_assessment(
        iid, actor=world.evaluator(2), scores=dict.fromkeys(FULL_SCORES, 2), rationale="partial"
    )  # 100 vs 50
    with refused(app, GateNotMetError, "gate.mainstreamed.third_evaluator_required"):
        app.decide_gate(iid, actor=world.evaluator(1), decision="advance", rationale="try")
    app.record_assessment(iid, actor=world.evaluator(3), scores=dict.fromkeys(FULL_SCORES, 3), rationale="tie-break")
    assert (
        app.decide_gate(iid, actor=world.evaluator(3), decision="advance", rationale="third view").aggregate.status
        == "mainstreamed"
    )


def test_innovation_on_hold_accepts_only_resume_and_discontinue(world: World) -> None:
    app, iid = world.app, world.submit()
    app.decide_gate(iid, actor=world.evaluator(1), decision="hold", rationale="funding pause")
    with refused(app, InnovationOnHoldError, "hold.only_resume_or_discontinue"):
        app.decide_gate(iid, actor=world.evaluator(1), decision="advance", rationale="x")
    with refused(app, InnovationOnHoldError):
        app.decide_gate(iid, actor=world.evaluator(1), decision="hold", rationale="x")
    with refused(app, InnovationOnHoldError):
        app.add_evidence(iid, actor=world.provider, kind="report", title="x")
    with refused(app, InnovationOnHoldError):
        app.record_assessment(iid, actor=world.evaluator(1), scores=FULL_SCORES, rationale="x")
    assert (
        app.decide_gate(iid, actor=world.evaluator(1), decision="resume", rationale="funded").aggregate.status
        == "active"
    )
    with refused(app, IllegalDecisionError, "decision.resume_requires_hold"):
        app.decide_gate(iid, actor=world.evaluator(1), decision="resume", rationale="x")


def test_recycle_goes_back_to_an_earlier_stage_only(world: World) -> None:
    app, iid = world.app, world.submit()
    world.to_stage(iid, "development")
    with refused(app, IllegalDecisionError, "decision.recycle_requires_earlier_stage"):
        app.decide_gate(iid, actor=world.evaluator(1), decision="recycle", to_stage="assessment", rationale="x")
    with refused(app, ValidationError, "validation.to_stage"):
        app.decide_gate(iid, actor=world.evaluator(1), decision="recycle", rationale="x")
    with refused(app, ValidationError, "validation.to_stage"):
        app.decide_gate(iid, actor=world.evaluator(1), decision="advance", to_stage="testing", rationale="x")
    with refused(app, ValidationError, "validation.decision"):
        app.decide_gate(iid, actor=world.evaluator(1), decision="approve", rationale="x")
    with refused(app, ValidationError, "validation.rationale"):
        app.decide_gate(iid, actor=world.evaluator(1), decision="hold", rationale=" ")
    inn = app.decide_gate(
        iid, actor=world.evaluator(1), decision="recycle", to_stage="testing", rationale="retest"
    ).aggregate
    assert (inn.stage, inn.status) == ("testing", "active")


def test_discontinued_innovation_accepts_nothing(world: World) -> None:
    app, iid = world.app, world.submit()
    app.decide_gate(iid, actor=world.evaluator(1), decision="hold", rationale="pause")
    app.decide_gate(iid, actor=world.evaluator(1), decision="discontinue", rationale="no funding")
    for command in (
        lambda: app.decide_gate(iid, actor=world.evaluator(1), decision="resume", rationale="x"),
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
        app.record_assessment(iid, actor=world.evaluator(3), scores=FULL_SCORES, rationale="late")
    with refused(app, TerminalStateError, "terminal.mainstreamed"):
        app.decide_gate(iid, actor=world.evaluator(3), decision="recycle", to_stage="testing", rationale="x")
    with refused(app, TerminalStateError, "terminal.mainstreamed"):
        app.start_pilot(iid, actor=world.provider, site_organisation_id=world.site, started_on="2025-01-01")


def test_decision_is_refused_when_expected_version_is_stale(world: World) -> None:
    iid = world.submit()
    with refused(world.app, VersionConflictError, "version_conflict"):
        world.app.decide_gate(iid, actor=world.evaluator(1), decision="hold", rationale="x", expected_version=7)
    receipt = world.app.decide_gate(iid, actor=world.evaluator(1), decision="hold", rationale="x", expected_version=1)
    assert receipt.version == 2


def test_commands_on_unknown_or_wrong_kind_of_aggregate_are_not_found(world: World) -> None:
    with refused(world.app, NotFoundError, "not_found.innovation"):
        world.app.add_evidence(uuid4(), actor=world.provider, kind="report", title="x")
    with refused(world.app, NotFoundError, "not_found.innovation"):
        world.app.add_evidence(world.owner, actor=world.provider, kind="report", title="x")


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
