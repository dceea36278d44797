"""What an outside security review found, each shown closed: waits that cannot stall the server, bodies held to
their limit, security headers on every kind of answer, trusted hosts only, a failed-authentication limit shared by
every worker, unknown query parameters refused, readiness that notices a stalled read side, evidence URLs kept to
http(s), non-JSON bodies answered 415, and spreadsheet formulas in look-alike characters neutralised."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from api.csv_export import cell
from bootstrap import create_app
from runtime.settings import Settings
from tests.api.conftest import Env, make_env, position, submit
from tracker.actors import Actor

ADMIN = Actor("admin-1", "admin")


@pytest.fixture
def closing() -> Iterator[list[Env]]:
    """Environments a test makes itself, closed after it."""
    made: list[Env] = []
    yield made
    for environment in made:
        environment.app.extensions["tracker"].close()


def env_with(url: str, closing: list[Env], **settings: Any) -> Env:
    environment = make_env(url, **settings)
    closing.append(environment)
    return environment


# ---- X-Min-Position ---------------------------------------------------------------------------------------------


def test_a_position_beyond_the_log_is_refused_at_once_naming_the_head(sqlite_url: str, closing: list[Env]) -> None:
    env = env_with(sqlite_url, closing, read_wait_timeout=20.0)
    head = position(env)
    started = time.monotonic()
    response = env.get("/api/v1/innovations", env.keys.analyst, headers={"X-Min-Position": str(head + 1)})
    assert response.status_code == 422
    assert f"at position {head}" in response.json["detail"]
    assert response.json["errors"]["X-Min-Position"]
    # The configured wait (20 s here) is not spent: nothing could ever arrive in it. (A liveness check: a quarter of
    # the wait, which no busy machine takes for one request.)
    assert time.monotonic() - started < 5.0


def test_reads_that_wait_for_the_read_model_are_bounded_and_the_rest_answered_503_at_once(
    sqlite_url: str, closing: list[Env]
) -> None:
    environment = env_with(sqlite_url, closing, read_waiters=1, read_wait_timeout=5.0)
    services = environment.app.extensions["tracker"]
    head = position(environment)
    released = threading.Event()
    waiting = threading.Event()
    real_wait_for = services.read_model.wait_for

    def lagging(wanted: int, timeout: float = 5.0, *, catch_up: bool = True) -> bool:
        if timeout == 0:
            return False  # the read model is behind: the read has to wait
        waiting.set()
        released.wait(10)
        return real_wait_for(wanted, timeout=timeout, catch_up=catch_up)

    services.read_model.wait_for = lagging
    answers: list[int] = []

    def read() -> None:
        answers.append(
            environment.get(
                "/api/v1/innovations", environment.keys.analyst, headers={"X-Min-Position": str(head)}
            ).status_code
        )

    first = threading.Thread(target=read)
    first.start()
    assert waiting.wait(10)
    started = time.monotonic()
    second = environment.get("/api/v1/innovations", environment.keys.analyst, headers={"X-Min-Position": str(head)})
    assert second.status_code == 503
    assert "Too many reads are waiting" in second.json["detail"]
    assert second.headers["Retry-After"] == "1"
    assert time.monotonic() - started < 2  # not held for the 5 s wait
    released.set()
    first.join(10)
    assert answers == [200]


# ---- bodies, types and formulas ---------------------------------------------------------------------------------


def post_chunked(env: Env, body: bytes) -> Any:
    """A new innovation sent as a chunked body, as a WSGI server that ends the stream itself hands it on."""
    return env.client.post(
        "/api/v1/innovations",
        input_stream=io.BytesIO(body),
        headers={
            "Authorization": f"Bearer {env.keys.provider}",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_the_limit_is_refused_413_not_cut_short(env: Env) -> None:
    padded = b'{"title": "T", "summary": "S", "themes": ["x"]}' + b" " * (1024 * 1024)
    response = post_chunked(env, padded)
    assert response.status_code == 413
    assert response.content_type == "application/problem+json"


def test_a_chunked_body_within_the_limit_is_read_whole(env: Env) -> None:
    body = b'{"title": "Chunked", "summary": "S", "themes": ["x"]}'
    response = post_chunked(env, body)
    assert response.status_code == 201, response.json
    assert response.json["title"] == "Chunked"


@pytest.mark.parametrize(
    ("content_type", "data"),
    [("text/plain", '{"title": "T"}'), ("application/x-www-form-urlencoded", "title=T&summary=S")],
)
def test_a_body_that_is_not_json_is_answered_415(env: Env, content_type: str, data: str) -> None:
    response = env.post("/api/v1/innovations", env.keys.provider, data=data, content_type=content_type)
    assert response.status_code == 415
    assert "must be JSON" in response.json["detail"]


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "example.org/report", "ftp://example.org/x", "https://", "https://@/", "http://:8080/x"],
)
def test_an_evidence_url_that_is_not_http_or_https_with_a_host_is_refused(env: Env, url: str) -> None:
    iid = submit(env)["id"]
    response = env.post(
        f"/api/v1/innovations/{iid}/evidence", env.keys.provider, json={"kind": "report", "title": "R", "url": url}
    )
    assert response.status_code == 422
    assert "url" in response.json["errors"]


def test_an_http_evidence_url_is_kept_as_given(env: Env) -> None:
    iid = submit(env)["id"]
    url = "HTTP://Example.org/Report?x=1"
    added = env.post(
        f"/api/v1/innovations/{iid}/evidence", env.keys.provider, json={"kind": "report", "title": "R", "url": url}
    )
    assert added.status_code == 201
    detail = env.get(f"/api/v1/innovations/{iid}", env.keys.analyst, headers={"X-Min-Position": "0"})
    assert [e["url"] for e in detail.json["evidence"]] == [url]


@pytest.mark.parametrize("title", ['＝HYPERLINK("http://x")', "＋1+1", "－2", "−3", "﹫SUM(A1)", "\u3000=1"])
def test_csv_neutralises_formulas_written_in_look_alike_characters(env: Env, title: str) -> None:
    submit(env, title=title)
    response = env.get("/api/v1/innovations", env.keys.analyst, headers={"Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    stored = title.strip()
    assert [row["title"] for row in rows if row["title"].endswith(stored)] == ["'" + stored]


@pytest.mark.parametrize("text", [" =1+1", "  @SUM(A1)", "\u3000＝1", " -2"])
def test_a_formula_behind_leading_spaces_is_neutralised_too(text: str) -> None:
    assert cell(text) == "'" + text


# ---- headers and hosts ------------------------------------------------------------------------------------------

COMMON = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}


@contextmanager
def answers(env: Env) -> Iterator[dict[str, Any]]:
    """One answer of every kind: a page, the dashboard, JSON, CSV, a problem, the docs, an unauthenticated problem,
    a script."""
    key = env.keys.analyst
    found = {
        "page": env.get("/login"),
        "dashboard": env.get("/dashboard"),
        "json": env.get("/api/v1/innovations", key),
        "csv": env.get("/api/v1/innovations", key, headers={"Accept": "text/csv"}),
        "problem": env.get("/api/v1/innovations/not-an-id", key),
        "docs": env.get("/api/v1/docs"),
        "script": env.get("/api/v1/docs/start.js"),
        "unauthenticated": env.get("/api/v1/innovations"),
        "health": env.get("/healthz"),
    }
    try:
        yield found
    finally:
        for response in found.values():
            response.close()


def test_every_kind_of_answer_carries_the_security_headers(env: Env) -> None:
    with answers(env) as found:
        kinds = list(found.items())
    for kind, response in kinds:
        for name, value in COMMON.items():
            assert response.headers.get(name) == value, (kind, name)
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy, kind
        assert "Strict-Transport-Security" not in response.headers, kind


def test_authenticated_json_and_csv_are_not_stored_by_caches(env: Env) -> None:
    with answers(env) as found:
        pass
    for kind in ("json", "csv", "problem"):
        assert found[kind].headers["Cache-Control"] == "no-store", kind


def test_hsts_is_sent_when_the_app_is_served_over_https_only(sqlite_url: str, closing: list[Env]) -> None:
    environment = env_with(sqlite_url, closing, hsts=True)
    with answers(environment) as found:
        kinds = list(found.items())
    for kind, response in kinds:
        assert response.headers["Strict-Transport-Security"].startswith("max-age="), kind


def test_the_docs_page_runs_no_inline_script_under_its_policy(env: Env) -> None:
    page = env.get("/api/v1/docs")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    html = page.get_data(as_text=True)
    assert "<script>" not in html
    script = env.get("/api/v1/docs/start.js")
    assert script.status_code == 200
    script.close()


def test_an_untrusted_host_is_refused_and_never_copied_into_a_redirect(env: Env) -> None:
    redirected = env.get("/api/v1/innovations/", env.keys.analyst, headers={"Host": "evil.example"})
    assert redirected.status_code == 400
    assert "evil.example" not in redirected.headers.get("Location", "")
    assert env.get("/healthz", headers={"Host": "evil.example"}).status_code == 400
    assert env.get("/healthz", headers={"Host": "localhost:8000"}).status_code == 200
    assert env.get("/healthz", headers={"Host": "127.0.0.1:8000"}).status_code == 200


def test_host_names_come_from_configuration(sqlite_url: str, closing: list[Env]) -> None:
    environment = env_with(sqlite_url, closing, trusted_hosts=("tracker.example.eu",))
    assert environment.get("/healthz", headers={"Host": "tracker.example.eu"}).status_code == 200
    assert environment.get("/healthz", headers={"Host": "localhost"}).status_code == 400


# ---- the failed-authentication limit across workers -------------------------------------------------------------


def test_the_failed_authentication_limit_is_shared_by_workers_on_one_database(
    sqlite_url: str, closing: list[Env]
) -> None:
    first = env_with(sqlite_url, closing, auth_failure_limit="5/minute")
    # A second worker: another app over the same database.
    second_app = create_app(Settings(database_url=sqlite_url, auth_failure_limit="5/minute"))
    try:
        second = Env(second_app, second_app.test_client(), first.world, first.keys)
        bad = "iet_0123456789abcdef_" + "x" * 43
        statuses = [(first if n % 2 else second).get("/api/v1/innovations", bad).status_code for n in range(5)]
        assert statuses == [401] * 5
        assert first.get("/api/v1/innovations", bad).status_code == 429
        assert second.get("/api/v1/innovations", bad).status_code == 429
        # A good key from the same address is refused too, until the window passes.
        assert second.get("/api/v1/innovations", first.keys.analyst).status_code == 429
    finally:
        second_app.extensions["tracker"].close()


# ---- query parameters -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/innovations/{iid}/history",
        "/api/v1/innovations/{iid}/scores",
        "/api/v1/innovations/{iid}/stages",
        "/api/v1/organisations/{org}",
        "/api/v1/ecosystems/{eco}",
        "/api/v1/audit/head",
    ],
)
def test_unknown_query_parameters_are_refused_everywhere(env: Env, path: str) -> None:
    iid = submit(env)["id"]
    url = path.format(iid=iid, org=env.world.owner, eco=env.world.ecosystem)
    assert env.get(url, env.keys.analyst).status_code == 200
    refused = env.get(url, env.keys.analyst, query_string={"colour": "blue"})
    assert refused.status_code == 422
    assert refused.json["errors"] == {"colour": ["Unknown field."]}


# ---- readiness --------------------------------------------------------------------------------------------------


def test_readiness_fails_when_the_read_side_falls_too_many_events_behind(sqlite_url: str, closing: list[Env]) -> None:
    environment = env_with(sqlite_url, closing, inline_projections=False, ready_max_lag=2)
    assert environment.get("/readyz").status_code == 200
    app = environment.app.extensions["tracker"].app
    for n in range(3):
        app.register_organisation(actor=ADMIN, name=f"Unprojected {n}", country="LT", kind="other")
    behind = environment.get("/readyz")
    assert behind.status_code == 503
    assert "3 events behind (at most 2)" in behind.json["detail"]
    assert behind.json["lag"] == 3
    environment.app.extensions["tracker"].read_model.catch_up()
    assert environment.get("/readyz").status_code == 200


def test_readiness_fails_when_an_event_waits_too_long_to_be_projected(sqlite_url: str, closing: list[Env]) -> None:
    environment = env_with(sqlite_url, closing, inline_projections=False, ready_max_lag_seconds=0.05)
    app = environment.app.extensions["tracker"].app
    app.register_organisation(actor=ADMIN, name="Waiting", country="LT", kind="other")
    time.sleep(0.1)
    behind = environment.get("/readyz")
    assert behind.status_code == 503
    assert "waited" in behind.json["detail"]
