"""Who sees what, beyond single items: lists, CSV and analytics show no more than the detail would; blind review;
the owner's anonymised view after a closing decision; people's keys, deactivation and erasure."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import MetaData, select

from tests.api.conftest import SCORES, Env, submit
from tests.api.test_authorization_matrix import PRINCIPALS as MATRIX_PRINCIPALS
from tracker.actors import Actor

# Every role with a key (the matrix's principals but the anonymous caller).
PRINCIPALS = MATRIX_PRINCIPALS[1:]


def portfolio(env: Env) -> dict[str, str]:
    """Innovations in every situation the table names: the owner's in identification (one with the evaluator
    assigned), one past identification and scored, another organisation's in identification, one discontinued."""
    world, app = env.world, env.world.app
    confidential = submit(env, title="Confidential idea")["id"]
    assigned = submit(env, title="Assigned idea")["id"]
    env.assign(assigned, env.keys.evaluator)
    public = submit(env, title="Public pilot")["id"]
    env.assess(public, env.keys.evaluator_b, scores=SCORES, rationale="good")
    world.to_stage(UUID(public), "testing")
    stranger = Actor("stranger", "provider", world.eval_org_c)
    foreign = app.submit_innovation(
        actor=stranger, title="Foreign idea", summary="s", themes=["badges"], organisation_id=world.eval_org_c
    ).aggregate_id
    stopped = submit(env, title="Stopped idea")["id"]
    world.to_stage(UUID(stopped), "testing")
    app.decide_gate(UUID(stopped), actor=world.manager, decision="discontinue", rationale="no funding")
    env.app.extensions["tracker"].read_model.catch_up()
    return {
        "confidential": confidential,
        "assigned": assigned,
        "public": public,
        "foreign": str(foreign),
        "stopped": stopped,
    }


def csv_ids(env: Env, key: str, query: str = "") -> set[str]:
    answer = env.get(f"/api/v1/innovations{query}", key, headers={"Accept": "text/csv"})
    assert answer.status_code == 200
    return {row["id"] for row in csv.DictReader(io.StringIO(answer.get_data(as_text=True)))}


def test_no_list_csv_or_total_shows_an_innovation_the_detail_hides(env: Env) -> None:
    ids = portfolio(env)
    everything = set(ids.values())
    seen_by: dict[str, set[str]] = {}
    for who in PRINCIPALS:
        key = getattr(env.keys, who)
        visible = {iid for iid in everything if env.get(f"/api/v1/innovations/{iid}", key).status_code == 200}
        seen_by[who] = visible
        listed = env.get("/api/v1/innovations?page_size=200", key).json
        assert {i["id"] for i in listed["items"]} == visible, who
        assert listed["total"] == len(visible), who
        assert csv_ids(env, key) == visible, who
        paged = env.get("/api/v1/innovations?page_size=1&page=1", key).json
        assert paged["total"] == len(visible), who
        funnel = env.get("/api/v1/analytics/funnel", key).json
        assert sum(funnel["stages"].values()) == len(visible), who
        past = env.get("/api/v1/analytics/funnel?as_of=2100-01-01T00:00:00Z", key).json
        assert sum(past["stages"].values()) == len(visible), who
        by_theme = env.get("/api/v1/analytics/funnel?theme=badges", key).json
        assert sum(by_theme["stages"].values()) == len(visible), who
        for as_of in ("", "?as_of=2100-01-01T00:00:00Z"):
            facets = env.get(f"/api/v1/analytics/facets{as_of}", key).json["facets"]
            assert sum(v["innovations"] for v in facets["organisation"]["items"]) == len(visible), (who, as_of)
            assert sum(v["innovations"] for v in facets["country"]["items"]) == len(visible), (who, as_of)
            badges = {v["key"]: v["innovations"] for v in facets["theme"]["items"]}.get("badges", 0)
            listed = env.get("/api/v1/innovations?theme=badges&page_size=1", key).json["total"]
            assert badges == listed, (who, as_of)
        # The type-ahead counts no more: the foreign organisation's idea shows only to those who see it.
        typed = env.get("/api/v1/analytics/facets?facet=organisation&q=bundesinstitut", key).json["facets"]
        assert sum(v["innovations"] for v in typed["organisation"]["items"]) == int(ids["foreign"] in visible), who
        durations = env.get("/api/v1/analytics/stage-durations", key).json
        stays = sum(
            1 for iid in visible for s in env.get(f"/api/v1/innovations/{iid}/stages", key).json if s["exited_at"]
        )
        assert sum(s["count"] for s in durations["stages"].values()) == stays, who
        groups = env.get("/api/v1/analytics/scores?group_by=country", key).json
        scored = {iid for iid in visible if env.get(f"/api/v1/innovations/{iid}", key).json["mpi"] is not None}
        assert sum(g["innovations"] for g in groups["items"]) == len(scored), who
    # The table itself: everyone sees what is past identification; identification only its circle.
    public = {ids["public"], ids["stopped"]}
    assert seen_by["admin"] == seen_by["manager"] == seen_by["analyst"] == set(ids.values())
    assert seen_by["provider"] == set(ids.values()) - {ids["foreign"]}
    assert seen_by["other_provider"] == public | {ids["foreign"]}  # its own organisation's idea
    assert seen_by["site_provider"] == seen_by["evaluator_b"] == seen_by["conflicted_evaluator"] == public
    assert seen_by["evaluator"] == public | {ids["assigned"]}


