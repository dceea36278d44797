"""The innovation lifecycle over HTTP, with ownership, conflict of interest and optimistic concurrency."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.api.conftest import SCORES, Env, submit


def decide(env: Env, iid: str, decision: str, version: int, key: str | None = None, **extra: Any) -> Any:
    return env.post(
        f"/api/v1/innovations/{iid}/decisions",
        key or env.keys.manager,
        json={"decision": decision, "rationale": "because", **extra},
        headers={"If-Match": f'"{version}"'},
    )


def test_provider_submits_for_own_organisation_and_gets_location_and_etag(env: Env) -> None:
    response = env.post("/api/v1/innovations", env.keys.provider, json={"title": "T", "summary": "S", "themes": ["x"]})
    assert response.status_code == 201
    assert (response.json["stage"], response.json["status"], response.json["version"]) == (
        "identification",
        "active",
        1,
    )
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/api/v1/innovations/{response.json['id']}"
    assert response.json["organisation_id"] == str(env.world.owner)


def test_submission_is_refused_for_another_organisation_or_without_owner(env: Env) -> None:
    other = env.post(
        "/api/v1/innovations",
        env.keys.provider,
        json={"title": "T", "summary": "S", "themes": ["x"], "organisation_id": str(env.world.site)},
    )
    assert other.status_code == 403
    admin_without = env.post(
        "/api/v1/innovations", env.keys.admin, json={"title": "T", "summary": "S", "themes": ["x"]}
    )
    assert admin_without.status_code == 422
    assert "organisation_id" in admin_without.json["errors"]
    admin_with = env.post(
        "/api/v1/innovations",
        env.keys.admin,
        json={"title": "T", "summary": "S", "themes": ["x"], "organisation_id": str(env.world.site)},
    )
    assert admin_with.status_code == 201
    assert (
        env.post(
            "/api/v1/innovations", env.keys.evaluator, json={"title": "T", "summary": "S", "themes": ["x"]}
        ).status_code
        == 403
    )


def test_a_submission_names_only_an_ecosystem_its_organisation_is_a_member_of(env: Env) -> None:
    """The site provider's organisation is in no ecosystem: naming the world's ecosystem is a 422 on that field,
    with the domain's rule, and records nothing."""
    before = env.app.extensions["tracker"].app.current_position()
    outside = env.post(
        "/api/v1/innovations",
        env.keys.site_provider,
        json={"title": "T", "summary": "S", "themes": ["x"], "ecosystem_id": str(env.world.ecosystem)},
    )
    assert outside.status_code == 422, outside.json
    assert outside.json["rule"] == "ecosystem.not_member"
    assert list(outside.json["errors"]) == ["ecosystem_id"]
    assert env.app.extensions["tracker"].app.current_position() == before
    assert submit(env)["ecosystem_id"] == str(env.world.ecosystem)


def test_a_malformed_date_or_instant_is_refused_with_the_form_it_takes(env: Env) -> None:
    iid = submit(env)["id"]
    site = str(env.world.site)
    pilot = env.post(
        f"/api/v1/innovations/{iid}/pilots",
        env.keys.provider,
        json={"site_organisation_id": site, "started_on": "07/12/2026"},
    )
    assert pilot.status_code == 422
    assert pilot.json["errors"]["started_on"] == ["Not a valid date: give it as YYYY-MM-DD, such as 2025-06-01."]
    for as_of, said in (
        ("2024-01-01", "Give the time zone too"),
        ("yesterday", "give it in ISO 8601 with its time zone"),
    ):
        listed = env.get("/api/v1/innovations", env.keys.analyst, query_string={"as_of": as_of})
        assert listed.status_code == 422
        assert said in listed.json["errors"]["as_of"][0], listed.json


