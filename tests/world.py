"""A small cast of organisations, an ecosystem and actors that the domain tests share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from tracker.actors import Actor
from tracker.application import TrackerApplication

ADMIN = Actor("admin-1", "admin")
FULL_SCORES: dict[str, int | None] = {
    "relevance": 4,
    "effectiveness": 3,
    "transferability": 3,
    "sustainability": 3,
    "partnership": 4,
    "openness": 2,
}


@contextmanager
def days_ago(app: TrackerApplication, days: int) -> Iterator[None]:
    """What the application writes meanwhile is dated `days` days ago (an assignment made then, due since)."""
    clock = app.clock
    app.clock = lambda: clock() - timedelta(days=days)
    try:
        yield
    finally:
        app.clock = clock


@dataclass
class World:
    app: TrackerApplication
    owner: UUID
    member: UUID
    site: UUID
    eval_org_a: UUID
    eval_org_b: UUID
    eval_org_c: UUID
    ecosystem: UUID

    @property
    def provider(self) -> Actor:
        return Actor("provider-1", "provider", self.owner)

    @property
    def manager(self) -> Actor:
        return Actor("manager-1", "manager")

    def assign(self, innovation_id: UUID, evaluator: Actor, **fields: Any) -> Any:
        """The manager assigns `evaluator` at the innovation's current stage."""
        return self.app.assign_evaluator(
            innovation_id,
            actor=self.manager,
            evaluator_id=evaluator.id,
            evaluator_organisation_id=evaluator.organisation_id,
            **fields,
        )

    def assess(self, innovation_id: UUID, evaluator: Actor, **assessment: Any) -> Any:
        """Assign `evaluator` where they are not yet (and the innovation takes assignments), then assess."""
        inn = self.app.get_innovation(innovation_id)
        if evaluator.id not in inn.assignments and inn.status == "active":
            self.assign(innovation_id, evaluator)
        return self.app.record_assessment(innovation_id, actor=evaluator, **assessment)

    def evaluator(self, n: int = 1) -> Actor:
        org = {1: self.eval_org_a, 2: self.eval_org_b, 3: self.eval_org_c}[n]
        return Actor(f"evaluator-{n}", "evaluator", org)

    @property
    def conflicted_owner_evaluator(self) -> Actor:
        return Actor("evaluator-owner", "evaluator", self.owner)

    @property
    def conflicted_member_evaluator(self) -> Actor:
        return Actor("evaluator-member", "evaluator", self.member)

    def submit(self, **overrides: Any) -> UUID:
        fields: dict[str, Any] = {
            "title": "Digital badges for non-formal learning",
            "summary": "Open Badges recognise skills learnt outside school.",
            "themes": ["digital badges", "recognition"],
            "organisation_id": self.owner,
            "ecosystem_id": self.ecosystem,
            "target_groups": ["NEET"],
            "readiness_level": 4,
        }
        fields.update(overrides)
        return self.app.submit_innovation(actor=self.provider, **fields).aggregate_id

    def to_stage(self, innovation_id: UUID, stage: str) -> None:
        """Meet each gate and advance until the innovation reaches `stage`."""
        app = self.app
        while app.get_innovation(innovation_id).stage != stage:
            current = app.get_innovation(innovation_id).stage
            if current == "identification":
                self.assess(innovation_id, self.evaluator(1), scores=FULL_SCORES, rationale="promising")
            elif current == "testing":
                pilot = app.start_pilot(
                    innovation_id, actor=self.provider, site_organisation_id=self.site, started_on="2025-01-10"
                )
                app.record_pilot_outcome(
                    innovation_id,
                    pilot.item_id,
                    actor=self.provider,
                    ended_on="2025-06-30",
                    participants=40,
                    completion_rate=0.85,
                )
            elif current == "development":
                app.add_evidence(innovation_id, actor=self.provider, kind="report", title="Pilot report")
            elif current == "assessment":
                for n in (1, 2):
                    self.assess(innovation_id, self.evaluator(n), scores=FULL_SCORES, rationale="ready")
            app.decide_gate(innovation_id, actor=self.manager, decision="advance", rationale="gate met")


def build_world(app: TrackerApplication) -> World:
    def org(name: str, country: str, kind: str = "vet_provider") -> UUID:
        return app.register_organisation(actor=ADMIN, name=name, country=country, kind=kind).aggregate_id

    owner = org("Kauno technologijos mokymo centras", "LT")
    member = org("Istituto Tecnico Marconi", "IT")
    site = org("ROC Midden Nederland", "NL")
    eval_a = org("Finnish National Agency for Education", "FI", "public_authority")
    eval_b = org("Cedefop Evaluation Unit", "EL", "research")
    eval_c = org("Bundesinstitut für Berufsbildung", "DE", "research")
    ecosystem = app.register_ecosystem(
        actor=ADMIN,
        acronym="VISION",
        title="Vocational Innovation Ecosystems",
        members=[(owner, "coordinator"), (member, "partner")],
        eu_grant_eur="136836",
        project_identifier="2020-1-LT01-KA202-077843",
        call_year=2020,
    ).aggregate_id
    return World(app, owner, member, site, eval_a, eval_b, eval_c, ecosystem)
