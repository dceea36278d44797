"""API keys under attack: stored only as hashes, compared in constant time, revoked at once, and failed
authentication rate limited per client address."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from structlog.testing import capture_logs

from access import keys as key_module
from bootstrap import create_app
from cli.main import main as cli
from runtime.settings import AUTH_FAILURE_LIMIT, Settings
from tests.api.conftest import Env, Keys, make_env
from web.failure_counts import STORAGE_TIMEOUT

BAD_KEY = "iet_0123456789abcdef_" + "x" * 43
LIST = "/api/v1/innovations"


def client(address: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": address}}


@pytest.fixture
def limited(sqlite_url: str) -> Iterator[Env]:
    environment = make_env(sqlite_url, auth_failure_limit="3/minute")
    yield environment
    environment.app.extensions["tracker"].close()


def test_failed_authentication_is_limited_per_client_address(limited: Env) -> None:
    attacker, neighbour = client("203.0.113.7"), client("198.51.100.9")
    statuses = [limited.get(LIST, BAD_KEY, **attacker).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]

    blocked = limited.get(LIST, BAD_KEY, **attacker)
    assert blocked.status_code == 429
    assert blocked.content_type == "application/problem+json"
    assert blocked.json["status"] == 429
    assert "failed authentication" in blocked.json["detail"]
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    # Blocked before the key is checked: a guess that would succeed from there learns nothing either.
    assert limited.get(LIST, limited.keys.analyst, **attacker).status_code == 429
    assert limited.get(LIST, None, **attacker).status_code == 429

    # Another client is not held back by the attacker's failures, and has a budget of its own.
    for _ in range(10):
        assert limited.get(LIST, limited.keys.analyst, **neighbour).status_code == 200
    assert limited.get(LIST, BAD_KEY, **neighbour).status_code == 401
    assert limited.get("/healthz", **attacker).status_code == 200  # liveness stays out of it
    # A path no route matches is still a 404, and a method a route does not take a 405.
    assert limited.get("/api/v1/no-such-thing", BAD_KEY, **attacker).status_code == 404
    assert limited.call("DELETE", LIST, BAD_KEY, **attacker).status_code == 405


def test_successful_and_forbidden_calls_do_not_count_as_failed_authentication(limited: Env) -> None:
    caller = client("192.0.2.44")
    for _ in range(10):
        assert limited.get(LIST, limited.keys.analyst, **caller).status_code == 200
        assert limited.get("/api/v1/audit", limited.keys.provider, **caller).status_code == 403
    assert [limited.get(LIST, BAD_KEY, **caller).status_code for _ in range(4)] == [401, 401, 401, 429]


def test_missing_and_revoked_keys_count_as_failures(limited: Env) -> None:
    caller = client("192.0.2.45")
    services = limited.app.extensions["tracker"]
    token, info = services.keys.create(name="soon-revoked", role="analyst")
    services.keys.revoke(info.id)
    statuses = [
        limited.get(LIST, None, **caller).status_code,
        limited.get(LIST, token, **caller).status_code,
        limited.call("GET", LIST, headers={"Authorization": "Basic YTpi"}, **caller).status_code,
        limited.get(LIST, token, **caller).status_code,
    ]
    assert statuses == [401, 401, 401, 429]


def test_the_failure_window_passes(sqlite_url: str) -> None:
    environment = make_env(sqlite_url, auth_failure_limit="2/second")
    try:
        caller = client("192.0.2.46")
        assert [environment.get(LIST, BAD_KEY, **caller).status_code for _ in range(3)] == [401, 401, 429]
        time.sleep(1.2)
        assert environment.get(LIST, environment.keys.analyst, **caller).status_code == 200
    finally:
        environment.app.extensions["tracker"].close()


def test_behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for(sqlite_url: str) -> None:
    environment = make_env(sqlite_url, auth_failure_limit="2/minute", trusted_proxies=1)
    try:
        proxy = client("10.0.0.1")

        def via(address: str, key: str) -> int:
            return int(environment.get(LIST, key, headers={"X-Forwarded-For": address}, **proxy).status_code)

        assert [via("203.0.113.1", BAD_KEY) for _ in range(3)] == [401, 401, 429]
        assert via("203.0.113.2", environment.keys.analyst) == 200
    finally:
        environment.app.extensions["tracker"].close()


def test_without_a_trusted_proxy_x_forwarded_for_cannot_dodge_the_limit(limited: Env) -> None:
    caller = client("192.0.2.47")
    statuses = [
        limited.get(LIST, BAD_KEY, headers={"X-Forwarded-For": f"198.18.0.{n}"}, **caller).status_code for n in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_the_limit_is_on_by_default_configurable_and_checked_at_start_up() -> None:
    assert Settings.from_env({"TRACKER_DATABASE_URL": "memory://"}).auth_failure_limit == AUTH_FAILURE_LIMIT
    assert Settings().auth_failure_limit == AUTH_FAILURE_LIMIT
    custom = {"TRACKER_DATABASE_URL": "memory://", "TRACKER_AUTH_FAILURE_LIMIT": "5/minute;50/hour"}
    assert Settings.from_env(custom).auth_failure_limit == "5/minute;50/hour"
    for off in ("", "off", "0"):
        assert Settings.from_env(custom | {"TRACKER_AUTH_FAILURE_LIMIT": off}).auth_failure_limit == ""
    with pytest.raises(ValueError, match="TRACKER_AUTH_FAILURE_LIMIT"):
        Settings.from_env(custom | {"TRACKER_AUTH_FAILURE_LIMIT": "lots"})
    with pytest.raises(ValueError, match="TRACKER_RATE_LIMIT"):
        Settings(rate_limit="10 per fortnight")


def test_a_revoked_key_fails_at_once_even_when_revoked_by_another_process(
    env: Env, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = env.app.extensions["tracker"]
    token, info = services.keys.create(name="to-revoke", role="analyst")
    assert env.get(LIST, token).status_code == 200
    monkeypatch.setenv("TRACKER_DATABASE_URL", sqlite_url)
    result = CliRunner().invoke(cli, ["keys", "revoke", "to-revoke"])  # the administrator's command line
    assert result.exit_code == 0, result.output
    response = env.get(LIST, token)  # the very next request, in the running app
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert services.keys.verify(token) is None
    assert [k.id for k in services.keys.list(include_revoked=True) if k.revoked_at is not None] == [info.id]


def test_keys_are_stored_only_as_hashes(env: Env, sqlite_url: str) -> None:
    services = env.app.extensions["tracker"]
    token, info = services.keys.create(name="hash-check", role="admin")
    secret = token.split("_", 2)[2]
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    with closing(sqlite3.connect(database)) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(row) for row in conn.execute("SELECT * FROM api_keys")]
    assert len(rows) == len(fields(Keys)) + 1  # the fixtures' keys, and this one
    for row in rows:
        values = " ".join(str(v) for v in row.values())
        assert secret not in values
        assert token not in values
    ours = next(row for row in rows if row["id"] == info.id)
    assert ours["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    # Nowhere in the database files either (WAL included), in any encoding of the secret.
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert secret.encode() not in stored


def test_keys_are_compared_in_constant_time_whether_or_not_the_id_exists(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = env.app.extensions["tracker"]
    token, _ = services.keys.create(name="timing", role="analyst")
    calls: list[tuple[str, str]] = []
    compare = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(key_module.hmac, "compare_digest", spy)
    prefix, key_id, secret = token.split("_", 2)
    assert services.keys.verify(token) is not None
    assert services.keys.verify(f"{prefix}_{key_id}_{'A' * len(secret)}") is None
    assert services.keys.verify(f"{prefix}_{'f' * 16}_{secret}") is None  # unknown id: still one comparison
    assert len(calls) == 3
    assert all(len(a) == len(b) == 64 for a, b in calls)  # fixed-length digests, never the raw secrets
    assert all(secret not in (a, b) for a, b in calls)


REDIS_URL = os.environ.get("TRACKER_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def require_redis() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.exceptions.RedisError:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis is required (REQUIRE_REDIS=1) but {REDIS_URL} is unreachable")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")


def test_workers_sharing_a_redis_storage_count_one_address_s_failures_together(sqlite_url: str) -> None:
    """Two gunicorn workers are two apps: with TRACKER_RATE_LIMIT_STORAGE on Redis, failures on one count on both."""
    require_redis()
    first = make_env(sqlite_url, auth_failure_limit="3/minute", rate_limit_storage=REDIS_URL)
    # A second worker: another app on the same database and the same Redis.
    app = create_app(Settings(database_url=sqlite_url, auth_failure_limit="3/minute", rate_limit_storage=REDIS_URL))
    second = Env(app, app.test_client(), first.world, first.keys)
    # An address of its own for each run, so runs sharing the Redis server never share a count.
    caller = client(f"test-{uuid.uuid4().hex}")
    try:
        statuses = [env.get(LIST, BAD_KEY, **caller).status_code for env in (first, second, first)]
        assert statuses == [401, 401, 401]
        assert second.get(LIST, first.keys.analyst, **caller).status_code == 429
        assert first.get(LIST, first.keys.analyst, **caller).status_code == 429
        assert second.get(LIST, first.keys.analyst, **client(f"test-{uuid.uuid4().hex}")).status_code == 200
    finally:
        first.app.extensions["tracker"].close()
        second.app.extensions["tracker"].close()


def test_the_failure_limit_and_the_per_key_rate_limit_work_together(sqlite_url: str) -> None:
    environment = make_env(sqlite_url, auth_failure_limit="2/minute", rate_limit="4/minute")
    try:
        prober, user = client("192.0.2.60"), client("192.0.2.61")
        assert [environment.get(LIST, BAD_KEY, **prober).status_code for _ in range(3)] == [401, 401, 429]
        ok = environment.get(LIST, environment.keys.analyst, **user)
        assert ok.status_code == 200
        assert ok.headers["X-RateLimit-Limit"] == "4"
        statuses = [environment.get(LIST, environment.keys.analyst, **user).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        # Another key has a budget of its own under the per-key limit.
        assert environment.get(LIST, environment.keys.admin, **user).status_code == 200
    finally:
        environment.app.extensions["tracker"].close()


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A Redis address that accepts connections and never answers, as a hung server does."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield f"redis://127.0.0.1:{server.getsockname()[1]}"


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize("storage", ["refused", "silent"])
def test_calls_go_through_unchecked_when_the_limits_storage_is_down(
    sqlite_url: str, silent_redis: str, storage: str
) -> None:
    """Redis down or hung: the limits let calls through and log it, rather than failing every call with 500 (or
    hanging until the worker's timeout)."""
    uri = closed_port() if storage == "refused" else silent_redis
    environment = make_env(sqlite_url, auth_failure_limit="2/minute", rate_limit="100/minute", rate_limit_storage=uri)
    try:
        started = time.monotonic()
        caller = client("192.0.2.70")
        with capture_logs() as logged:
            statuses = [environment.get(LIST, BAD_KEY, **caller).status_code for _ in range(3)]
            statuses.append(environment.get(LIST, environment.keys.analyst, **caller).status_code)
        # Unchecked, not refused: no 429 for the third failure, and no 500.
        assert statuses == [401, 401, 401, 200]
        # Said once, not once per call.
        unchecked = [entry for entry in logged if entry["event"].startswith("auth_failure")]
        assert [(entry["event"], entry["calls"]) for entry in unchecked] == [("auth_failure_limit_unchecked", 1)]
        # Each storage call waits at most STORAGE_TIMEOUT (four calls, up to three storage calls each).
        assert time.monotonic() - started < 4 * 3 * STORAGE_TIMEOUT + 2
    finally:
        environment.app.extensions["tracker"].close()
