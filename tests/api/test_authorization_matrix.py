"""Every endpoint × every role against the expected status: the roles of API.md and its "Who sees what" table.

Principals: no key; an admin; a manager; providers of the owning organisation, of another organisation and of the
pilot site; the evaluator assigned to the innovation and one of another unrelated organisation; an evaluator whose
organisation is a member of the innovation's ecosystem and one whose organisation owns it; an analyst.

Each call gets a fresh innovation in identification (confidential: 404 to those who may not see it), with a pilot and
the evaluator assigned; cases marked "(past identification)" get one in testing, which every caller sees. Conflicts
of interest are refused when assigning (tests/api/test_evaluation_api.py)."""

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
    "manager",
    "provider",
    "other_provider",
    "site_provider",
    "evaluator",
    "evaluator_b",
    "conflicted_evaluator",
    "owner_evaluator",
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
    stage: str = "identification"


def fresh(env: Env, stage: str) -> dict[str, Any]:
    """A new innovation in `stage` (with a pilot, and the evaluator assigned), a new person with a key, and a new
    organisation, all projected, for one call."""
    app, world = env.world.app, env.world
    services = env.app.extensions["tracker"]
    hook, _secret = services.outbox.endpoints.create(
        url="http://127.0.0.1:9/hook", event_types=["innovation.submitted"], description=None, actor_id="test"
    )
    iid = world.submit()
    world.to_stage(iid, stage)
    pilot = app.start_pilot(iid, actor=world.provider, site_organisation_id=world.site, started_on="2025-01-01")
    assigned = services.keys.verify(env.keys.evaluator)
    app.assign_evaluator(
        iid, actor=world.manager, evaluator_id=str(assigned.person_id), evaluator_organisation_id=world.eval_org_a
    )
    org = app.register_organisation(actor=ADMIN, name=f"Org {next(counter)}", country="PT", kind="ngo").aggregate_id
    person = services.people.create(
        actor_id="test", name="Someone", email=f"p{next(counter)}@example.org", role="analyst"
    )
    services.keys.create_for(person_id=person.id, name="laptop")
    services.read_model.catch_up()
    services.outbox.derivation.catch_up()
    (delivery,) = services.outbox.endpoints.deliveries(hook.id)["items"]
    version = app.get_innovation(iid).version
    return {
        "iid": iid,
        "pilot": pilot.item_id,
        "org": org,
        "version": version,
        "person": person.id,
        "hook": hook.id,
        "delivery": delivery["delivery_id"],
    }


