"""Random command sequences over innovations, checking the invariants after every step.

Besides stages and scores, the machine models each evaluation round: who is assigned at the current stage, who has
assessed at which stage, and which managers may decide. A command the model says must be refused must be refused, and
one it accepts must leave the aggregate as modelled."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import project_aggregate
from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from storage.config import StoreConfig
from tests.world import ADMIN, FULL_SCORES, build_world
from tracker.actors import Actor
from tracker.application import TrackerApplication
from tracker.errors import DomainError
from tracker.innovation import Innovation
from tracker.rubric import assessment_mpi, consolidate
from tracker.stages import DECISIONS, LEGAL_STATES, STAGES, next_stage


class FrequentSnapshots(TrackerApplication):
    """Snapshots every 5 events, so replays exercise the snapshot path too."""

    snapshotting_intervals: ClassVar[dict[type[Aggregate], int]] = {Innovation: 5}


scores_strategy = st.fixed_dictionaries(
    {
        key: st.one_of(st.integers(2, 4), st.integers(0, 4), st.none(), st.just(5))
        for key in ("relevance", "effectiveness", "transferability", "sustainability", "partnership", "openness")
    }
)
evaluators = st.sampled_from(["1", "2", "3", "owner", "member"])
managers = st.sampled_from(["network", "owner", "member"])
CONFLICTED = ("owner", "member")


class InnovationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.app = FrequentSnapshots(StoreConfig(kind="memory").event_store_env(create_tables=True))
        self.world = build_world(self.app)
        self.ids: list[UUID] = []
        self.expected: dict[UUID, tuple[str, str]] = {}
        # The evaluation round as modelled: who is assigned at the current stage, and (who, stage) assessed.
        self.assigned: dict[UUID, set[str]] = {}
        self.assessed: dict[UUID, set[tuple[str, str]]] = {}

    # ---- helpers ------------------------------------------------------------------------

    def actor(self, who: str) -> Actor:
        if who == "owner":
            return self.world.conflicted_owner_evaluator
        if who == "member":
            return self.world.conflicted_member_evaluator
        return self.world.evaluator(int(who))

    def manager(self, who: str) -> Actor:
        """A network-wide manager, or one bound to the owning or a member organisation (conflicted)."""
        organisation = {"network": None, "owner": self.world.owner, "member": self.world.member}[who]
        return Actor(f"manager-{who}", "manager", organisation)

    def enter_stage(self, iid: UUID, stage: str, status: str) -> None:
        if stage != self.expected[iid][0]:
            self.assigned[iid] = set()
        self.expected[iid] = (stage, status)

    def attempt(self, command: Any) -> Any:
        """Run a command; a refusal must leave the log exactly as it was."""
        before = self.app.current_position()
        try:
            receipt = command()
        except DomainError:
            assert self.app.current_position() == before, "a refused command recorded an event"
            return None
        assert receipt.position is None or receipt.position > before
        return receipt

    def pick(self, data: st.DataObject) -> UUID:
        return data.draw(st.sampled_from(self.ids))

    # ---- rules --------------------------------------------------------------------------

    @initialize()
    def first_submission(self) -> None:
        self.submit()

    @rule()
    def submit(self) -> None:
        iid = self.world.submit()
        self.ids.append(iid)
        self.expected[iid] = ("identification", "active")
        self.assigned[iid] = set()
        self.assessed[iid] = set()

    @rule(data=st.data(), who=evaluators)
    def assign(self, data: st.DataObject, who: str) -> None:
        iid = self.pick(data)
        evaluator = self.actor(who)
        receipt = self.attempt(
            lambda: self.app.assign_evaluator(
                iid,
                actor=self.world.manager,
                evaluator_id=evaluator.id,
                evaluator_organisation_id=evaluator.organisation_id,
            )
        )
        if receipt is None:
            return
        assert who not in CONFLICTED, "a conflicted evaluator was assigned"
        assert who not in self.assigned[iid], "an evaluator was assigned twice at one stage"
        assert self.expected[iid][1] == "active"
        self.assigned[iid].add(who)
        event("assigned")

    @rule(data=st.data(), who=evaluators)
    def unassign(self, data: st.DataObject, who: str) -> None:
        iid = self.pick(data)
        stage = self.expected[iid][0]
        receipt = self.attempt(lambda: self.app.unassign_evaluator(iid, self.actor(who).id, actor=self.world.manager))
        if receipt is None:
            return
        assert who in self.assigned[iid], "an evaluator who was not assigned was unassigned"
        assert (who, stage) not in self.assessed[iid], "an evaluator who had assessed was unassigned"
        self.assigned[iid].discard(who)
        event("unassigned")

    @rule(data=st.data(), who=evaluators, scores=scores_strategy)
    def assess(self, data: st.DataObject, who: str, scores: dict[str, int | None]) -> None:
        iid = self.pick(data)
        receipt = self.attempt(
            lambda: self.app.record_assessment(iid, actor=self.actor(who), scores=scores, rationale="r")
        )
        if receipt is None:
            return
        assert who in self.assigned[iid], "an evaluator not assigned at the current stage assessed"
        assert who not in CONFLICTED
        self.assessed[iid].add((who, self.expected[iid][0]))
        event("assessed")

    @rule(data=st.data(), who=st.sampled_from(["1", "2", "3", "manager"]), reply=st.booleans())
    def note(self, data: st.DataObject, who: str, reply: bool) -> None:
        iid = self.pick(data)
        actor = self.world.manager if who == "manager" else self.actor(who)
        notes = [n for n in self.app.get_innovation(iid).notes if n["reply_to"] is None]
        reply_to = notes[0]["note_id"] if reply and notes else None
        receipt = self.attempt(lambda: self.app.add_note(iid, actor=actor, body="n", reply_to=reply_to))
        if receipt is None:
            return
        stage, status = self.expected[iid]
        assert status == "active"
        if who != "manager":
            assert who in self.assigned[iid], "an evaluator not assigned wrote a note"
            assert (who, stage) in self.assessed[iid], "an evaluator wrote a note before assessing"
        event("noted")

    @rule(
        data=st.data(),
        who=managers,
        decision=st.sampled_from(DECISIONS),
        to_stage=st.one_of(st.none(), st.sampled_from(STAGES)),
    )
    def decide(self, data: st.DataObject, who: str, decision: str, to_stage: str | None) -> None:
        iid = self.pick(data)
        receipt = self.attempt(
            lambda: self.app.decide_gate(
                iid, actor=self.manager(who), decision=decision, to_stage=to_stage, rationale="r"
            )
        )
        if receipt is None:
            return
        stage, status = self.expected[iid]
        assert who not in CONFLICTED, "a conflicted manager's decision was accepted"
        if decision == "advance":
            stage = next_stage(stage)
            status = "mainstreamed" if stage == "mainstreamed" else status
        elif decision == "hold":
            status = "on_hold"
        elif decision == "resume":
            status = "active"
        elif decision == "recycle":
            assert to_stage is not None
            assert STAGES.index(to_stage) < STAGES.index(stage)
            stage = to_stage
        else:
            status = "discontinued"
        self.enter_stage(iid, stage, status)
        event(f"reached {stage}/{status}")

    @rule(data=st.data())
    def meet_gate_and_advance(self, data: st.DataObject) -> None:
        """Drive one innovation forward, so deep stages and mainstreaming are reached too."""
        iid = self.pick(data)
        stage, status = self.expected[iid]
        if status != "active":
            return
        if stage == "assessment":  # outweigh any random low assessment already recorded
            for n in (1, 2, 3):
                self.world.assess(iid, self.world.evaluator(n), scores=FULL_SCORES, rationale="r")
        self.world.to_stage(iid, next_stage(stage))
        self.enter_stage(iid, next_stage(stage), "mainstreamed" if stage == "assessment" else "active")
        event(f"reached {next_stage(stage)}")

    @rule(data=st.data())
    def pilot(self, data: st.DataObject) -> None:
        iid = self.pick(data)
        self.attempt(
            lambda: self.app.start_pilot(
                iid, actor=self.world.provider, site_organisation_id=self.world.site, started_on="2025-01-01"
            )
        )

    @rule(data=st.data(), rate=st.one_of(st.floats(-0.5, 1.5), st.just(float("nan"))))
    def outcome(self, data: st.DataObject, rate: float) -> None:
        iid = self.pick(data)
        pilots = list(self.app.get_innovation(iid).pilots.values())
        if not pilots:
            return
        pilot_id = data.draw(st.sampled_from(pilots))["pilot_id"]
        self.attempt(
            lambda: self.app.record_pilot_outcome(
                iid, pilot_id, actor=self.world.provider, ended_on="2025-05-01", participants=10, completion_rate=rate
            )
        )

    @rule(data=st.data(), kind=st.sampled_from(["report", "dataset", "gossip"]))
    def evidence(self, data: st.DataObject, kind: str) -> None:
        iid = self.pick(data)
        self.attempt(lambda: self.app.add_evidence(iid, actor=self.world.provider, kind=kind, title="e"))

    @rule(data=st.data(), adopter=st.sampled_from(["site", "owner"]))
    def adopt(self, data: st.DataObject, adopter: str) -> None:
        iid = self.pick(data)
        org = self.world.site if adopter == "site" else self.world.owner
        self.attempt(lambda: self.app.record_adoption(iid, actor=ADMIN, organisation_id=org, adopted_on="2025-06-01"))

    @rule(data=st.data(), title=st.sampled_from(["A", "B", "", "C" * 400]))
    def revise(self, data: st.DataObject, title: str) -> None:
        iid = self.pick(data)
        self.attempt(lambda: self.app.revise_innovation(iid, {"title": title}, actor=self.world.provider))

    # ---- invariants ---------------------------------------------------------------------

    @invariant()
    def states_are_legal_and_as_modelled(self) -> None:
        for iid in self.ids:
            inn = self.app.get_innovation(iid)
            assert (inn.stage, inn.status) in LEGAL_STATES
            assert (inn.stage, inn.status) == self.expected[iid]

    @invariant()
    def assignments_are_as_modelled(self) -> None:
        for iid in self.ids:
            held = set(self.app.get_innovation(iid).assignments)
            assert held == {self.actor(who).id for who in self.assigned[iid]}

    @invariant()
    def every_assessment_was_by_an_evaluator_assigned_then(self) -> None:
        for iid in self.ids:
            assigned: set[str] = set()
            for record in self.app.history(iid):
                if record.type == "EvaluatorAssigned":
                    assigned.add(record.data["evaluator_id"])
                elif record.type == "EvaluatorUnassigned":
                    assigned.discard(record.data["evaluator_id"])
                elif record.type in ("Advanced", "Recycled"):
                    assigned = set()
                elif record.type == "AssessmentRecorded":
                    assert record.actor_id in assigned, "an assessment by an evaluator not assigned at the stage"

    @invariant()
    def consolidated_mpi_equals_recomputation(self) -> None:
        for iid in self.ids:
            latest: dict[str, dict[str, int | None]] = {}
            for record in self.app.history(iid):
                if record.type == "AssessmentRecorded":
                    latest[record.actor_id] = record.data["scores"]
            expected = consolidate(assessment_mpi(s) for s in latest.values())
            assert self.app.get_innovation(iid).consolidated == expected

    @invariant()
    def replay_from_scratch_equals_loaded_state(self) -> None:
        for iid in self.ids:
            loaded = self.app.get_innovation(iid)
            replayed = project_aggregate(None, self.app.events.get(iid))
            assert replayed is not None
            assert vars(replayed) == vars(loaded)


TestInnovationStateMachine = InnovationMachine.TestCase
TestInnovationStateMachine.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