def test_patch_needs_if_match_and_refuses_stale_versions(env: Env) -> None:
    iid = submit(env)["id"]
    path = f"/api/v1/innovations/{iid}"
    assert env.patch(path, env.keys.provider, json={"title": "New"}).status_code == 428
    assert env.patch(path, env.keys.provider, json={"title": "New"}, headers={"If-Match": '"7"'}).status_code == 412
    assert env.patch(path, env.keys.provider, json={"title": "New"}, headers={"If-Match": "garbage"}).status_code == 412
    # In identification another organisation's innovation does not exist for a provider.
    assert (
        env.patch(path, env.keys.other_provider, json={"title": "New"}, headers={"If-Match": '"1"'}).status_code == 404
    )
    assert env.patch(path, env.keys.provider, json={}, headers={"If-Match": '"1"'}).status_code == 422
    ok = env.patch(path, env.keys.provider, json={"title": "New"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200
    assert ok.headers["ETag"] == '"2"'
    assert ok.json["title"] == "New"
    detail = env.get(path, env.keys.analyst)
    assert (detail.json["title"], detail.headers["ETag"]) == ("New", '"2"')


def test_full_lifecycle_reaches_mainstreamed_with_two_evaluators(env: Env) -> None:
    iid = submit(env)["id"]
    base = f"/api/v1/innovations/{iid}"
    first = env.assess(iid, env.keys.evaluator, **{"scores": SCORES, "rationale": "promising"})
    assert first.status_code == 201
    assert first.json["mpi"] == 80.0
    assert first.json["consolidated"] == {"value": 80.0, "evaluators": 1, "spread": 0.0}
    advanced = decide(env, iid, "advance", 3)  # submitted, assigned, assessed
    assert advanced.status_code == 200
    assert (advanced.json["stage"], advanced.json["version"]) == ("testing", 4)
    pilot = env.post(
        f"{base}/pilots",
        env.keys.provider,
        json={"site_organisation_id": str(env.world.site), "started_on": "2025-01-10"},
    )
    assert pilot.status_code == 201
    outcome = env.post(
        f"{base}/pilots/{pilot.json['pilot_id']}/outcome",
        env.keys.provider,
        json={"ended_on": "2025-05-01", "participants": 30, "completion_rate": 0.9, "satisfaction": 4.2},
    )
    assert outcome.status_code == 201
    assert decide(env, iid, "advance", 6).status_code == 200
    assert (
        env.post(f"{base}/evidence", env.keys.provider, json={"kind": "report", "title": "Evaluation"}).status_code
        == 201
    )
    assert decide(env, iid, "advance", 8).status_code == 200
    env.assess(iid, env.keys.evaluator, **{"scores": SCORES, "rationale": "ready"})
    refused = decide(env, iid, "advance", 11)
    assert refused.status_code == 409
    assert "2 distinct evaluators" in refused.json["detail"]
    assert refused.json["rule"] == "gate.mainstreamed.evaluators_required"
    env.assess(iid, env.keys.evaluator_b, **{"scores": SCORES, "rationale": "ready"})
    done = decide(env, iid, "advance", 13)
    assert (done.status_code, done.json["stage"], done.json["status"]) == (200, "mainstreamed", "mainstreamed")
    adopted = env.post(
        f"{base}/adoptions",
        env.keys.site_provider,
        json={"organisation_id": str(env.world.site), "adopted_on": "2025-09-01"},
    )
    assert adopted.status_code == 201
    detail = env.get(base, env.keys.analyst).json
    assert (detail["stage"], len(detail["pilots"]), len(detail["evidence"]), len(detail["adoptions"])) == (
        "mainstreamed",
        1,
        1,
        1,
    )
    assert detail["pilots"][0]["outcome"]["participants"] == 30


def test_decisions_need_if_match_and_name_unmet_gates(env: Env) -> None:
    iid = submit(env)["id"]
    path = f"/api/v1/innovations/{iid}/decisions"
    missing = env.post(path, env.keys.manager, json={"decision": "advance", "rationale": "x"})
    assert missing.status_code == 428
    stale = decide(env, iid, "hold", 5)
    assert stale.status_code == 412
    gate = decide(env, iid, "advance", 1)
    assert gate.status_code == 409
    assert "assessment recorded in identification" in gate.json["detail"]
    assert decide(env, iid, "approve", 1).status_code == 422
    assert decide(env, iid, "hold", 1, key=env.keys.provider).status_code == 403
    assert decide(env, iid, "hold", 1, key=env.keys.evaluator).status_code == 403  # evaluators no longer decide


def test_conflicted_evaluator_is_refused_and_other_roles_cannot_assess(env: Env) -> None:
    iid = submit(env)["id"]
    path = f"/api/v1/innovations/{iid}/assessments"
    conflicted = env.post(
        f"/api/v1/innovations/{iid}/assignments",
        env.keys.manager,
        json={"evaluator_id": env.person_id(env.keys.conflicted_evaluator)},
    )
    assert conflicted.status_code == 409
    assert conflicted.json["rule"] == "assignment.conflict_of_interest"
    unassigned = env.post(path, env.keys.evaluator, json={"scores": SCORES, "rationale": "not mine"})
    assert unassigned.status_code == 404  # in identification, unassigned: it does not exist for them
    env.assign(iid, env.keys.evaluator)
    assert env.post(path, env.keys.provider, json={"scores": SCORES, "rationale": "mine"}).status_code == 403
    assert env.post(path, env.keys.analyst, json={"scores": SCORES, "rationale": "x"}).status_code == 403
    incomplete = env.post(path, env.keys.evaluator, json={"scores": {"relevance": 4}, "rationale": "x"})
    assert incomplete.status_code == 422
    assert "scores.openness" in incomplete.json["errors"]
    out_of_range = env.post(path, env.keys.evaluator, json={"scores": SCORES | {"relevance": 7}, "rationale": "x"})
    assert out_of_range.status_code == 422
    nulls = env.post(path, env.keys.evaluator, json={"scores": SCORES | {"openness": None}, "rationale": "x"})
    assert nulls.status_code == 201


def test_only_the_owner_or_admin_adds_pilots_and_evidence(env: Env) -> None:
    iid = submit(env)["id"]
    pilot = {"site_organisation_id": str(env.world.site), "started_on": "2025-01-10"}
    # In identification another organisation's innovation does not exist for a provider; past it, it is not theirs.
    assert env.post(f"/api/v1/innovations/{iid}/pilots", env.keys.other_provider, json=pilot).status_code == 404
    assert env.post(f"/api/v1/innovations/{iid}/pilots", env.keys.admin, json=pilot).status_code == 201
    env.world.to_stage(UUID(iid), "testing")
    assert env.post(f"/api/v1/innovations/{iid}/pilots", env.keys.other_provider, json=pilot).status_code == 403
    assert (
        env.post(
            f"/api/v1/innovations/{iid}/evidence", env.keys.other_provider, json={"kind": "report", "title": "x"}
        ).status_code
        == 403
    )
    assert (
        env.post(
            f"/api/v1/innovations/{iid}/evidence", env.keys.evaluator, json={"kind": "report", "title": "x"}
        ).status_code
        == 403
    )
    unknown = env.post("/api/v1/innovations/00000000-0000-0000-0000-000000000000/pilots", env.keys.admin, json=pilot)
    assert unknown.status_code == 404
    wrong_pilot = env.post(
        f"/api/v1/innovations/{iid}/pilots/00000000-0000-0000-0000-000000000000/outcome",
        env.keys.provider,
        json={"ended_on": "2025-05-01", "participants": 3, "completion_rate": 1},
    )
    assert wrong_pilot.status_code == 404


def test_adoptions_are_recorded_by_the_adopting_provider_only(env: Env) -> None:
    iid = submit(env)["id"]
    env.world.to_stage(UUID(iid), "testing")  # past identification, where other organisations see it
    body = {"organisation_id": str(env.world.site), "adopted_on": "2025-01-01"}
    assert env.post(f"/api/v1/innovations/{iid}/adoptions", env.keys.provider, json=body).status_code == 403
    assert env.post(f"/api/v1/innovations/{iid}/adoptions", env.keys.site_provider, json=body).status_code == 201
    assert env.post(f"/api/v1/innovations/{iid}/adoptions", env.keys.admin, json=body).status_code == 409


def test_list_filters_sorts_pages_and_exports_csv(env: Env) -> None:
    first = submit(env, title="Alpha", themes=["badges"])["id"]
    submit(env, title="Beta", themes=["green"])
    submit(env, title="=cmd|' /C calc'!A0", themes=["green"])
    env.assess(first, env.keys.evaluator, **{"scores": SCORES, "rationale": "x"})
    listing = env.get("/api/v1/innovations?sort=title&page_size=2", env.keys.analyst).json
    assert (listing["total"], listing["page"], listing["page_size"], len(listing["items"])) == (3, 1, 2, 2)
    assert listing["items"][0]["title"] == "=cmd|' /C calc'!A0"
    assert env.get("/api/v1/innovations?theme=green", env.keys.analyst).json["total"] == 2
    assert env.get("/api/v1/innovations?min_mpi=70", env.keys.analyst).json["items"][0]["id"] == first
    assert env.get("/api/v1/innovations?q=alpha&country=LT&stage=identification", env.keys.analyst).json["total"] == 1
    assert env.get("/api/v1/innovations?sort=-mpi", env.keys.analyst).json["items"][0]["id"] == first
    assert env.get("/api/v1/innovations?page_size=500", env.keys.analyst).status_code == 422
    assert env.get("/api/v1/innovations?sort=random", env.keys.analyst).status_code == 422
    assert env.get("/api/v1/innovations?bogus=1", env.keys.analyst).status_code == 422
    csv = env.get("/api/v1/innovations", env.keys.analyst, headers={"Accept": "text/csv"})
    text = csv.get_data(as_text=True)
    assert csv.mimetype == "text/csv"
    assert text.splitlines()[0].startswith("id,title,stage,status,mpi")
    assert len(text.strip().splitlines()) == 4
    assert "'=cmd" in text


def test_detail_replays_history_as_of_a_version_or_instant(env: Env) -> None:
    created = submit(env)
    iid = created["id"]
    env.assess(iid, env.keys.evaluator, **{"scores": SCORES, "rationale": "x"})
    decide(env, iid, "advance", 2)
    then = env.get(f"/api/v1/innovations/{iid}?version=2", env.keys.analyst)
    assert (then.json["stage"], then.json["version"], then.headers["ETag"]) == ("identification", 2, '"2"')
    at_submission = env.get(
        f"/api/v1/innovations/{iid}", env.keys.analyst, query_string={"as_of": created["submitted_at"]}
    )
    assert (at_submission.json["version"], at_submission.json["mpi"]) == (1, None)
    assert env.get(f"/api/v1/innovations/{iid}?as_of=2000-01-01T00:00:00Z", env.keys.analyst).status_code == 404
    assert env.get(f"/api/v1/innovations/{iid}?version=99", env.keys.analyst).status_code == 404
    assert env.get(f"/api/v1/innovations/{iid}?as_of=2024-01-01T00:00:00", env.keys.analyst).status_code == 422
    assert (
        env.get(f"/api/v1/innovations/{iid}?as_of=2024-01-01T00:00:00Z&version=1", env.keys.analyst).status_code == 422
    )


def test_the_projected_detail_and_the_replayed_detail_are_the_same_shape_and_values(env: Env) -> None:
    iid = submit(env, target_groups=["adult learners"], readiness_level=4)["id"]
    key = env.keys.provider
    pilot = env.post(
        f"/api/v1/innovations/{iid}/pilots",
        key,
        json={"site_organisation_id": str(env.world.site), "started_on": "2024-02-01", "planned_participants": 20},
    ).json["pilot_id"]
    env.post(
        f"/api/v1/innovations/{iid}/pilots/{pilot}/outcome",
        key,
        json={"ended_on": "2024-06-30", "participants": 18, "completion_rate": 0.9, "satisfaction": 4.2},
    )
    env.post(f"/api/v1/innovations/{iid}/evidence", key, json={"kind": "report", "title": "R", "url": "https://e.eu/r"})
    env.post(
        f"/api/v1/innovations/{iid}/adoptions",
        env.keys.admin,
        json={"organisation_id": str(env.world.site), "adopted_on": "2024-09-01"},
    )
    assessed = env.assess(iid, env.keys.evaluator, **{"scores": SCORES, "rationale": "Sound"})
    position = assessed.headers["X-Event-Position"]
    projected = env.get(f"/api/v1/innovations/{iid}", env.keys.analyst, headers={"X-Min-Position": position}).json
    replayed = env.get(f"/api/v1/innovations/{iid}", env.keys.analyst, query_string={"version": projected["version"]})
    directory = {"organisation_name", "country", "ecosystem_acronym"}  # copied in by the read model only
    assert {k: v for k, v in projected.items() if k not in directory} == replayed.json
    assert projected["pilots"][0]["outcome"]["participants"] == 18
    assert projected["mpi"] is not None