EVERYONE = dict.fromkeys(PRINCIPALS[1:], 200)
READ_ALL = {"admin": 200, "manager": 200, "analyst": 200}
# Who sees an innovation in identification: the roles that read all, its owner's providers, its assigned evaluator;
# to everyone else it does not exist.
CONFIDENTIAL = {
    **READ_ALL,
    "provider": 200,
    "evaluator": 200,
    "other_provider": 404,
    "site_provider": 404,
    "evaluator_b": 404,
    "conflicted_evaluator": 404,
    "owner_evaluator": 404,
}
OWNER_WRITE = {"admin": 201, "provider": 201, "other_provider": 404, "site_provider": 404}
EVALUATORS = ("evaluator", "evaluator_b", "conflicted_evaluator", "owner_evaluator")
ITEM = "/api/v1/innovations/{iid}"
PERSON = "/api/v1/people/{person}"
HOOK = "/api/v1/webhooks/{hook}"

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
        {"admin": 201, "provider": 201},
        body=lambda e, s: {"title": "T", "summary": "S", "themes": ["x"], "organisation_id": str(e.world.owner)},
    ),
    "get innovation": Case("GET", lambda e, s: ITEM.format(**s), CONFIDENTIAL),
    "get innovation (past identification)": Case("GET", lambda e, s: ITEM.format(**s), EVERYONE, stage="testing"),
    "revise innovation": Case(
        "PATCH",
        lambda e, s: ITEM.format(**s),
        {"admin": 200, "provider": 200, "other_provider": 404, "site_provider": 404},
        body=lambda e, s: {"title": "New"},
        headers={"If-Match": '"3"'},
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
        {"evaluator": 201, "evaluator_b": 404, "conflicted_evaluator": 404, "owner_evaluator": 404},
        body=lambda e, s: {"scores": SCORES, "rationale": "r"},
    ),
    "record assessment (past identification)": Case(
        "POST",
        lambda e, s: ITEM.format(**s) + "/assessments",
        {"evaluator": 201, "evaluator_b": 409, "conflicted_evaluator": 409, "owner_evaluator": 409},
        body=lambda e, s: {"scores": SCORES, "rationale": "r"},
        stage="testing",
    ),
    "decide gate": Case(
        "POST",
        lambda e, s: ITEM.format(**s) + "/decisions",
        {"admin": 200, "manager": 200},
        body=lambda e, s: {"decision": "hold", "rationale": "r"},
        headers={"If-Match": '"3"'},
    ),
    "record adoption": Case(
        "POST",
        lambda e, s: ITEM.format(**s) + "/adoptions",
        {"admin": 201, "provider": 403, "site_provider": 404, "other_provider": 404},
        body=lambda e, s: {"organisation_id": str(e.world.site), "adopted_on": "2025-05-01"},
    ),
    "record adoption (past identification)": Case(
        "POST",
        lambda e, s: ITEM.format(**s) + "/adoptions",
        {"admin": 201, "site_provider": 201},
        body=lambda e, s: {"organisation_id": str(e.world.site), "adopted_on": "2025-05-01"},
        stage="testing",
    ),
    "history": Case("GET", lambda e, s: ITEM.format(**s) + "/history", CONFIDENTIAL),
    "history (past identification)": Case("GET", lambda e, s: ITEM.format(**s) + "/history", EVERYONE, stage="testing"),
    "scores": Case("GET", lambda e, s: ITEM.format(**s) + "/scores", CONFIDENTIAL),
    "stages": Case("GET", lambda e, s: ITEM.format(**s) + "/stages", CONFIDENTIAL),
    "funnel": Case("GET", lambda e, s: "/api/v1/analytics/funnel", EVERYONE),
    "stage durations": Case("GET", lambda e, s: "/api/v1/analytics/stage-durations", EVERYONE),
    "facets": Case("GET", lambda e, s: "/api/v1/analytics/facets", EVERYONE),
    "MPI distribution": Case("GET", lambda e, s: "/api/v1/analytics/mpi-distribution", EVERYONE),
    "funnel series": Case("GET", lambda e, s: "/api/v1/analytics/funnel-series?from=2024-01-01", READ_ALL),
    "score series": Case("GET", lambda e, s: "/api/v1/analytics/score-series?group_by=theme&from=2024-01-01", READ_ALL),
    "score groups": Case("GET", lambda e, s: "/api/v1/analytics/scores?group_by=country", EVERYONE),
    "evaluation analytics": Case("GET", lambda e, s: "/api/v1/analytics/evaluation", READ_ALL),
    "audit": Case("GET", lambda e, s: "/api/v1/audit", READ_ALL),
    "audit head": Case("GET", lambda e, s: "/api/v1/audit/head", READ_ALL),
    "audit verify": Case("GET", lambda e, s: "/api/v1/audit/verify", READ_ALL),
    "event feed": Case("GET", lambda e, s: "/api/v1/events", READ_ALL),
    "list assignments": Case("GET", lambda e, s: ITEM.format(**s) + "/assignments", READ_ALL),
    "assign evaluator": Case(
        "POST",
        lambda e, s: ITEM.format(**s) + "/assignments",
        {"admin": 201, "manager": 201},
        body=lambda e, s: {"evaluator_id": e.person_id(e.keys.evaluator_b)},
    ),
    "unassign evaluator": Case(
        "DELETE",
        lambda e, s: ITEM.format(**s) + f"/assignments/{e.person_id(e.keys.evaluator)}",
        {"admin": 204, "manager": 204},
    ),
    "evaluator queue": Case("GET", lambda e, s: "/api/v1/me/assignments", dict.fromkeys(EVALUATORS, 200)),
    "list notes": Case(
        "GET",
        lambda e, s: ITEM.format(**s) + "/notes",
        {**CONFIDENTIAL, "evaluator": 403, "provider": 403},  # the evaluator has not assessed; providers never
    ),
    "write note": Case(
        "POST",
        lambda e, s: ITEM.format(**s) + "/notes",
        {"admin": 201, "manager": 201, "evaluator": 409, **dict.fromkeys(EVALUATORS[1:], 404)},
        body=lambda e, s: {"body": "A thought"},
    ),
    "list people": Case("GET", lambda e, s: "/api/v1/people", {"admin": 200, "manager": 200}),
    "add person": Case(
        "POST",
        lambda e, s: "/api/v1/people",
        {"admin": 201},
        body=lambda e, s: {"name": "New", "email": f"n{next(counter)}@example.org", "role": "analyst"},
    ),
    "get person": Case("GET", lambda e, s: PERSON.format(**s), {"admin": 200, "manager": 200}),
    "change person": Case("PATCH", lambda e, s: PERSON.format(**s), {"admin": 200}, body=lambda e, s: {"locale": "fr"}),
    "person changes": Case("GET", lambda e, s: PERSON.format(**s) + "/changes", {"admin": 200}),
    "erase person": Case("DELETE", lambda e, s: PERSON.format(**s), {"admin": 204}),
    "list keys": Case("GET", lambda e, s: PERSON.format(**s) + "/keys", {"admin": 200}),
    "create key": Case(
        "POST", lambda e, s: PERSON.format(**s) + "/keys", {"admin": 201}, body=lambda e, s: {"name": "k2"}
    ),
    "revoke key": Case("DELETE", lambda e, s: PERSON.format(**s) + "/keys/laptop", {"admin": 204}),
    "me": Case("GET", lambda e, s: "/api/v1/me", EVERYONE),
    "list webhooks": Case("GET", lambda e, s: "/api/v1/webhooks", {"admin": 200}),
    "add webhook": Case(
        "POST",
        lambda e, s: "/api/v1/webhooks",
        {"admin": 201},
        body=lambda e, s: {"url": "http://127.0.0.1:9/other", "event_types": ["innovation.advanced"]},
    ),
    "get webhook": Case("GET", lambda e, s: HOOK.format(**s), {"admin": 200}),
    "change webhook": Case("PATCH", lambda e, s: HOOK.format(**s), {"admin": 200}, body=lambda e, s: {"active": False}),
    "delete webhook": Case("DELETE", lambda e, s: HOOK.format(**s), {"admin": 204}),
    "rotate webhook secret": Case("POST", lambda e, s: HOOK.format(**s) + "/rotate-secret", {"admin": 200}),
    "webhook deliveries": Case("GET", lambda e, s: HOOK.format(**s) + "/deliveries", {"admin": 200}),
    "redeliver": Case(
        "POST", lambda e, s: HOOK.format(**s) + "/deliveries/{delivery}/redeliver".format(**s), {"admin": 202}
    ),
    "replay": Case("POST", lambda e, s: HOOK.format(**s) + "/replay", {"admin": 202}, body=lambda e, s: {"after": 0}),
    "outbox": Case("GET", lambda e, s: "/api/v1/outbox", {"admin": 200}),
    "outbox emails": Case("GET", lambda e, s: "/api/v1/outbox/emails", {"admin": 200}),
    "email preferences": Case("GET", lambda e, s: "/api/v1/me/email-preferences", EVERYONE),
    # Every person chooses; only providers are sent gate decisions (the others' choice of them is a 422).
    "choose email preferences": Case(
        "PUT",
        lambda e, s: "/api/v1/me/email-preferences",
        dict.fromkeys(PRINCIPALS[1:], 422) | dict.fromkeys(("provider", "other_provider", "site_provider"), 200),
        body=lambda e, s: {"gate_decision": False},
    ),
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
    environment = make_env(
        f"sqlite:///{tmp_path_factory.mktemp('matrix')}/tracker.db",
        auth_failure_limit="",
        inline_outbox=False,
        webhooks_allow_private=True,
    )
    yield environment
    environment.app.extensions["tracker"].close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_endpoint_answers_each_principal_as_expected(matrix_env: Env, tried: Callable[..., None], name: str) -> None:
    case = CASES[name]
    seen: dict[str, int] = {}
    for who in PRINCIPALS:
        state = fresh(matrix_env, case.stage)
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
    expected = {who: 401 if who == "anonymous" else case.allowed.get(who, case.default) for who in PRINCIPALS}
    assert seen == expected


