"""End to end: real gunicorn (2 workers) on PostgreSQL plus the projection worker, driven over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCORES = {
    "relevance": 4,
    "effectiveness": 3,
    "transferability": 3,
    "sustainability": 3,
    "partnership": 4,
    "openness": 2,
}

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Http:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(
        self, method: str, path: str, key: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310 - loopback only
        request.add_header("Authorization", f"Bearer {key}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
                return response.status, dict(response.headers), json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read() or b"null")


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_serving(port: int, timeout: float = 30) -> None:
    """Until gunicorn on this loopback port answers /healthz with 200."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def serve(url: str, *, workers: int = 2) -> Iterator[dict[str, Any]]:
    """Real gunicorn on a free loopback port; on PostgreSQL also the projection worker (SQLite projects inline)."""
    postgres = url.startswith("postgresql")
    port = free_port()
    env = os.environ | {
        "TRACKER_DATABASE_URL": url,
        "TRACKER_WORKERS": str(workers),
        "TRACKER_THREADS": "4",
        "TRACKER_BIND": f"127.0.0.1:{port}",
        "TRACKER_INLINE_PROJECTIONS": "0" if postgres else "1",
        "TRACKER_LOG_LEVEL": "WARNING",
    }
    cli(env, "db", "upgrade")
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = None
    if postgres:
        worker = subprocess.Popen(
            [sys.executable, "-m", "cli", "projections", "run", "--idle-wait", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    try:
        wait_until_serving(port)
        yield {"http": Http(f"http://127.0.0.1:{port}"), "env": env}
    finally:
        stop(web)
        if worker is not None:
            stop(worker)


@pytest.fixture
def stack(empty_postgres_url: str) -> Iterator[dict[str, Any]]:
    with serve(empty_postgres_url) as running:
        yield running


def test_innovation_goes_from_submission_to_mainstreamed_over_real_gunicorn_on_postgres(stack: dict[str, Any]) -> None:
    http, env = stack["http"], stack["env"]
    admin = cli(env, "keys", "create", "--role", "admin", "--name", "e2e-admin")
    analyst = cli(env, "keys", "create", "--role", "analyst", "--name", "e2e-analyst")

    def org(name: str, country: str) -> str:
        status, _, body = http.call(
            "POST", "/api/v1/organisations", admin, {"name": name, "country": country, "kind": "vet_provider"}
        )
        assert status == 201
        return str(body["id"])

    owner, site, eval_a, eval_b = (
        org("Owner VET", "LT"),
        org("Site VET", "IT"),
        org("Panel A", "FI"),
        org("Panel B", "EL"),
    )
    status, _, eco = http.call(
        "POST",
        "/api/v1/ecosystems",
        admin,
        {"acronym": "VISION", "title": "Vision", "members": [{"organisation_id": owner, "role": "coordinator"}]},
    )
    assert status == 201
    provider = cli(env, "keys", "create", "--role", "provider", "--organisation", owner, "--name", "e2e-provider")
    evaluator_1 = cli(
        env, "keys", "create", "--role", "evaluator", "--organisation", eval_a, "--name", "e2e-evaluator-1"
    )
    # The second evaluator and the manager are people first, each with a key of their own.
    evaluator_2_id = cli(
        env, "people", "create", "--name", "Eva Two", "--email", "eva@example.org", "--role", "evaluator",
        "--organisation", eval_b,
    )  # fmt: skip
    evaluator_2 = cli(env, "keys", "create", "--person", evaluator_2_id, "--name", "laptop")
    manager_id = cli(env, "people", "create", "--name", "Mia Lead", "--email", "mia@example.org", "--role", "manager")
    manager = cli(env, "keys", "create", "--person", manager_id, "--name", "laptop")
    listed = cli(env, "people", "list", "--role", "evaluator")
    assert "Eva Two" in listed
    assert "e2e-evaluator-1" in listed  # the person `keys create --role` made, named after the key
    ids: dict[str, str] = {}
    for name, key in (
        ("provider", None),
        ("evaluator_1", evaluator_1),
        ("evaluator_2", evaluator_2),
        ("manager", manager),
    ):
        if key is not None:
            code, _, me = http.call("GET", "/api/v1/me", key)
            assert code == 200
            ids[name] = me["id"]

    status, headers, created = http.call(
        "POST",
        "/api/v1/innovations",
        provider,
        {"title": "Open badges", "summary": "Badges", "themes": ["badges"], "ecosystem_id": eco["id"]},
    )
    assert (status, headers["ETag"]) == (201, '"1"')
    iid = created["id"]
    base = f"/api/v1/innovations/{iid}"
    position = int(headers["X-Event-Position"])

    def write(method: str, path: str, key: str, body: Any, version: int | None = None) -> Any:
        nonlocal position
        extra = {"If-Match": f'"{version}"'} if version is not None else {}
        code, h, answer = http.call(method, path, key, body, extra)
        assert 200 <= code < 300, (code, answer)
        position = int(h["X-Event-Position"])
        return answer

    def version() -> int:
        code, h, _ = http.call("GET", base, analyst, headers={"X-Min-Position": str(position)})
        assert code == 200
        return int(h["ETag"].strip('"'))

    write("POST", f"{base}/assignments", manager, {"evaluator_id": ids["evaluator_1"]})
    write("POST", f"{base}/assessments", evaluator_1, {"scores": SCORES, "rationale": "promising"})
    write("POST", f"{base}/decisions", manager, {"decision": "advance", "rationale": "gate met"}, version())
    pilot = write("POST", f"{base}/pilots", provider, {"site_organisation_id": site, "started_on": "2025-01-10"})
    write(
        "POST",
        f"{base}/pilots/{pilot['pilot_id']}/outcome",
        provider,
        {"ended_on": "2025-05-01", "participants": 30, "completion_rate": 0.9},
    )
    write("POST", f"{base}/decisions", manager, {"decision": "advance", "rationale": "pilot done"}, version())
    write("POST", f"{base}/evidence", provider, {"kind": "evaluation", "title": "External evaluation"})
    write("POST", f"{base}/decisions", manager, {"decision": "advance", "rationale": "evidence in"}, version())
    for evaluator in ("evaluator_1", "evaluator_2"):
        write("POST", f"{base}/assignments", manager, {"evaluator_id": ids[evaluator], "due_on": "2031-01-31"})
    code, _, queue = http.call("GET", "/api/v1/me/assignments", evaluator_2, headers={"X-Min-Position": str(position)})
    assert (code, [(q["innovation_id"], q["stage"], q["due_on"]) for q in queue["items"]]) == (
        200,
        [(iid, "assessment", "2031-01-31")],
    )
    write("POST", f"{base}/assessments", evaluator_1, {"scores": SCORES, "rationale": "ready"})
    write("POST", f"{base}/assessments", evaluator_2, {"scores": SCORES, "rationale": "ready too"})
    done = write(
        "POST",
        f"{base}/decisions",
        manager,
        {"decision": "advance", "rationale": "two evaluators agree"},
        version(),
    )
    assert (done["stage"], done["status"]) == ("mainstreamed", "mainstreamed")

    read = {"X-Min-Position": str(position)}
    code, h, detail = http.call("GET", base, analyst, headers=read)
    assert (code, detail["stage"], detail["status"]) == (200, "mainstreamed", "mainstreamed")
    assert int(h["X-Projection-Position"]) >= position
    _, _, history = http.call("GET", f"{base}/history", analyst, headers=read)
    assert [e["type"] for e in history] == [
        "Submitted",
        "EvaluatorAssigned",
        "AssessmentRecorded",
        "Advanced",
        "PilotStarted",
        "PilotOutcomeRecorded",
        "Advanced",
        "EvidenceAdded",
        "Advanced",
        "EvaluatorAssigned",
        "EvaluatorAssigned",
        "AssessmentRecorded",
        "AssessmentRecorded",
        "Advanced",
    ]
    code, _, me = http.call("GET", "/api/v1/me", provider)
    ids["provider"] = me["id"]
    assert {e["actor"]["id"] for e in history} == set(ids.values())  # people, not keys
    _, h, scores = http.call("GET", f"{base}/scores", analyst, headers=read)
    assert int(h["X-Projection-Position"]) >= position
    assert (scores[-1]["value"], scores[-1]["evaluators"], scores[-1]["spread"]) == (80.0, 2, 0.0)
    _, _, stages = http.call("GET", f"{base}/stages", analyst, headers=read)
    assert [s["stage"] for s in stages] == ["identification", "testing", "development", "assessment", "mainstreamed"]
    assert stages[-1]["exited_at"] is None
    _, _, funnel = http.call("GET", "/api/v1/analytics/funnel", analyst, headers=read)
    assert funnel["stages"]["mainstreamed"] == 1
    assert funnel["statuses"]["mainstreamed"] == 1
    _, _, audit = http.call("GET", f"/api/v1/audit?aggregate_id={iid}", analyst, headers=read)
    assert [i["version"] for i in audit["items"]] == list(range(1, 15))
    code, _, _ = http.call("GET", "/api/v1/audit", provider)
    assert code == 403
