"""A realistic synthetic portfolio, written fast with batched saves (many aggregates per transaction)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from tracker.actors import Actor
from tracker.application import TrackerApplication
from tracker.base import Context
from tracker.ecosystem import Ecosystem
from tracker.errors import DomainError
from tracker.innovation import Innovation
from tracker.organisation import Organisation

COUNTRIES = ["LT", "IT", "NL", "FI", "DE", "FR", "ES", "PT", "PL", "GR", "RS", "MK", "AL", "BA", "ME", "XK", "AT", "BE"]
THEMES = [
    "digital badges",
    "dual learning",
    "green skills",
    "mobility",
    "neet outreach",
    "entrepreneurship",
    "inclusion",
]
GOOD = {"relevance": 4, "effectiveness": 3, "transferability": 3, "sustainability": 3, "partnership": 3, "openness": 3}
ADMIN = Actor("bench-admin", "admin")


class Portfolio:
    """Organisations, ecosystems and innovations moving through the stages at random, spread over seven years."""

    def __init__(self, app: TrackerApplication, seed: int = 42, organisations: int = 400, ecosystems: int = 40) -> None:
        self.app = app
        self.rng = random.Random(seed)
        self.org_ids: list[UUID] = []
        self.evaluators: list[Actor] = []
        self.eco_members: dict[UUID, list[UUID]] = {}
        self.start = datetime(2019, 1, 1, tzinfo=UTC)
        self._setup(organisations, ecosystems)

    def ctx(self, actor: Actor, at: datetime) -> Context:
        return Context(actor, at, f"bench-{self.rng.getrandbits(32):08x}")

    def _setup(self, organisations: int, ecosystems: int) -> None:
        aggregates: list[Any] = []
        for n in range(organisations):
            org = Organisation.register(
                self.ctx(ADMIN, self.start),
                name=f"VET Centre {n:05d}",
                country=self.rng.choice(COUNTRIES),
                kind=self.rng.choice(["vet_provider", "vet_provider", "company", "public_authority", "ngo"]),
            )
            aggregates.append(org)
            self.org_ids.append(org.id)
        for n in range(ecosystems):
            eco = Ecosystem.register(
                self.ctx(ADMIN, self.start), acronym=f"ECO{n:03d}", title=f"Ecosystem {n}", call_year=2019
            )
            members = self.rng.sample(self.org_ids[: organisations // 2], 6)
            for role, org_id in zip(["coordinator", *["partner"] * 5], members, strict=True):
                eco.add_member(self.ctx(ADMIN, self.start), organisation_id=org_id, role=role)
            self.eco_members[eco.id] = members
            aggregates.append(eco)
        # Evaluators come from the second half of the organisations, which belong to no ecosystem.
        self.evaluators = [
            Actor(f"evaluator-{n}", "evaluator", self.org_ids[organisations // 2 + n])
            for n in range(min(30, organisations // 2))
        ]
        self.app.save(*aggregates)

    def innovation(self) -> Innovation:
        """One innovation with a plausible history (about ten events on average, as in the benchmark's 100k/1M)."""
        rng = self.rng
        eco_id = rng.choice(list(self.eco_members))
        owner = rng.choice(self.eco_members[eco_id])
        provider = Actor(f"provider-{owner.hex[:8]}", "provider", owner)
        at = self.start + timedelta(days=rng.uniform(0, 6 * 365))

        def later(max_days: int = 90) -> datetime:
            nonlocal at
            at += timedelta(days=rng.uniform(1, max_days))
            return at

        inn = Innovation.submit(
            self.ctx(provider, at),
            id=uuid4(),
            title=f"{rng.choice(THEMES).title()} pilot {rng.getrandbits(24):06x}",
            summary="A pilot of a new practice in vocational education and training.",
            themes=rng.sample(THEMES, rng.randint(1, 3)),
            organisation_id=owner,
            ecosystem_id=eco_id,
            readiness_level=rng.randint(1, 9),
        )
        target = rng.choices(
            ["identification", "testing", "development", "assessment", "mainstreamed"], [2, 3, 3, 3, 2]
        )[0]
        evaluators = rng.sample(self.evaluators, 3)

        def assess(evaluator: Actor, scores: dict[str, int | None]) -> None:
            inn.record_assessment(
                self.ctx(evaluator, later(30)), assessment_id=uuid4(), scores=scores, rationale="scored"
            )

        def advance() -> None:
            inn.decide(self.ctx(evaluators[0], later()), decision="advance", rationale="gate met")

        try:
            if rng.random() < 0.5:
                inn.revise(self.ctx(provider, later(20)), {"summary": "A pilot, revised after the first review."})
            for evaluator in evaluators[:2]:
                assess(evaluator, {k: rng.randint(1, 4) for k in GOOD})
            if target == "identification":
                return self._maybe_stop(inn, evaluators[0], later)
            advance()
            pilot_id = uuid4()
            inn.start_pilot(
                self.ctx(provider, later()), pilot_id=pilot_id, site_organisation_id=owner, started_on=at.date()
            )
            inn.record_pilot_outcome(
                self.ctx(provider, later(180)),
                pilot_id=pilot_id,
                ended_on=at.date(),
                participants=rng.randint(5, 200),
                completion_rate=round(rng.uniform(0.4, 1), 2),
                satisfaction=round(rng.uniform(2, 5), 1),
            )
            assess(evaluators[1], {k: rng.randint(2, 4) for k in GOOD})
            if target == "testing":
                return self._maybe_stop(inn, evaluators[0], later)
            advance()
            for title in ("Pilot evaluation report", "Learner feedback survey")[: rng.randint(1, 2)]:
                inn.add_evidence(self.ctx(provider, later()), evidence_id=uuid4(), kind="report", title=title)
            if target == "development":
                return self._maybe_stop(inn, evaluators[0], later)
            advance()
            for evaluator in evaluators[:2]:
                assess(evaluator, GOOD if target == "mainstreamed" else {k: rng.randint(1, 4) for k in GOOD})
            if target == "mainstreamed":
                advance()
                adopter = rng.choice(self.org_ids)
                if adopter != owner:
                    inn.record_adoption(
                        self.ctx(ADMIN, later()), adoption_id=uuid4(), organisation_id=adopter, adopted_on=at.date()
                    )
        except DomainError:
            pass  # a random score can miss a gate; the innovation simply stays where it is
        return inn

    def _maybe_stop(self, inn: Innovation, evaluator: Actor, later: Callable[..., datetime]) -> Innovation:
        roll = self.rng.random()
        if roll < 0.1:
            inn.decide(self.ctx(evaluator, later()), decision="hold", rationale="paused")
        elif roll < 0.2:
            inn.decide(self.ctx(evaluator, later()), decision="discontinue", rationale="stopped")
        return inn

    def generate(self, events: int, per_save: int = 100, progress: Callable[[int], None] | None = None) -> int:
        """Write innovations until about `events` events exist; returns the log position."""
        while self.app.current_position() < events:
            batch = [self.innovation() for _ in range(per_save)]
            self.app.save(*batch)
            if progress is not None:
                progress(self.app.current_position())
        return self.app.current_position()