def test_matrix_covers_every_documented_operation(matrix_env: Env) -> None:
    spec = matrix_env.get("/api/v1/openapi.json").json
    verbs = {"get", "post", "put", "patch", "delete"}
    operations = {(m, p) for p, item in spec["paths"].items() for m in item if m in verbs and p.startswith("/api/v1/")}
    covered = {name for name, case in CASES.items() if "(past identification)" not in name}
    print(
        f"authorisation matrix: {len(CASES)} cases of {len(covered)} operations x {len(PRINCIPALS)} principals ="
        f" {len(CASES) * len(PRINCIPALS)} calls"
    )
    assert len(covered) == len(operations)


def test_matrix_covers_own_and_other_organisations_and_every_role(matrix_env: Env) -> None:
    """The principals span every role, and each organisation-bound role acts for its own and for other organisations."""
    services = matrix_env.app.extensions["tracker"]
    world = matrix_env.world
    principals = {who: services.keys.verify(getattr(matrix_env.keys, who)) for who in PRINCIPALS[1:]}
    assert {p.role for p in principals.values() if p is not None} == {
        "admin",
        "manager",
        "provider",
        "evaluator",
        "analyst",
    }
    assert principals["provider"].organisation_id == world.owner  # own organisation
    assert principals["other_provider"].organisation_id not in (world.owner, world.site)  # another organisation
    assert principals["owner_evaluator"].organisation_id == world.owner  # conflict: owns it
    assert principals["conflicted_evaluator"].organisation_id == world.member  # conflict: ecosystem member
    unrelated = {principals["evaluator"].organisation_id, principals["evaluator_b"].organisation_id}
    assert len(unrelated) == 2
    assert not unrelated & {world.owner, world.member}
