"""Rubric v1.1 over HTTP: the 60% rule answers 422 on `scores`, and comments per criterion are kept."""

from __future__ import annotations

from tests.api.conftest import SCORES, Env, submit

NONE = dict.fromkeys(SCORES)


def test_an_assessment_of_one_criterion_is_refused_422_with_errors_on_scores(env: Env) -> None:
    iid = submit(env)["id"]
    env.assign(iid, env.keys.evaluator)
    response = env.post(
        f"/api/v1/innovations/{iid}/assessments",
        env.keys.evaluator,
        json={"scores": NONE | {"openness": 4}, "rationale": "Only the licence is known"},
    )
    assert response.status_code == 422
    assert "60%" in response.json["errors"]["scores"][0]


def test_comments_travel_with_the_assessment_over_http(env: Env) -> None:
    iid = submit(env)["id"]
    comments = {"relevance": "Fits the national VET strategy", "openness": "Published under CC BY 4.0"}
    env.assign(iid, env.keys.evaluator)
    made = env.post(
        f"/api/v1/innovations/{iid}/assessments",
        env.keys.evaluator,
        json={"scores": SCORES, "comments": comments, "rationale": "Sound"},
    )
    assert made.status_code == 201, made.json
    history = env.get(f"/api/v1/innovations/{iid}/history", env.keys.analyst).json
    assert history[-1]["data"]["comments"] == comments
    unknown = env.post(
        f"/api/v1/innovations/{iid}/assessments",
        env.keys.evaluator,
        json={"scores": SCORES, "comments": {"colour": "blue"}, "rationale": "Sound"},
    )
    assert unknown.status_code == 422
    assert "comments.colour" in unknown.json["errors"]
