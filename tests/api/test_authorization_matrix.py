"""Every endpoint × every role (own or other organisation, conflicted or not) against the expected status.

Principals: no key; an admin; providers of the owning organisation, of another organisation and of the pilot site;
evaluators of two unrelated organisations; an evaluator whose organisation is a member of the innovation's ecosystem
and one whose organisation owns it (both conflicts of interest, refused 409 with the rule named); an analyst."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.api.conftest import SCORES, Env, make_env
from tests.world import ADMIN

PRINCIPALS = (
    "anonymous",
    "admin",
    "provider",
    "other_provider",
    "site_provider",
    "evaluator",
    "evaluator_b",
    "conflicted_evaluator",
    "owner_evaluator",
    "analyst",
)
# The conflict-of-interest cases: who is refused, and by which rule.
CONFLICTS = {
    "conflicted_evaluator": "conflict_of_interest.ecosystem_member",
    "owner_evaluator": "conflict_of_interest.owner",
}
counter = itertools.count()


@dataclass
class Case:
    method: str
    path: Callable[[Env, dict[str, Any]], str]
    allowed: dict[str, int]
    body: Callable[[Env, dict[str, Any]], Any] | None = None
    form: Callable[[Env, dict[str, Any]], Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    default: int = 403


def fresh(env: Env) -> dict[str, Any]:
    """A new innovation (with a pilot) in the shared ecosystem, projected, for one call."""
    app = env.world.app
    iid = env.world.submit()
    pilot = app.start_pilot(iid, actor=env.world.provider, site_organisation_id=env.world.site, started_on="2025-01-01")
    org = app.register_organisation(actor=ADMIN, name=f"Org {next(counter)}", country="PT", kind="ngo").aggregate_id
    env.app.extensions["tracker"].read_model.catch_up()
    return {"iid": iid, "pilot": pilot.item_id, "org": org, "version": pilot.version}


EVERYONE = dict.fromkeys(PRINCIPALS[1:], 200)
OWNER_WRITE = {"admin": 201, "provider": 201}
ITEM = "/api/v1/innovations/{iid}"

CASES: dict[str, Case] = {
    "list organisations": Case("GET", lambda e, s: "/api/v1/organisations", EVERYONE),
    "register organisation": Case(
        "POST",
        lambda e, s: "/api/v1/organisations",
        {"admin": 201},
        body=lambda e, s: {"name": f"New org {next(counter)}", "country": "FI", "kind": "ngo"},
    ),
    "get organisation": Case("GET", lambda e, s: f"/api/v1/organisations/{e.world.owner}", EVERYONE),
    "list ecosystems": Case("GET", lambda e, s: "/api/v1/ecosystems", EVERYONE),
    "register ecosystem": Case(
        "POST", lambda e, s: "/api/v1/ecosystems", {"admin": 201}, body=lambda e, s: {"acronym": "E", "title": "Eco"}
    ),
    "get ecosystem": Case("GET", lambda e, s: f"/api/v1/ecosystems/{e.world.ecosystem}", EVERYONE),
    "add member": Case(
        "POST",
        lambda e, s: f"/api/v1/ecosystems/{e.world.ecosystem}/members",
        {"admin": 201},
        body=lambda e, s: {"organisation_id": str(s["org"]), "role": "partner"},
    ),
    "list innovations": Case("GET", lambda e, s: "/api/v1/innovations", EVERYONE),
    "submit innovation": Case(
        "POST",
        lambda e, s: "/api/v1/innovations",
        OWNER_WRITE,
        body=lambda e, s: {"title": "T", "summary": "S", "themes": ["x"], "organisation_id": str(e.world.owner)},
    ),
    "get innovation": Case("GET", lambda e, s: ITEM.format(**s), EVERYONE),
    "revise innovation": Case(
        "PATCH",
        lambda e, s: ITEM.format(**s),
        {"admin": 200, "provider": 200},
        body=lambda e, s: {"title": "New"},
        headers={"If-Match": '"2"'},
    ),
    "start pilot": Case(
        "POST",
        lambda e, s: ITEM.format(**s) + "/pilots",
        OWNER_WRITE,
        body=lambda e, s: {"site_organisation_id": str(e.world.site), "started_on": "2025-02-01"},
    ),
    "record outcome": Case(
        "POST",
        lambda e, s: ITEM.format(**s) + f"/pilots/{s['pilot']}/outcome",
        OWNER_WRITE,
        body=lambda e, s: {"ended_on": "2025-03-01", "participants": 10, "completion_rate": 0.8},
    ),
    "add evidence": Case(
        "POST",
        lambda e, s: ITEM.format(**s) + "/evidence",
        OWNER_WRITE,
        body=lambda e, s: {"kind": "report", "title": "R"},
    ),
    "record assessment": Case(
        "POST",
        lambda e, s: ITEM.format(**s) + "/assessments",
        {"evaluator": 201, "evaluator_b": 201, "conflicted_evaluator": 409, "owner_evaluator": 409},
        body=lambda e, s: {"scores": SCORES, "rationale": "r"},
    ),
    "decide gate": Case(
        "POST",
        lambda e, s: ITEM.format(**s) + "/decisions",
        {"evaluator": 200, "evaluator_b": 200, "conflicted_evaluator": 409, "owner_evaluator": 409},
        body=lambda e, s: {"decision": "hold", "rationale": "r"},
        headers={"If-Match": '"2"'},
    ),
    "record adoption": Case(
        "POST",
        lambda e, s: ITEM.format(**s) + "/adoptions",
        {"admin": 201, "site_provider": 201},
        body=lambda e, s: {"organisation_id": str(e.world.site), "adopted_on": "2025-05-01"},
    ),
    "history": Case("GET", lambda e, s: ITEM.format(**s) + "/history", EVERYONE),
    "scores": Case("GET", lambda e, s: ITEM.format(**s) + "/scores", EVERYONE),
    "stages": Case("GET", lambda e, s: ITEM.format(**s) + "/stages", EVERYONE),
    "funnel": Case("GET", lambda e, s: "/api/v1/analytics/funnel", EVERYONE),
    "stage durations": Case("GET", lambda e, s: "/api/v1/analytics/stage-durations", EVERYONE),
    "score groups": Case("GET", lambda e, s: "/api/v1/analytics/scores?group_by=country", EVERYONE),
    "audit": Case("GET", lambda e, s: "/api/v1/audit", {"admin": 200, "analyst": 200}),
    "audit head": Case("GET", lambda e, s: "/api/v1/audit/head", {"admin": 200, "analyst": 200}),
    "audit verify": Case("GET", lambda e, s: "/api/v1/audit/verify", {"admin": 200, "analyst": 200}),
    "import": Case(
        "POST",
        lambda e, s: "/api/v1/imports",
        {"admin": 200},
        form=lambda e, s: {"source": "cove", "file": (io.BytesIO(b"[]"), "empty.json")},
    ),
}


@pytest.fixture(scope="module")
def matrix_env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # The anonymous column alone fails authentication once per operation: more than the per-client limit allows.
    environment = make_env(f"sqlite:///{tmp_path_factory.mktemp('matrix')}/tracker.db", auth_failure_limit="")
    yield environment
    environment.app.extensions["tracker"].close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_endpoint_answers_each_principal_as_expected(matrix_env: Env, tried: Callable[..., None], name: str) -> None:
    case = CASES[name]
    seen: dict[str, int] = {}
    for who in PRINCIPALS:
        state = fresh(matrix_env)
        key = None if who == "anonymous" else getattr(matrix_env.keys, who)
        kwargs: dict[str, Any] = {"headers": case.headers}
        if case.body is not None:
            kwargs["json"] = case.body(matrix_env, state)
        if case.form is not None:
            kwargs["data"] = case.form(matrix_env, state)
            kwargs["content_type"] = "multipart/form-data"
        response = matrix_env.call(case.method, case.path(matrix_env, state), key, **kwargs)
        seen[who] = response.status_code
        tried("authorisation matrix")
        if response.status_code >= 400:
            assert response.content_type == "application/problem+json"
        if response.status_code == 409 and who in CONFLICTS:
            assert response.json["rule"] == CONFLICTS[who], response.json
    expected = {who: 401 if who == "anonymous" else case.allowed.get(who, case.default) for who in PRINCIPALS}
    assert seen == expected


def test_matrix_covers_every_documented_operation(matrix_env: Env) -> None:
    spec = matrix_env.get("/api/v1/openapi.json").json
    verbs = {"get", "post", "put", "patch", "delete"}
    operations = {(m, p) for p, item in spec["paths"].items() for m in item if m in verbs and p.startswith("/api/v1/")}
    covered = len(CASES)
    conflicts = sum(1 for case in CASES.values() for who in CONFLICTS if case.allowed.get(who) == 409)
    print(
        f"authorisation matrix: {covered} operations x {len(PRINCIPALS)} principals = {covered * len(PRINCIPALS)}"
        f" cases, {conflicts} of them conflict-of-interest refusals"
    )
    assert covered == len(operations)
    assert conflicts == 4  # assessment and gate decision, each for a member's and the owner's evaluator


def test_matrix_covers_own_and_other_organisations_and_every_role(matrix_env: Env) -> None:
    """The principals span every role, and each organisation-bound role acts for its own and for other organisations."""
    services = matrix_env.app.extensions["tracker"]
    world = matrix_env.world
    principals = {who: services.keys.verify(getattr(matrix_env.keys, who)) for who in PRINCIPALS[1:]}
    assert {p.role for p in principals.values() if p is not None} == {"admin", "provider", "evaluator", "analyst"}
    assert principals["provider"].organisation_id == world.owner  # own organisation
    assert principals["other_provider"].organisation_id not in (world.owner, world.site)  # another organisation
    assert principals["owner_evaluator"].organisation_id == world.owner  # conflict: owns it
    assert principals["conflicted_evaluator"].organisation_id == world.member  # conflict: ecosystem member
    unrelated = {principals["evaluator"].organisation_id, principals["evaluator_b"].organisation_id}
    assert len(unrelated) == 2
    assert not unrelated & {world.owner, world.member}
