"""The demo data set: the seed projects as ecosystems, with innovations in every stage, spread over time.

Organisation names are descriptive placeholders (role and country), not real institutions.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from tracker.actors import Actor
from tracker.application import TrackerApplication

LOADER = Actor("demo-loader", "system")


@dataclass(frozen=True)
class DemoPerson:
    """One of the demo's people. `organisation` names the demo organisation they work for: a provider's country
    (the VET provider there) or an evaluation panel ("panel 1" to "panel 3"); None for roles without one."""

    slug: str
    name: str
    email: str
    role: str
    organisation: str | None = None


DEMO_PEOPLE = (
    DemoPerson("admin", "Ada Adams", "ada.adams@demo.example", "admin"),
    DemoPerson("manager", "Marta Moreau", "marta.moreau@demo.example", "manager"),
    DemoPerson("analyst", "Aino Laine", "aino.laine@demo.example", "analyst"),
    DemoPerson("provider-lt", "Paulius Petrauskas", "paulius@demo.example", "provider", "LT"),
    DemoPerson("provider-si", "Petra Novak", "petra.novak@demo.example", "provider", "SI"),
    DemoPerson("provider-fi", "Pekka Virtanen", "pekka.virtanen@demo.example", "provider", "FI"),
    DemoPerson("provider-be", "Pauline Peeters", "pauline.peeters@demo.example", "provider", "BE"),
    DemoPerson("provider-rs", "Petar Jovanović", "petar.jovanovic@demo.example", "provider", "RS"),
    DemoPerson("evaluator-1", "Eva Dubois", "eva.dubois@demo.example", "evaluator", "panel 1"),
    DemoPerson("evaluator-2", "Erik Schmidt", "erik.schmidt@demo.example", "evaluator", "panel 2"),
    DemoPerson("evaluator-3", "Elena Rossi", "elena.rossi@demo.example", "evaluator", "panel 3"),
)
# How the demo turns one of its people into the actor of the commands they issue: the command line adds each to the
# directory of people (outside the event log) and acts as them; without one, actors are named after the slug.
Cast = Callable[[DemoPerson, UUID | None], Actor]


def named_actor(person: DemoPerson, organisation_id: UUID | None) -> Actor:
    return Actor(f"demo-{person.slug}", person.role, organisation_id)


def demo_organisation(person: DemoPerson) -> tuple[str, str] | None:
    """The (name, country) of the demo organisation a person works for."""
    if person.organisation is None:
        return None
    if person.organisation.startswith("panel "):
        return evaluator_org(int(person.organisation.removeprefix("panel ")))
    return provider_name(person.organisation), person.organisation


FULL = {"relevance": 4, "effectiveness": 3, "transferability": 3, "sustainability": 3, "partnership": 3, "openness": 4}

ECOSYSTEMS: list[dict[str, Any]] = [
    {
        "acronym": "VISION",
        "title": "VISION: VET innovation ecosystems across Lithuania, Italy, the Netherlands and Finland",
        "programme": "Erasmus+",
        "key_action": "Cooperation partnerships",
        "eu_grant_eur": Decimal("136836.00"),
        "call_year": 2021,
        "members": [("LT", "coordinator"), ("IT", "partner"), ("NL", "partner"), ("FI", "partner")],
    },
    {
        "acronym": "V2V",
        "title": "V2V: ten VET schools in the EU and the Western Balkans",
        "programme": "Erasmus+",
        "key_action": "Capacity building in VET",
        "call_year": 2022,
        "members": [
            ("SI", "coordinator"),
            ("HR", "partner"),
            ("IT", "partner"),
            ("AT", "partner"),
            ("RS", "partner"),
            ("BA", "partner"),
            ("ME", "partner"),
            ("MK", "partner"),
            ("AL", "partner"),
            ("XK", "partner"),
        ],
    },
    {
        "acronym": "IE-VET",
        "title": "Innovation Ecosystems for VET",
        "programme": "Erasmus+",
        "key_action": "Strategic partnerships",
        "call_year": 2015,
        "start_date": "2015-09-01",
        "end_date": "2017-08-31",
        "members": [("FI", "coordinator"), ("DE", "partner"), ("ES", "partner")],
    },
    {
        "acronym": "CoL",
        "title": "Cities of Learning: digital badges for learning in the city",
        "programme": "Erasmus+",
        "key_action": "Cooperation partnerships",
        "call_year": 2020,
        "members": [("LT", "partner"), ("BE", "coordinator"), ("PT", "partner")],
    },
    {
        "acronym": "DRUPWB",
        "title": "DRUPWB seed project (Western Balkans)",
        "programme": "Erasmus+",
        "call_year": 2023,
        "members": [("RS", "coordinator"), ("BA", "partner"), ("ME", "partner")],
    },
]

INNOVATIONS = [
    ("Open badges for non-formal learning", ["digital badges", "recognition"], "CoL", "mainstreamed"),
    ("City-wide learning playlists", ["digital badges", "youth"], "CoL", "assessment"),
    ("Dual learning with SME clusters", ["dual learning", "employers"], "VISION", "mainstreamed"),
    ("Green skills micro-credentials", ["green skills", "micro-credentials"], "VISION", "development"),
    ("Teacher twinning across borders", ["internationalisation", "mobility"], "V2V", "testing"),
    ("NEET outreach through sports clubs", ["neet outreach", "inclusion"], "V2V", "identification"),
    ("Virtual mobility for apprentices", ["mobility", "digital"], "V2V", "development"),
    ("Innovation labs in VET schools", ["innovation management"], "IE-VET", "assessment"),
    ("Regional skills foresight panels", ["skills anticipation"], "IE-VET", "testing"),
    ("Work-based learning quality label", ["work-based learning", "quality"], "DRUPWB", "identification"),
    ("Entrepreneurship challenge weeks", ["entrepreneurship"], "DRUPWB", "discontinued"),
    ("Mentoring for early school leavers", ["neet outreach", "mentoring"], "VISION", "on_hold"),
]


# The demo's VET provider in each country it names, by the city it is in (made-up providers, named as such
# centres are: the pages show each with its country beside it).
PROVIDER_CITIES = {
    "AL": "Shkodër",
    "AT": "Graz",
    "BA": "Mostar",
    "BE": "Ghent",
    "DE": "Leipzig",
    "ES": "Valencia",
    "FI": "Tampere",
    "HR": "Split",
    "IT": "Bologna",
    "LT": "Kaunas",
    "ME": "Nikšić",
    "MK": "Bitola",
    "NL": "Utrecht",
    "PT": "Porto",
    "RS": "Niš",
    "SI": "Celje",
    "XK": "Prizren",
}


def provider_name(country: str) -> str:
    return f"{PROVIDER_CITIES[country]} Vocational Training Centre"


def evaluator_org(n: int) -> tuple[str, str]:
    return [
        ("Independent evaluation panel A", "BE"),
        ("Independent evaluation panel B", "DE"),
        ("Independent evaluation panel C", "FR"),
    ][n - 1]


def load(app: TrackerApplication, seed: int = 2026, cast: Cast = named_actor) -> dict[str, Any]:
    """Write the demo data set through the application's commands, acting as the demo's people (`cast`); returns
    what it created."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    now = [datetime(2023, 1, 9, 9, 0, tzinfo=UTC)]
    original_clock = app.clock
    app.clock = lambda: now[0]

    def advance(days: float) -> None:
        now[0] += timedelta(days=days, minutes=rng.randint(0, 600))

    try:
        orgs: dict[str, UUID] = {}
        for country in sorted({c for e in ECOSYSTEMS for c, _ in e["members"]}):
            orgs[country] = app.register_organisation(
                actor=LOADER, name=provider_name(country), country=country, kind="vet_provider"
            ).aggregate_id
        for n in (1, 2, 3):
            name, country = evaluator_org(n)
            app.register_organisation(actor=LOADER, name=name, country=country, kind="research")
        actors: dict[str, Actor] = {}
        for person in DEMO_PEOPLE:
            where = demo_organisation(person)
            actors[person.slug] = cast(person, app.find_organisation_id(*where) if where else None)
        evaluators = [actors[f"evaluator-{n}"] for n in (1, 2, 3)]
        ecosystems: dict[str, UUID] = {}
        for spec in ECOSYSTEMS:
            fields = {k: v for k, v in spec.items() if k != "members"}
            members = [(orgs[c], role) for c, role in spec["members"]]
            ecosystems[spec["acronym"]] = app.register_ecosystem(actor=LOADER, members=members, **fields).aggregate_id
            advance(3)
        created = []
        for n, (title, themes, acronym, target) in enumerate(INNOVATIONS):
            # Each innovation starts on its own date between early 2023 and late 2024 and runs for up to ~16 months.
            now[0] = datetime(2023, 2, 1, 9, 0, tzinfo=UTC) + timedelta(days=55 * n)
            spec = next(e for e in ECOSYSTEMS if e["acronym"] == acronym)
            owner_country = spec["members"][0][0]
            owner = orgs[owner_country]
            site = orgs[spec["members"][-1][0]]
            provider = actors[f"provider-{owner_country.lower()}"]
            iid = app.submit_innovation(
                actor=provider,
                title=title,
                summary=f"{title}: piloted in the {acronym} ecosystem.",
                themes=themes,
                organisation_id=owner,
                ecosystem_id=ecosystems[acronym],
                readiness_level=rng.randint(2, 6),
            ).aggregate_id
            _walk(
                app,
                iid,
                target,
                provider,
                evaluators,
                site,
                other=orgs["PT"],
                advance=advance,
                rng=rng,
                now=now,
                manager=actors["manager"],
                turn=n,
                today=original_clock().date(),
            )
            created.append(iid)
        return {"organisations": orgs, "ecosystems": ecosystems, "innovations": created, "people": actors}
    finally:
        app.clock = original_clock


