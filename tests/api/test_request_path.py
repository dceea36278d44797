"""What a request does not repeat: input schemas built once per process, and no per-request wrappers for what is
only documentation; neither changes what a caller sees."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from api.resources import ApiBlueprint
from api.resources.innovations import InnovationInput
from tests.api.conftest import SCORES, Env, submit


def test_an_input_schema_is_built_once_and_serves_every_request(env: Env) -> None:
    parser = ApiBlueprint.ARGUMENTS_PARSER
    with env.app.test_request_context():
        first = parser._get_schema(InnovationInput, None)  # type: ignore[arg-type]
        again = parser._get_schema(InnovationInput, None)  # type: ignore[arg-type]
    assert isinstance(first, InnovationInput)
    assert again is first


def test_concurrent_requests_sharing_a_schema_each_get_their_own_answer(env: Env) -> None:
    """Valid and invalid submissions at once, through the one schema instance: each is judged on its own body."""
    bodies: list[dict[str, Any]] = []
    for n in range(24):
        if n % 3 == 0:
            bodies.append({"title": f"Pilot {n}", "summary": "s", "themes": ["x"]})
        elif n % 3 == 1:
            bodies.append({"title": f"Pilot {n}", "summary": "s", "themes": ["x"], f"extra_{n}": 1})
        else:
            bodies.append({"summary": "s", "themes": ["x"]})
    answers: dict[int, Any] = {}
    start = threading.Barrier(8)

    def send(indexes: range) -> None:
        start.wait()
        for i in indexes:
            answers[i] = env.post("/api/v1/innovations", env.keys.provider, json=bodies[i])

    threads = [threading.Thread(target=send, args=(range(k, 24, 8),)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for i, body in enumerate(bodies):
        answer = answers[i]
        if i % 3 == 0:
            assert answer.status_code == 201, answer.json
            assert answer.json["title"] == body["title"]
        elif i % 3 == 1:
            assert answer.status_code == 422
            assert list(answer.json["errors"]) == [f"extra_{i}"]
        else:
            assert answer.status_code == 422
            assert list(answer.json["errors"]) == ["title"]


def test_documented_errors_and_parameters_stay_in_the_document_without_wrapping_the_view(env: Env) -> None:
    document = env.get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/innovations/{innovation_id}/assessments"]["post"]
    assert {"400", "401", "403", "404", "409", "412", "413", "415", "422", "429", "503"} <= set(operation["responses"])
    assert "If-Match" in {p["name"] for p in operation.get("parameters", [])}
    # The view Flask calls is the method flask-smorest's own decorators wrap, with no layer per documented error.
    view = env.app.view_functions["innovations.Assessments"].view_class.post  # type: ignore[attr-defined]
    depth = 0
    while hasattr(view, "__wrapped__"):
        view, depth = view.__wrapped__, depth + 1
    # Authentication, the arguments (webargs and flask-smorest) and the response.
    assert depth <= 4, f"{depth} layers around the view"


def test_an_assessment_request_loads_its_innovation_once(env: Env) -> None:
    """The confidentiality check loads the innovation; the command starts from that copy instead of a second load."""
    iid = submit(env)["id"]
    env.assign(iid, env.keys.evaluator)
    tracker = env.app.extensions["tracker"].app
    loads: list[UUID] = []
    real_get = tracker.repository.get

    def counted_get(aggregate_id: UUID, *args: Any, **kwargs: Any) -> Any:
        loads.append(aggregate_id)
        return real_get(aggregate_id, *args, **kwargs)

    tracker.repository.get = counted_get
    try:
        answer = env.post(
            f"/api/v1/innovations/{iid}/assessments", env.keys.evaluator, json={"scores": SCORES, "rationale": "r"}
        )
    finally:
        del tracker.repository.get
    assert answer.status_code == 201, answer.json
    assert loads.count(UUID(iid)) == 1, loads
    assert answer.headers["ETag"] == f'"{answer.json["version"]}"'