def test_blind_review_hides_the_others_scores_until_the_evaluators_own_is_in(env: Env) -> None:
    iid = submit(env, title="Blind round")["id"]
    env.world.to_stage(UUID(iid), "testing")
    env.assign(iid, env.keys.evaluator)
    secret = "Rationale-of-B-9f3c"
    made = env.assess(
        iid, env.keys.evaluator_b, scores=SCORES, rationale=secret, comments={"openness": "Comment-of-B-77aa"}
    )
    assert made.status_code == 201
    note = env.post(f"/api/v1/innovations/{iid}/notes", env.keys.evaluator_b, json={"body": "Note-of-B-c0de"})
    assert note.status_code == 201
    a = env.keys.evaluator

    def everything_a_reaches() -> str:
        answers = [
            env.get(f"/api/v1/innovations/{iid}", a).json,
            env.get(f"/api/v1/innovations/{iid}?version=1", a).json,
            env.get(f"/api/v1/innovations/{iid}/history", a).json,
            env.get(f"/api/v1/innovations/{iid}/scores", a).json,
            env.get(f"/api/v1/innovations/{iid}/notes", a).json,
            env.get("/api/v1/innovations?page_size=200", a).json,
            env.get("/api/v1/innovations?min_mpi=0", a).json,
            env.get("/api/v1/innovations?sort=-mpi", a).json,
            env.get("/api/v1/analytics/scores?group_by=country", a).json,
            env.get("/api/v1/me/assignments?state=all", a).json,
        ]
        text = json.dumps(answers) + env.get("/api/v1/innovations", a, headers={"Accept": "text/csv"}).get_data(
            as_text=True
        )
        return text

    before = everything_a_reaches()
    for leaked in (secret, "Comment-of-B-77aa", "Note-of-B-c0de", "80.0", env.person_id(env.keys.evaluator_b)):
        assert leaked not in before, leaked
    detail = env.get(f"/api/v1/innovations/{iid}", a).json
    assert detail["mpi"] is None
    assert env.get(f"/api/v1/innovations/{iid}/scores", a).json == []
    assert env.get(f"/api/v1/innovations/{iid}/notes", a).status_code == 403
    row = next(i for i in env.get("/api/v1/innovations?page_size=200", a).json["items"] if i["id"] == iid)
    assert row["mpi"] is None
    assert iid not in {i["id"] for i in env.get("/api/v1/innovations?min_mpi=0", a).json["items"]}

    assert env.assess(iid, a, scores=dict.fromkeys(SCORES, 3), rationale="Mine").status_code == 201
    after = everything_a_reaches()
    for shown in (secret, "Comment-of-B-77aa", "Note-of-B-c0de"):
        assert shown in after, shown
    assert env.get(f"/api/v1/innovations/{iid}", a).json["mpi"]["evaluators"] == 3  # with identification's
    assert env.get(f"/api/v1/innovations/{iid}/scores", a).json != []
    # Everyone else never needed to be blind: the analyst saw B's score from the start.
    assert env.get(f"/api/v1/innovations/{iid}/scores", env.keys.analyst).json[0]["value"] == 80.0