def _walk(
    app: TrackerApplication,
    iid: UUID,
    target: str,
    provider: Actor,
    evaluators: list[Actor],
    site: UUID,
    *,
    other: UUID,
    advance: Callable[[float], None],
    rng: random.Random,
    now: list[datetime],
    manager: Actor,
    turn: int,
    today: date,
) -> None:
    """Take one innovation through its stages up to `target`, with assignments, pilots, evidence and assessments.

    An innovation left in a round has an evaluator still to assess, taken in turn (`turn`, the innovation's number)
    so that every evaluator has work in their queue: in identification one whose due date has passed, in the
    assessment stage one due three weeks after the demo is loaded (`today`)."""
    lead = evaluators[0]

    def decide(decision: str, why: str, **kw: Any) -> None:
        advance(rng.uniform(10, 60))
        app.decide_gate(iid, actor=manager, decision=decision, rationale=why, **kw)

    def assign(evaluator: Actor, due_in_days: int = 30, due_from: date | None = None) -> None:
        advance(rng.uniform(1, 5))
        due_on = (due_from or now[0].date()) + timedelta(days=due_in_days)
        app.assign_evaluator(
            iid,
            actor=manager,
            evaluator_id=evaluator.id,
            evaluator_organisation_id=evaluator.organisation_id,
            due_on=due_on,
        )

    def assess(evaluator: Actor, scores: dict[str, int | None], why: str) -> None:
        if evaluator.id not in app.get_innovation(iid).assignments:
            assign(evaluator)
        advance(rng.uniform(3, 20))
        app.record_assessment(iid, actor=evaluator, scores=scores, rationale=why)

    assess(lead, {k: rng.randint(2, 4) for k in FULL}, "Documented need and a clear fit with national VET priorities.")
    if target == "identification":
        assign(evaluators[1 + (turn // 4) % 2], due_in_days=14)  # a second view, still pending (and by now overdue)
        return
    if target == "on_hold":
        decide("hold", "Pilot site funding is pending the next regional budget.")
        return
    decide("advance", "Relevance established; ready for a first pilot.")
    advance(7)
    pilot = app.start_pilot(
        iid,
        actor=provider,
        site_organisation_id=site,
        started_on=now[0].date(),
        planned_participants=rng.randint(20, 80),
    )
    advance(rng.uniform(60, 120))
    app.record_pilot_outcome(
        iid,
        pilot.item_id,  # type: ignore[arg-type]
        actor=provider,
        ended_on=now[0].date(),
        participants=rng.randint(15, 70),
        completion_rate=round(rng.uniform(0.6, 0.95), 2),
        satisfaction=round(rng.uniform(3.5, 4.8), 1),
        notes="Completion and satisfaction from the pilot's own survey.",
    )
    if target == "testing":
        return
    if target == "discontinued":
        decide("discontinue", "Low uptake at the pilot site and no owner beyond the grant.")
        return
    decide("advance", "Pilot outcome recorded; development can start.")
    advance(20)
    app.add_evidence(
        iid,
        actor=provider,
        kind="evaluation",
        title="External pilot evaluation",
        url="https://example.org/evaluation.pdf",
    )
    if target == "development":
        return
    decide("advance", "Evidence in place; ready for the mainstreaming assessment.")
    assess(evaluators[1], FULL, "Outcomes evidenced; transferable at low cost per learner.")
    if target == "assessment":
        # The round is under way: one evaluator has assessed and opened the deliberation; another is still due.
        app.add_note(iid, actor=evaluators[1], body="Strong outcomes; I would like a second view on the licence.")
        advance(2)
        app.add_note(iid, actor=manager, body="Agreed: the licence question decides the gate.")
        assign((lead, evaluators[2])[(turn // 4) % 2], due_in_days=21, due_from=today)
        return
    assess(evaluators[2], FULL | {"openness": 3}, "Sustainable beyond the grant; licence still to be opened fully.")
    decide("advance", "Two independent evaluators, consolidated score above 60, spread under 30.")
    advance(30)
    app.record_adoption(
        iid, actor=LOADER, organisation_id=other, adopted_on=now[0].date(), notes="Adopted after a peer visit."
    )
