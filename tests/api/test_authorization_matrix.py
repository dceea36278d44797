"""Every endpoint × every role (own or other organisation, conflicted or not) against the expected status."""

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
    "conflicted_evaluator",
    "analyst",
)
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
        {"evaluator": 201, "conflicted_evaluator": 409},
        body=lambda e, s: {"scores": SCORES, "rationale": "r"},
    ),
    "decide gate": Case(
        "POST",
        lambda e, s: ITEM.format(**s) + "/decisions",
        {"evaluator": 200, "conflicted_evaluator": 409},
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
    "import": Case(
        "POST",
        lambda e, s: "/api/v1/imports",
        {"admin": 200},
        form=lambda e, s: {"source": "cove", "file": (io.BytesIO(b"[]"), "empty.json")},
    ),
}


@pytest.fixture(scope="module")
def matrix_env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    environment = make_env(f"sqlite:///{tmp_path_factory.mktemp('matrix')}/tracker.db")
    yield environment
    environment.app.extensions["tracker"].close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_endpoint_answers_each_principal_as_expected(matrix_env: Env, name: str) -> None:
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
        if response.status_code >= 400:
            assert response.content_type == "application/problem+json"
    expected = {who: 401 if who == "anonymous" else case.allowed.get(who, case.default) for who in PRINCIPALS}
    assert seen == expected


def test_matrix_covers_every_documented_operation(matrix_env: Env) -> None:
    spec = matrix_env.get("/api/v1/openapi.json").json
    verbs = {"get", "post", "put", "patch", "delete"}
    operations = {(m, p) for p, item in spec["paths"].items() for m in item if m in verbs and p.startswith("/api/v1/")}
    covered = len(CASES)
    print(
        f"authorisation matrix: {covered} operations x {len(PRINCIPALS)} principals = {covered * len(PRINCIPALS)} cases"
    )
    assert covered == len(operations)
