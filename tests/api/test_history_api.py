"""History, scores, stages, analytics and audit over HTTP."""

from __future__ import annotations

from tests.api.conftest import SCORES, Env, submit


def test_history_scores_and_stages_follow_the_innovation(env: Env) -> None:
    iid = submit(env)["id"]
    env.assign(iid, env.keys.evaluator)
    env.post(
        f"/api/v1/innovations/{iid}/assessments",
        env.keys.evaluator,
        json={"scores": SCORES, "rationale": "x"},
        headers={"X-Request-ID": "req-42"},
    )
    env.post(
        f"/api/v1/innovations/{iid}/decisions",
        env.keys.manager,
        json={"decision": "advance", "rationale": "gate met"},
        headers={"If-Match": '"3"'},
    )
    for key in (env.keys.provider, env.keys.evaluator, env.keys.analyst, env.keys.admin):
        history = env.get(f"/api/v1/innovations/{iid}/history", key)
        assert history.status_code == 200
    events = history.json
    assert [e["type"] for e in events] == ["Submitted", "EvaluatorAssigned", "AssessmentRecorded", "Advanced"]
    evaluator = env.app.extensions["tracker"].keys.verify(env.keys.evaluator)
    assert evaluator is not None
    assert events[2]["actor"] == {"id": str(evaluator.person_id), "role": "evaluator", "key": evaluator.key_id}
    assert events[2]["correlation_id"] == "req-42"
    assert events[2]["data"]["scores"]["relevance"] == 4
    assert [e["position"] for e in events] == sorted(e["position"] for e in events)
    scores = env.get(f"/api/v1/innovations/{iid}/scores", env.keys.analyst).json
    assert [(s["value"], s["evaluators"], s["spread"]) for s in scores] == [(80.0, 1, 0.0)]
    stages = env.get(f"/api/v1/innovations/{iid}/stages", env.keys.analyst).json
    assert [(s["stage"], s["exited_at"] is None) for s in stages] == [("identification", False), ("testing", True)]
    missing = "/api/v1/innovations/00000000-0000-0000-0000-000000000000"
    assert env.get(f"{missing}/history", env.keys.analyst).status_code == 404
    assert env.get(f"{missing}/scores", env.keys.analyst).status_code == 404
    assert env.get(f"{missing}/stages", env.keys.analyst).status_code == 404
    assert env.get(f"/api/v1/innovations/{env.world.owner}/history", env.keys.analyst).status_code == 404


def test_analytics_answer_funnel_durations_and_score_groups(env: Env) -> None:
    first = submit(env, themes=["badges"])["id"]
    submit(env, themes=["green"])
    env.assess(first, env.keys.evaluator, **{"scores": SCORES, "rationale": "x"})
    env.post(
        f"/api/v1/innovations/{first}/decisions",
        env.keys.manager,
        json={"decision": "advance", "rationale": "x"},
        headers={"If-Match": '"3"'},
    )
    funnel = env.get("/api/v1/analytics/funnel", env.keys.provider).json
    assert funnel["stages"] == {"identification": 1, "testing": 1, "development": 0, "assessment": 0, "mainstreamed": 0}
    assert funnel["statuses"]["active"] == 2
    early = env.get("/api/v1/analytics/funnel?as_of=2000-01-01T00:00:00Z", env.keys.analyst).json
    assert sum(early["stages"].values()) == 0
    assert early["as_of"].startswith("2000-01-01T00:00:00")
    themed = env.get("/api/v1/analytics/funnel?theme=green&country=LT", env.keys.analyst).json
    assert themed["stages"]["identification"] == 1
    durations = env.get("/api/v1/analytics/stage-durations", env.keys.evaluator).json
    assert durations["stages"]["identification"]["count"] == 1
    groups = env.get("/api/v1/analytics/scores?group_by=theme", env.keys.analyst).json
    assert [(g["key"], g["innovations"], g["mean_mpi"]) for g in groups["items"]] == [("badges", 1, 80.0)]
    assert env.get("/api/v1/analytics/scores", env.keys.analyst).status_code == 422
    assert env.get("/api/v1/analytics/scores?group_by=planet", env.keys.analyst).status_code == 422


def test_audit_is_for_analysts_managers_and_admins_and_filters_by_actor(env: Env) -> None:
    submit(env)
    assert env.get("/api/v1/audit", env.keys.provider).status_code == 403
    assert env.get("/api/v1/audit", env.keys.evaluator).status_code == 403
    assert env.get("/api/v1/audit", env.keys.admin).status_code == 200
    assert env.get("/api/v1/audit", env.keys.manager).status_code == 200
    mine = env.get(f"/api/v1/audit?actor={env.person_id(env.keys.provider)}", env.keys.analyst).json
    assert [(i["type"], i["actor"]["role"]) for i in mine["items"]] == [("Submitted", "provider")]
    page = env.get("/api/v1/audit?limit=2", env.keys.analyst).json
    assert (len(page["items"]), page["next_after"]) == (2, page["items"][-1]["position"])
    rest = env.get(f"/api/v1/audit?after={page['next_after']}&limit=1000", env.keys.analyst).json
    assert rest["next_after"] is None
    assert rest["items"][0]["position"] == page["next_after"] + 1


def test_audit_filters_by_the_feeds_published_names_or_by_its_own_and_refuses_others(env: Env) -> None:
    submit(env)

    def listed(event_type: str) -> list[tuple[str, str]]:
        found = env.get(f"/api/v1/audit?event_type={event_type}&limit=1000", env.keys.analyst)
        assert found.status_code == 200, found.json
        return [(item["aggregate_type"], item["type"]) for item in found.json["items"]]

    assert set(listed("Registered")) == {("Organisation", "Registered"), ("Ecosystem", "Registered")}
    assert set(listed("organisation.registered")) == {("Organisation", "Registered")}
    assert set(listed("ecosystem.registered")) == {("Ecosystem", "Registered")}
    assert listed("innovation.submitted") == listed("Submitted") == [("Innovation", "Submitted")]
    refused = env.get("/api/v1/audit?event_type=innovation.approved", env.keys.analyst)
    assert refused.status_code == 422
    assert "innovation.submitted" in str(refused.json["errors"]["event_type"])
