"""HTTP protocol behaviour: problem+json for every error, limits, headers, read-your-writes, keys and operations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from eventsourcing.persistence import OperationalError

from bootstrap import create_app
from runtime.settings import Settings
from tests.api.conftest import Env, make_env, submit


def test_malformed_json_is_400_and_oversized_body_is_413(env: Env) -> None:
    malformed = env.post("/api/v1/innovations", env.keys.provider, data="{not json", content_type="application/json")
    assert malformed.status_code == 400
    assert malformed.content_type == "application/problem+json"
    big = env.post(
        "/api/v1/innovations",
        env.keys.provider,
        data=json.dumps({"title": "x", "summary": "y" * (1024 * 1024 + 10), "themes": ["a"]}),
        content_type="application/json",
    )
    assert big.status_code == 413
    assert big.json["status"] == 413
    assert env.post("/api/v1/innovations", env.keys.provider, json=[1, 2]).status_code == 422
    too_long = env.post(
        "/api/v1/innovations", env.keys.provider, json={"title": "x" * 301, "summary": "y", "themes": ["a"]}
    )
    assert too_long.status_code == 422
    assert "title" in too_long.json["errors"]


def test_missing_or_bad_or_revoked_keys_are_401(env: Env) -> None:
    assert env.get("/api/v1/innovations").status_code == 401
    assert env.get("/api/v1/innovations", "iet_0000000000000000_nope").status_code == 401
    assert env.get("/api/v1/innovations", "garbage").status_code == 401
    assert env.get("/api/v1/innovations", env.keys.analyst).status_code == 200
    keys = env.app.extensions["tracker"].keys
    assert keys.revoke("analyst") == 1
    revoked = env.get("/api/v1/innovations", env.keys.analyst)
    assert revoked.status_code == 401
    assert revoked.headers["WWW-Authenticate"].startswith("Bearer")
    with keys.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT secret_hash FROM api_keys").scalars().all()
    secrets = [k.split("_", 2)[2] for k in (env.keys.admin, env.keys.provider)]
    assert not any(secret in value for value in stored for secret in secrets)


def test_wrong_method_is_405_with_allow_header(env: Env) -> None:
    response = env.call("DELETE", "/api/v1/innovations", env.keys.admin)
    assert response.status_code == 405
    assert response.content_type == "application/problem+json"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_writes_carry_event_position_and_reads_wait_for_it(env: Env) -> None:
    created = env.post("/api/v1/innovations", env.keys.provider, json={"title": "T", "summary": "S", "themes": ["x"]})
    position = int(created.headers["X-Event-Position"])
    read = env.get("/api/v1/innovations", env.keys.analyst, headers={"X-Min-Position": str(position)})
    assert read.status_code == 200
    assert int(read.headers["X-Projection-Position"]) >= position
    future = env.get("/api/v1/innovations", env.keys.analyst, headers={"X-Min-Position": str(position + 1000)})
    assert future.status_code == 422  # beyond the log's head: refused at once (see tests/api/test_read_waits.py)
    assert f"at position {position}" in future.json["detail"]
    assert env.get("/api/v1/innovations", env.keys.analyst, headers={"X-Min-Position": "soon"}).status_code == 400


def test_request_id_is_echoed_and_becomes_the_correlation_id(env: Env) -> None:
    response = env.post(
        "/api/v1/innovations",
        env.keys.provider,
        json={"title": "T", "summary": "S", "themes": ["x"]},
        headers={"X-Request-ID": "abc-123"},
    )
    assert response.headers["X-Request-ID"] == "abc-123"
    history = env.get(f"/api/v1/innovations/{response.json['id']}/history", env.keys.analyst).json
    assert history[0]["correlation_id"] == "abc-123"
    provider = env.app.extensions["tracker"].keys.verify(env.keys.provider)
    assert provider is not None
    assert history[0]["actor"] == {"id": str(provider.person_id), "role": "provider", "key": provider.key_id}
    odd = env.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert odd.headers["X-Request-ID"] != "bad id with spaces"


def test_a_request_without_an_id_gets_one_that_is_also_its_events_correlation_id(env: Env) -> None:
    response = env.post("/api/v1/innovations", env.keys.provider, json={"title": "T", "summary": "S", "themes": ["x"]})
    made = response.headers["X-Request-ID"]
    history = env.get(f"/api/v1/innovations/{response.json['id']}/history", env.keys.analyst).json
    assert history[0]["correlation_id"] == made


def test_store_failures_are_503_not_500(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    services = env.app.extensions["tracker"]

    def broken(*_: object, **__: object) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(services.app, "submit_innovation", broken)
    response = env.post("/api/v1/innovations", env.keys.provider, json={"title": "T", "summary": "S", "themes": ["x"]})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    monkeypatch.setattr(services.read_model, "status", broken)
    assert env.get("/readyz").status_code == 503


def test_health_readiness_and_metrics_answer(env: Env) -> None:
    assert env.get("/healthz").json == {"status": "ok"}
    submit(env)
    env.app.extensions["tracker"].read_your_writes()
    ready = env.get("/readyz").json
    assert ready["status"] == "ready"
    assert ready["lag"] == 0
    answer = env.get("/metrics")
    assert answer.headers["Content-Type"].count("charset") == 1
    metrics = answer.get_data(as_text=True)
    assert "tracker_http_requests_total" in metrics
    assert 'tracker_projection_lag_events{projection="portfolio"} 0' in metrics


def test_docs_and_openapi_are_served_without_a_key_and_without_cdn(env: Env) -> None:
    spec = env.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/innovations/{innovation_id}/decisions" in spec.json["paths"]
    docs = env.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower()
    asset = env.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    asset.close()


def test_the_document_names_csv_exactly_where_an_answer_is_csv(env: Env) -> None:
    """Every read without a path parameter, asked for CSV: the document lists text/csv for its 200 answer where, and
    only where, the answer is CSV; the JSON page stays documented beside it."""
    spec = env.get("/api/v1/openapi.json").json
    answered_csv, documented_csv = set(), set()
    for path, operations in spec["paths"].items():
        if "get" not in operations or "{" in path:
            continue
        key = env.keys.evaluator if path.endswith("/me/assignments") else env.keys.admin
        response = env.get(path, key, headers={"Accept": "text/csv"})
        if response.status_code == 200 and response.mimetype == "text/csv":
            answered_csv.add(path)
        response.close()
        content = operations["get"]["responses"].get("200", {}).get("content", {})
        if "text/csv" in content:
            documented_csv.add(path)
            assert "application/json" in content, path
            assert operations["get"]["responses"]["200"]["description"] != "", path
    assert answered_csv == documented_csv
    assert {"/api/v1/innovations", "/api/v1/organisations", "/api/v1/ecosystems", "/api/v1/people"} <= answered_csv
    for path in (
        "/api/v1/innovations/{innovation_id}",
        "/api/v1/organisations/{organisation_id}",
        "/api/v1/ecosystems/{ecosystem_id}",
    ):
        assert "ETag" in spec["paths"][path]["get"]["responses"]["200"]["headers"], path


def test_rate_limit_answers_429_when_configured(sqlite_url: str) -> None:
    from bootstrap import upgrade_database

    settings = Settings(database_url=sqlite_url, rate_limit="3/minute")
    upgrade_database(settings)
    app = create_app(settings)
    client = app.test_client()
    statuses = [client.get("/api/v1/innovations").status_code for _ in range(5)]
    app.extensions["tracker"].close()
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]
    limited = client.get("/api/v1/organisations")
    assert limited.content_type == "application/problem+json"
    assert client.get("/healthz").status_code == 200


@pytest.fixture
def limited_env(sqlite_url: str) -> Iterator[Env]:
    environment = make_env(sqlite_url, rate_limit="1000/hour")
    yield environment
    environment.app.extensions["tracker"].close()


def test_with_the_rate_limit_on_a_503_keeps_its_own_retry_after_and_a_200_carries_none(
    limited_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Flask-Limiter sets Retry-After on every response to the time left in the limit's window (here up to an hour):
    # a read that waited for its position in vain must still say to try again in a second, not in an hour.
    created = submit(limited_env)
    read = limited_env.get(f"/api/v1/innovations/{created['id']}", limited_env.keys.analyst)
    assert read.status_code == 200
    assert read.headers["X-RateLimit-Limit"] == "1000"
    assert "Retry-After" not in read.headers
    services = limited_env.app.extensions["tracker"]
    head = services.app.current_position()
    monkeypatch.setattr(services.read_model, "wait_for", lambda *_, **__: False)  # a read side that lags behind
    future = limited_env.get("/api/v1/innovations", limited_env.keys.analyst, headers={"X-Min-Position": str(head)})
    assert future.status_code == 503
    assert future.headers["Retry-After"] == "1"


def test_with_the_rate_limit_on_a_store_failure_keeps_its_retry_after(
    limited_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = limited_env.app.extensions["tracker"]

    def broken(*_: object, **__: object) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(services.app, "submit_innovation", broken)
    response = limited_env.post(
        "/api/v1/innovations", limited_env.keys.provider, json={"title": "T", "summary": "S", "themes": ["x"]}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"


def test_rate_limit_retry_after_is_rounded_up_to_the_window_reset(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.rate_limit
    from bootstrap import upgrade_database

    settings = Settings(database_url=sqlite_url, rate_limit="1/minute")
    upgrade_database(settings)
    app = create_app(settings)
    (limiter,) = app.extensions["limiter"]
    # The app's clock reads 10.3 s before the window resets: a client told to wait 10 s would come back too early.
    monkeypatch.setattr(api.rate_limit, "time", SimpleNamespace(time=lambda: limiter.current_limit.reset_at - 10.3))
    client = app.test_client()
    responses = [client.get("/api/v1/innovations") for _ in range(2)]
    app.extensions["tracker"].close()
    assert [r.status_code for r in responses] == [401, 429]
    assert responses[1].headers["Retry-After"] == "11"