def test_a_stage_visited_again_is_a_new_round_and_its_evaluators_are_blind_again(env: Env) -> None:
    """An evaluator who assessed a stage in an earlier visit of it is blind in the next: neither the other
    evaluators' new assessments, nor the consolidated MPI and score history, nor the notes, until their own
    assessment of this round is in. Their assignment of this round can still end."""
    a, b = env.keys.evaluator, env.keys.evaluator_b
    iid = submit(env, title="Visited twice")["id"]
    for key in (a, b):
        assert env.assess(iid, key, scores=SCORES, rationale=f"First round {key[-4:]}").status_code == 201
    env.world.to_stage(UUID(iid), "testing")
    env.app.extensions["tracker"].read_model.catch_up()  # to_stage wrote through the application, not over HTTP
    version = env.get(f"/api/v1/innovations/{iid}", env.keys.manager).headers["ETag"]
    recycled = env.post(
        f"/api/v1/innovations/{iid}/decisions",
        env.keys.manager,
        json={"decision": "recycle", "to_stage": "identification", "rationale": "Rework the idea"},
        headers={"If-Match": version},
    )
    assert recycled.status_code == 200, recycled.json
    secret, note = "Second-round-B-5e1f", "Second-round-note-7b2d"
    assert env.assess(iid, b, scores=dict.fromkeys(SCORES, 1), rationale=secret).status_code == 201
    assert env.post(f"/api/v1/innovations/{iid}/notes", env.keys.manager, json={"body": note}).status_code == 201
    env.assign(iid, a)

    answers = [
        env.get(f"/api/v1/innovations/{iid}", a).json,
        env.get(f"/api/v1/innovations/{iid}/history", a).json,
        env.get(f"/api/v1/innovations/{iid}/scores", a).json,
        env.get("/api/v1/innovations?page_size=200", a).json,
        env.get("/api/v1/innovations?sort=-mpi", a).json,
    ]
    text = json.dumps(answers) + env.get("/api/v1/innovations", a, headers={"Accept": "text/csv"}).get_data(
        as_text=True
    )
    assert secret not in text
    assert note not in text
    assert f"First round {b[-4:]}" in text  # the round A assessed in stays open to A
    assert env.get(f"/api/v1/innovations/{iid}", a).json["mpi"] is None
    assert env.get(f"/api/v1/innovations/{iid}/scores", a).json == []
    assert env.get(f"/api/v1/innovations/{iid}/notes", a).status_code == 403
    row = next(i for i in env.get("/api/v1/innovations?page_size=200", a).json["items"] if i["id"] == iid)
    assert row["mpi"] is None
    assert iid not in {i["id"] for i in env.get("/api/v1/innovations?min_mpi=0", a).json["items"]}
    written = env.post(f"/api/v1/innovations/{iid}/notes", a, json={"body": "Too early"})
    assert (written.status_code, written.json["rule"]) == (409, "note.assess_first")
    pending = env.get("/api/v1/me/assignments", a).json["items"]
    assert iid in {p["innovation_id"] for p in pending}
    # A's assignment of this round may still end, whatever A did in the first; once A assesses, it may not.
    assignment = f"/api/v1/innovations/{iid}/assignments/{env.person_id(a)}"
    assert env.delete(assignment, env.keys.manager).status_code == 204
    env.assign(iid, a)

    assert env.assess(iid, a, scores=dict.fromkeys(SCORES, 3), rationale="Second round A").status_code == 201
    assert secret in json.dumps(env.get(f"/api/v1/innovations/{iid}/history", a).json)
    assert env.get(f"/api/v1/innovations/{iid}", a).json["mpi"] is not None
    assert note in json.dumps(env.get(f"/api/v1/innovations/{iid}/notes", a).json)
    assert env.delete(assignment, env.keys.manager).json["rule"] == "assignment.already_assessed"


