"""A realistic synthetic portfolio, written fast with batched saves (many aggregates per transaction).

Evaluation rounds follow the rules: a manager assigns each evaluator at the stage they assess in, and takes the gate
decisions. Some active innovations end with an open round (an evaluator assigned, not yet assessed), so evaluators
have queues: about 6% of them, spread unevenly so that queues range from a few items to a few hundred at full
scale."""

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
MANAGER = Actor("bench-manager", "manager")
# Share of innovations left active with one evaluator assigned at the current stage who has not assessed yet.
OPEN_ROUNDS = 0.06


class Portfolio:
    """Organisations, ecosystems and innovations moving through the stages at random, spread over seven years."""

    def __init__(
        self,
        app: TrackerApplication,
        seed: int = 42,
        organisations: int = 400,
        ecosystems: int = 40,
        evaluator_id: Callable[[int, UUID], str] | None = None,
    ) -> None:
        """`evaluator_id(n, organisation_id)` names the n-th evaluator (a person's id, so that a key can act as
        them); by default "evaluator-<n>"."""
        self.app = app
        self.evaluator_id = evaluator_id or (lambda n, _org: f"evaluator-{n}")
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
        orgs = [self.org_ids[organisations // 2 + n] for n in range(min(30, organisations // 2))]
        self.evaluators = [Actor(self.evaluator_id(n, org), "evaluator", org) for n, org in enumerate(orgs)]
        # Open rounds go to the evaluators unevenly (weights 1 to 30), as some panels are busier than others.
        self.queue_weights = [n + 1 for n in range(len(self.evaluators))]
        self.app.save(*aggregates)

    def innovation(self) -> Innovation:
        """One innovation with a plausible history: about fourteen events on average, assignments included."""
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

        def assign(evaluator: Actor) -> None:
            inn.assign_evaluator(
                self.ctx(MANAGER, later(10)),
                evaluator_id=evaluator.id,
                evaluator_organisation_id=evaluator.organisation_id,
                due_on=(at + timedelta(days=30)).date(),
            )

        def assess(evaluator: Actor, scores: dict[str, int | None]) -> None:
            if evaluator.id not in inn.assignments:
                assign(evaluator)
            inn.record_assessment(
                self.ctx(evaluator, later(30)), assessment_id=uuid4(), scores=scores, rationale="scored"
            )

        def advance() -> None:
            inn.decide(self.ctx(MANAGER, later()), decision="advance", rationale="gate met")

        try:
            if rng.random() < 0.5:
                inn.revise(self.ctx(provider, later(20)), {"summary": "A pilot, revised after the first review."})
            for evaluator in evaluators[:2]:
                assess(evaluator, {k: rng.randint(1, 4) for k in GOOD})
            if target == "identification":
                return self._maybe_stop(inn, later)
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
                return self._maybe_stop(inn, later)
            advance()
            for title in ("Pilot evaluation report", "Learner feedback survey")[: rng.randint(1, 2)]:
                inn.add_evidence(self.ctx(provider, later()), evidence_id=uuid4(), kind="report", title=title)
            if target == "development":
                return self._maybe_stop(inn, later)
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
        finally:
            # Wherever the innovation stopped (or missed a gate), its current round may still be open.
            self._maybe_open_round(inn, assign)
        return inn

    def _maybe_stop(self, inn: Innovation, later: Callable[..., datetime]) -> Innovation:
        roll = self.rng.random()
        if roll < 0.1:
            inn.decide(self.ctx(MANAGER, later()), decision="hold", rationale="paused")
        elif roll < 0.2:
            inn.decide(self.ctx(MANAGER, later()), decision="discontinue", rationale="stopped")
        return inn

    def _maybe_open_round(self, inn: Innovation, assign: Callable[[Actor], None]) -> None:
        """Sometimes leave an active innovation with one more evaluator assigned who has not assessed yet."""
        if inn.status != "active" or self.rng.random() >= OPEN_ROUNDS:
            return
        free = [(e, w) for e, w in zip(self.evaluators, self.queue_weights, strict=True) if e.id not in inn.assignments]
        assign(self.rng.choices([e for e, _ in free], [w for _, w in free])[0])

    def generate(self, events: int, per_save: int = 100, progress: Callable[[int], None] | None = None) -> int:
        """Write innovations until about `events` events exist; returns the log position."""
        while self.app.current_position() < events:
            self._write_batch(per_save, progress)
        return self.app.current_position()

    def generate_innovations(
        self, count: int, per_save: int = 100, progress: Callable[[int], None] | None = None
    ) -> int:
        """Write `count` innovations (the reads' scale, whatever their events number); returns the log position."""
        for written in range(0, count, per_save):
            self._write_batch(min(per_save, count - written), progress)
        return self.app.current_position()

    def _write_batch(self, size: int, progress: Callable[[int], None] | None) -> None:
        self.app.save(*[self.innovation() for _ in range(size)])
        if progress is not None:
            progress(self.app.current_position())
