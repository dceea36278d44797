"""An evaluation round over HTTP: assigning (and its refusals), the evaluator's queue, unassigning, deliberation
notes with one level of replies, and the round's analytics."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from tests.api.conftest import SCORES, Env, submit
from tests.world import days_ago


def assignments(env: Env, iid: str) -> str:
    return f"/api/v1/innovations/{iid}/assignments"


def test_assigning_refuses_conflicts_duplicates_and_people_who_are_not_active_evaluators(env: Env) -> None:
    iid = submit(env)["id"]
    for key, rule in (
        (env.keys.conflicted_evaluator, "assignment.conflict_of_interest"),
        (env.keys.owner_evaluator, "assignment.conflict_of_interest"),
    ):
        refused = env.post(assignments(env, iid), env.keys.manager, json={"evaluator_id": env.person_id(key)})
        assert (refused.status_code, refused.json["rule"]) == (409, rule)
    made = env.post(
        assignments(env, iid),
        env.keys.manager,
        json={"evaluator_id": env.person_id(env.keys.evaluator), "due_on": "2031-03-01"},
    )
    assert made.status_code == 201
    assert (made.json["stage"], made.json["due_on"], made.json["evaluator_id"]) == (
        "identification",
        "2031-03-01",
        env.person_id(env.keys.evaluator),
    )
    again = env.post(assignments(env, iid), env.keys.manager, json={"evaluator_id": env.person_id(env.keys.evaluator)})
    assert (again.status_code, again.json["rule"]) == (409, "assignment.duplicate")
    for not_an_evaluator in (env.person_id(env.keys.analyst), str(UUID(int=1))):
        answer = env.post(assignments(env, iid), env.keys.manager, json={"evaluator_id": not_an_evaluator})
        assert answer.status_code == 422
        assert "evaluator_id" in answer.json["errors"]
    evaluator_b = env.person_id(env.keys.evaluator_b)
    env.patch(f"/api/v1/people/{evaluator_b}", env.keys.admin, json={"active": False})
    inactive = env.post(assignments(env, iid), env.keys.manager, json={"evaluator_id": evaluator_b})
    assert inactive.status_code == 422
    assert (
        env.post(
            assignments(env, iid), env.keys.evaluator, json={"evaluator_id": env.person_id(env.keys.evaluator)}
        ).status_code
        == 403
    )


def test_an_unassigned_evaluator_is_refused_and_an_assessed_one_cannot_be_unassigned(env: Env) -> None:
    iid = submit(env)["id"]
    env.world.to_stage(UUID(iid), "testing")
    path = f"/api/v1/innovations/{iid}/assessments"
    refused = env.post(path, env.keys.evaluator, json={"scores": SCORES, "rationale": "uninvited"})
    assert (refused.status_code, refused.json["rule"]) == (409, "assessment.not_assigned")
    env.assign(iid, env.keys.evaluator)
    env.assign(iid, env.keys.evaluator_b)
    evaluator_b = env.person_id(env.keys.evaluator_b)
    assert env.delete(f"{assignments(env, iid)}/{evaluator_b}", env.keys.manager).status_code == 204
    gone = env.post(path, env.keys.evaluator_b, json={"scores": SCORES, "rationale": "too late"})
    assert (gone.status_code, gone.json["rule"]) == (409, "assessment.not_assigned")
    assert env.post(path, env.keys.evaluator, json={"scores": SCORES, "rationale": "invited"}).status_code == 201
    evaluator = env.person_id(env.keys.evaluator)
    kept = env.delete(f"{assignments(env, iid)}/{evaluator}", env.keys.manager)
    assert (kept.status_code, kept.json["rule"]) == (409, "assignment.already_assessed")
    missing = env.delete(f"{assignments(env, iid)}/{evaluator_b}", env.keys.manager)
    assert missing.status_code == 404
    listed = env.get(assignments(env, iid), env.keys.analyst).json
    assert [(a["evaluator_id"], a["stage"], a["assessed_at"] is not None) for a in listed] == [
        ("evaluator-1", "identification", True),  # the round that took it to testing
        (evaluator, "testing", True),
    ]


def test_an_assignment_is_not_due_before_the_day_it_is_made(env: Env) -> None:
    created = submit(env)["id"]
    evaluator = env.person_id(env.keys.evaluator)
    path = f"/api/v1/innovations/{created}/assignments"
    # Two days back: before today in every time zone (yesterday is still today in some, in UTC's morning).
    past = (date.today() - timedelta(days=2)).isoformat()
    late = env.post(path, env.keys.manager, json={"evaluator_id": evaluator, "due_on": past})
    assert late.status_code == 422, late.json
    assert late.json["rule"] == "validation.date.past"
    assert list(late.json["errors"]) == ["due_on"]
    today = env.post(path, env.keys.manager, json={"evaluator_id": evaluator, "due_on": date.today().isoformat()})
    assert today.status_code == 201, today.json


def test_the_queue_lists_pending_and_done_oldest_due_first_and_marks_the_overdue(env: Env) -> None:
    today = date.today()
    with days_ago(env.world.app, 5):  # assigned five days ago, due two days ago
        late = submit(env, title="Overdue")["id"]
        env.assign(late, env.keys.evaluator, due_on=(today - timedelta(days=2)).isoformat())
    soon = submit(env, title="Due soon")["id"]
    undated = submit(env, title="No date")["id"]
    finished = submit(env, title="Finished")["id"]
    env.assign(undated, env.keys.evaluator)
    env.assign(soon, env.keys.evaluator, due_on=(today + timedelta(days=3)).isoformat())
    env.assess(finished, env.keys.evaluator, scores=SCORES, rationale="done")
    pending = env.get("/api/v1/me/assignments", env.keys.evaluator).json["items"]
    assert [(i["title"], i["overdue"]) for i in pending] == [("Overdue", True), ("Due soon", False), ("No date", False)]
    done = env.get("/api/v1/me/assignments?state=done", env.keys.evaluator).json["items"]
    assert [i["title"] for i in done] == ["Finished"]
    assert len(env.get("/api/v1/me/assignments?state=all", env.keys.evaluator).json["items"]) == 4
    assert env.get("/api/v1/me/assignments", env.keys.evaluator_b).json["items"] == []
    assert env.get("/api/v1/me/assignments?state=later", env.keys.evaluator).status_code == 422
    # A gate decision ends the round: the pending assignment leaves the queue.
    env.assess(soon, env.keys.evaluator_b, scores=SCORES, rationale="other view")
    env.world.app.decide_gate(UUID(soon), actor=env.world.manager, decision="advance", rationale="enough")
    env.app.extensions["tracker"].read_model.catch_up()
    titles = [i["title"] for i in env.get("/api/v1/me/assignments", env.keys.evaluator).json["items"]]
    assert titles == ["Overdue", "No date"]


def test_an_ended_assignment_of_an_innovation_the_evaluator_may_no_longer_see_leaves_the_queue(env: Env) -> None:
    """B was assigned in testing and did not assess; the innovation went back to identification and was renamed.
    B may no longer see it (404), so neither its new title nor the assignment is in B's queue (the queue page reads
    the same query under the same condition)."""
    iid = submit(env, title="Seen in testing")["id"]
    assert env.assess(iid, env.keys.evaluator, scores=SCORES, rationale="A in identification").status_code == 201
    env.world.to_stage(UUID(iid), "testing")
    env.app.extensions["tracker"].read_model.catch_up()
    env.assign(iid, env.keys.evaluator_b)
    everything = env.get("/api/v1/me/assignments?state=all", env.keys.evaluator_b).json["items"]
    assert [i["title"] for i in everything] == ["Seen in testing"]
    app = env.world.app
    app.decide_gate(UUID(iid), actor=env.world.manager, decision="recycle", to_stage="identification", rationale="r")
    version = app.get_innovation(UUID(iid)).version
    app.revise_innovation(UUID(iid), {"title": "Renamed in secret"}, actor=env.world.provider, expected_version=version)
    env.app.extensions["tracker"].read_model.catch_up()
    assert env.get(f"/api/v1/innovations/{iid}", env.keys.evaluator_b).status_code == 404
    assert env.get("/api/v1/me/assignments?state=all", env.keys.evaluator_b).json["items"] == []
    # Evaluator A assessed it in identification: still theirs to see, under its new title.
    a_items = env.get("/api/v1/me/assignments?state=all", env.keys.evaluator).json["items"]
    assert [i["title"] for i in a_items if i["innovation_id"] == iid] == ["Renamed in secret"]


def test_notes_are_written_after_assessing_and_replies_go_one_level_deep(env: Env) -> None:
    iid = submit(env)["id"]
    notes = f"/api/v1/innovations/{iid}/notes"
    env.assign(iid, env.keys.evaluator)
    early = env.post(notes, env.keys.evaluator, json={"body": "Before assessing"})
    assert (early.status_code, early.json["rule"]) == (409, "note.assess_first")
    env.assess(iid, env.keys.evaluator, scores=SCORES, rationale="in")
    first = env.post(notes, env.keys.evaluator, json={"body": "The licence is unclear"})
    assert first.status_code == 201
    reply = env.post(notes, env.keys.manager, json={"body": "I will ask", "reply_to": first.json["note_id"]})
    assert reply.status_code == 201
    deeper = env.post(notes, env.keys.evaluator, json={"body": "Thanks", "reply_to": reply.json["note_id"]})
    assert (deeper.status_code, deeper.json["rule"]) == (422, "note.depth")
    unknown = env.post(notes, env.keys.manager, json={"body": "?", "reply_to": str(UUID(int=3))})
    assert unknown.status_code == 422
    assert env.post(notes, env.keys.manager, json={"body": ""}).status_code == 422
    listed = env.get(notes, env.keys.evaluator).json
    assert [(n["body"], n["reply_to"]) for n in listed] == [
        ("The licence is unclear", None),
        ("I will ask", first.json["note_id"]),
    ]
    assert listed[0]["author_id"] == env.person_id(env.keys.evaluator)
    assert env.get(notes, env.keys.analyst).status_code == 200
    assert env.post(notes, env.keys.provider, json={"body": "Let me see"}).status_code == 403


def test_evaluation_analytics_count_the_round_per_stage(env: Env) -> None:
    today = date.today()
    waiting = submit(env)["id"]  # active, nobody assigned
    with days_ago(env.world.app, 3):  # assigned three days ago, due yesterday
        pending = submit(env)["id"]
        env.assign(pending, env.keys.evaluator, due_on=(today - timedelta(days=1)).isoformat())
    env.assign(pending, env.keys.evaluator_b)
    done = submit(env)["id"]
    env.assess(done, env.keys.evaluator, scores=SCORES, rationale="r")
    body = env.get("/api/v1/analytics/evaluation", env.keys.manager).json
    identification = body["stages"]["identification"]
    assert (identification["awaiting_assignment"], identification["pending"], identification["overdue"]) == (1, 2, 1)
    assert identification["done"] == 1
    assert identification["median_days"] is not None
    assert identification["median_days"] >= 0
    assert set(body["stages"]) == {"identification", "testing", "development", "assessment"}
    only = env.get("/api/v1/analytics/evaluation?stage=testing", env.keys.analyst).json
    assert set(only["stages"]) == {"testing"}
    other_eco = env.get(f"/api/v1/analytics/evaluation?ecosystem_id={UUID(int=9)}", env.keys.admin).json
    assert other_eco["stages"]["identification"] == {
        "awaiting_assignment": 0,
        "pending": 0,
        "overdue": 0,
        "done": 0,
        "median_days": None,
    }
    assert waiting
    assert env.get("/api/v1/analytics/evaluation", env.keys.provider).status_code == 403
    assert env.get("/api/v1/analytics/evaluation?stage=mainstreamed", env.keys.manager).status_code == 422