def test_the_owner_sees_a_rounds_assessments_only_after_its_closing_decision_and_without_evaluator_ids(
    env: Env,
) -> None:
    iid = submit(env, title="Owner's view")["id"]
    for key in (env.keys.evaluator, env.keys.evaluator_b):
        assert env.assess(iid, key, scores=SCORES, rationale=f"view {key[-4:]}").status_code == 201
    history = env.get(f"/api/v1/innovations/{iid}/history", env.keys.provider).json
    assert [e["type"] for e in history] == ["Submitted"]
    version = env.get(f"/api/v1/innovations/{iid}", env.keys.manager).headers["ETag"]
    decided = env.post(
        f"/api/v1/innovations/{iid}/decisions",
        env.keys.manager,
        json={"decision": "advance", "rationale": "Round closed"},
        headers={"If-Match": version},
    )
    assert decided.status_code == 200
    history = env.get(f"/api/v1/innovations/{iid}/history", env.keys.provider).json
    assessments = [e for e in history if e["type"] == "AssessmentRecorded"]
    assert [e["actor"]["id"] for e in assessments] == ["evaluator 1", "evaluator 2"]
    assert all("scores" in e["data"] and "rationale" in e["data"] for e in assessments)
    text = json.dumps(history)
    for key in (env.keys.evaluator, env.keys.evaluator_b):
        assert env.person_id(key) not in text
    assert "evaluator_organisation_id" not in text
    assert "EvaluatorAssigned" not in text
    assert env.get(f"/api/v1/innovations/{iid}/notes", env.keys.provider).status_code == 403
    # Another provider, to whom the innovation is now visible, sees no assessment at all.
    other = env.get(f"/api/v1/innovations/{iid}/history", env.keys.other_provider).json
    assert "AssessmentRecorded" not in [e["type"] for e in other]


def test_two_keys_of_one_person_count_as_one_evaluator(env: Env) -> None:
    services = env.app.extensions["tracker"]
    person = services.people.create(
        actor_id="test",
        name="Ana Two-Keys",
        email="ana@example.org",
        role="evaluator",
        organisation_id=env.world.eval_org_a,
    )
    laptop, _ = services.keys.create_for(person_id=person.id, name="laptop")
    phone, _ = services.keys.create_for(person_id=person.id, name="phone")
    iid = submit(env)["id"]
    assigned = env.post(
        f"/api/v1/innovations/{iid}/assignments", env.keys.manager, json={"evaluator_id": str(person.id)}
    )
    assert assigned.status_code == 201
    first = env.post(f"/api/v1/innovations/{iid}/assessments", laptop, json={"scores": SCORES, "rationale": "one"})
    second = env.post(
        f"/api/v1/innovations/{iid}/assessments", phone, json={"scores": dict.fromkeys(SCORES, 2), "rationale": "two"}
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json["consolidated"]["evaluators"] == 1  # the second supersedes the first
    history = env.get(f"/api/v1/innovations/{iid}/history", env.keys.analyst).json
    keys_used = [e["actor"] for e in history if e["type"] == "AssessmentRecorded"]
    assert {a["id"] for a in keys_used} == {str(person.id)}
    assert len({a["key"] for a in keys_used}) == 2  # each event keeps the key it came through


def test_a_deactivated_persons_keys_stop_at_once_and_a_revoked_key_too(env: Env) -> None:
    person_id = env.person_id(env.keys.analyst)
    assert env.get("/api/v1/me", env.keys.analyst).status_code == 200
    changed = env.patch(f"/api/v1/people/{person_id}", env.keys.admin, json={"active": False})
    assert (changed.status_code, changed.json["active"]) == (200, False)
    assert env.get("/api/v1/me", env.keys.analyst).status_code == 401
    assert env.get("/api/v1/innovations", env.keys.analyst).status_code == 401
    env.patch(f"/api/v1/people/{person_id}", env.keys.admin, json={"active": True})
    assert env.get("/api/v1/me", env.keys.analyst).status_code == 200
    made = env.post(f"/api/v1/people/{person_id}/keys", env.keys.analyst, json={"name": "second"})
    assert made.status_code == 201
    assert env.get("/api/v1/me", made.json["key"]).json["id"] == person_id
    assert env.call("DELETE", f"/api/v1/people/{person_id}/keys/second", env.keys.analyst).status_code == 204
    assert env.get("/api/v1/me", made.json["key"]).status_code == 401
    changes = env.get(f"/api/v1/people/{person_id}/changes", env.keys.admin).json
    admin = env.person_id(env.keys.admin)
    assert [(c["change"], c["actor_id"], c["fields"]) for c in changes][1:] == [
        ("updated", admin, {"active": False}),
        ("updated", admin, {"active": True}),
    ]


def _everything_stored(env: Env) -> str:
    """Every row of every table in the database, events included, as text."""
    services = env.app.extensions["tracker"]
    metadata = MetaData()
    metadata.reflect(services.read_model.reader)
    out = []
    with services.read_model.reader.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                out.append(repr(tuple(row)))
                out.extend(v.decode("utf-8", "replace") for v in row if isinstance(v, bytes))
    return "\n".join(out)


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_erasing_a_person_removes_their_name_and_address_everywhere_and_the_log_still_verifies(
    request: pytest.FixtureRequest, store: str
) -> None:
    from tests.api.conftest import make_env

    env = make_env(request.getfixturevalue(f"{store}_url"))
    try:
        created = env.post(
            "/api/v1/people",
            env.keys.admin,
            json={
                "name": "Zofia Erasable",
                "email": "Zofia.Erasable@example.org",
                "role": "evaluator",
                "organisation_id": str(env.world.eval_org_a),
            },
        )
        assert created.status_code == 201
        person_id = created.json["id"]
        key = env.post(f"/api/v1/people/{person_id}/keys", env.keys.admin, json={"name": "zofia-laptop"}).json["key"]
        iid = submit(env)["id"]
        env.post(f"/api/v1/innovations/{iid}/assignments", env.keys.manager, json={"evaluator_id": person_id})
        assert (
            env.post(
                f"/api/v1/innovations/{iid}/assessments", key, json={"scores": SCORES, "rationale": "r"}
            ).status_code
            == 201
        )
        duplicate = env.post(
            "/api/v1/people",
            env.keys.admin,
            json={"name": "Z", "email": "zofia.erasable@EXAMPLE.org", "role": "analyst"},
        )
        assert (duplicate.status_code, duplicate.json["rule"]) == (409, "person.duplicate_email")
        env.patch(f"/api/v1/people/{person_id}", env.keys.admin, json={"name": "Zofia Renamed"})
        assert "Zofia" in _everything_stored(env)

        assert env.call("DELETE", f"/api/v1/people/{person_id}", env.keys.admin).status_code == 204
        erased = env.get(f"/api/v1/people/{person_id}", env.keys.admin).json
        assert (erased["name"], erased["email"], erased["active"]) == ("erased person", None, False)
        stored = _everything_stored(env).lower()
        for personal in ("zofia", "erasable", "renamed", "zofia-laptop"):
            assert personal not in stored, personal
        assert env.get("/api/v1/me", key).status_code == 401
        assert person_id in stored  # the id stays in the history
        verified = env.get("/api/v1/audit/verify", env.keys.analyst).json
        assert verified["ok"] is True
        assert env.get(f"/api/v1/innovations/{iid}/history", env.keys.analyst).status_code == 200
    finally:
        env.app.extensions["tracker"].close()


def test_people_are_listed_for_admins_and_managers_and_refuse_bad_input(env: Env) -> None:
    bad: list[dict[str, Any]] = [
        {"name": "No org", "email": "p@example.org", "role": "provider"},
        {
            "name": "Org for analyst",
            "email": "q@example.org",
            "role": "analyst",
            "organisation_id": str(env.world.owner),
        },
        {"name": "Bad mail", "email": "not-an-address", "role": "analyst"},
        # Characters that make one address several recipients, or none, in a mail header.
        *({"name": "Two", "email": address, "role": "analyst"} for address in ("a,b@example.org", "x@example.org;y")),
        {"name": "Group", "email": "list:a@example.org", "role": "analyst"},
        {"name": "Quoted", "email": '"x y"@example.org', "role": "analyst"},
        {"name": "Ghost org", "email": "g@example.org", "role": "evaluator", "organisation_id": str(UUID(int=7))},
        {"name": "Role", "email": "r@example.org", "role": "superuser"},
    ]
    for body in bad:
        answer = env.post("/api/v1/people", env.keys.admin, json=body)
        assert answer.status_code == 422, (body, answer.json)
        assert answer.json["errors"], answer.json
    evaluator = {"name": "No org", "email": "e@example.org", "role": "evaluator"}
    assert "an evaluator must belong" in env.post("/api/v1/people", env.keys.admin, json=evaluator).json["detail"]
    made = env.post(
        "/api/v1/people", env.keys.admin, json={"name": "Lina Lead", "email": "lina@example.org", "role": "manager"}
    )
    assert made.status_code == 201
    found = env.get("/api/v1/people?role=manager&q=lina", env.keys.manager).json
    assert [p["name"] for p in found["items"]] == ["Lina Lead"]
    assert env.get("/api/v1/people", env.keys.provider).status_code == 403
    me = env.get("/api/v1/me", env.keys.provider).json
    assert (me["role"], me["organisation_id"]) == ("provider", str(env.world.owner))
    assert env.get(f"/api/v1/people/{me['id']}", env.keys.provider).status_code == 200  # oneself
    assert env.get(f"/api/v1/people/{made.json['id']}", env.keys.provider).status_code == 403


def test_the_portfolio_as_of_an_instant_hides_what_was_confidential_then(env: Env) -> None:
    """Past identification now, but in identification at the instant asked: as it stood then, another provider may not
    see it, in the list, the replayed detail or the funnel; its owner may. Nor may an evaluator who was assigned to
    and assessed another innovation, submitted later: what they may see is decided innovation by innovation."""
    iid = submit(env, title="Once confidential")["id"]
    env.world.to_stage(UUID(iid), "testing")
    later = submit(env, title="Assessed by evaluator B")["id"]
    assert env.assess(later, env.keys.evaluator_b, scores=SCORES, rationale="fine").status_code == 201
    env.app.extensions["tracker"].read_model.catch_up()
    history = env.get(f"/api/v1/innovations/{iid}/history", env.keys.analyst).json
    advanced = next(e["at"] for e in history if e["type"] == "Advanced")
    then = advanced.replace("Z", "+00:00")
    before = (datetime.fromisoformat(then) - timedelta(microseconds=1)).isoformat()
    for key, sees in ((env.keys.provider, True), (env.keys.other_provider, False), (env.keys.evaluator_b, False)):
        listed = env.get("/api/v1/innovations", key, query_string={"as_of": before}).json
        assert (iid in {i["id"] for i in listed["items"]}) is sees
        assert listed["total"] == (1 if sees else 0)
        detail = env.get(f"/api/v1/innovations/{iid}", key, query_string={"as_of": before})
        assert detail.status_code == (200 if sees else 404)
        funnel = env.get("/api/v1/analytics/funnel", key, query_string={"as_of": before}).json
        assert sum(funnel["stages"].values()) == (1 if sees else 0)
        now = env.get("/api/v1/innovations", key).json
        assert iid in {i["id"] for i in now["items"]}  # past identification now: everyone sees it
