"""Fixtures for HTTP tests: a Flask app on a fresh store, keys for every role, and a small world; and what the
hostile-input tests share: their store, a pilot in it, and how they send a body and check a refusal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bootstrap import create_app, upgrade_database
from runtime.settings import Settings
from tests.world import World, build_world


@dataclass
class Keys:
    admin: str
    provider: str
    other_provider: str
    site_provider: str
    evaluator: str
    evaluator_b: str
    conflicted_evaluator: str
    owner_evaluator: str
    analyst: str
    manager: str


@dataclass
class Env:
    app: Flask
    client: FlaskClient
    world: World
    keys: Keys

    def call(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, key: str | None = None, **kw: Any) -> Any:
        return self.call("GET", path, key, **kw)

    def post(self, path: str, key: str | None = None, **kw: Any) -> Any:
        return self.call("POST", path, key, **kw)

    def patch(self, path: str, key: str | None = None, **kw: Any) -> Any:
        return self.call("PATCH", path, key, **kw)

    def delete(self, path: str, key: str | None = None, **kw: Any) -> Any:
        return self.call("DELETE", path, key, **kw)

    def person_id(self, key: str) -> str:
        """The id of the person a key belongs to (the actor id of what they do)."""
        principal = self.app.extensions["tracker"].keys.verify(key)
        assert principal is not None
        return str(principal.person_id)

    def assign(self, innovation_id: str, evaluator_key: str, **fields: Any) -> Any:
        """The manager assigns the evaluator holding `evaluator_key` at the innovation's current stage."""
        response = self.post(
            f"/api/v1/innovations/{innovation_id}/assignments",
            self.keys.manager,
            json={"evaluator_id": self.person_id(evaluator_key), **fields},
        )
        assert response.status_code == 201, response.json
        return response

    def assess(self, innovation_id: str, evaluator_key: str, **body: Any) -> Any:
        """Assign the evaluator where they are not yet assigned at the current stage, then assess over HTTP."""
        inn = self.app.extensions["tracker"].app.get_innovation(UUID(innovation_id))
        if self.person_id(evaluator_key) not in inn.assignments:
            self.assign(innovation_id, evaluator_key)
        return self.post(f"/api/v1/innovations/{innovation_id}/assessments", evaluator_key, json=body)


def make_env(url: str, **settings: Any) -> Env:
    # The outbox is run by the tests that look at it (Outbox.run_once), not by a thread of its own in every app: the
    # thread is exercised by the browser tests and the real gunicorn.
    config = Settings(**({"database_url": url, "read_wait_timeout": 0.5, "inline_outbox": False} | settings))
    upgrade_database(config)
    app = create_app(config)
    services = app.extensions["tracker"]
    world = build_world(services.app)
    services.read_model.catch_up()

    def key(name: str, role: str, org: Any = None) -> str:
        return services.keys.create(name=name, role=role, organisation_id=org)[0]

    keys = Keys(
        admin=key("admin-key", "admin"),
        provider=key("owner-provider", "provider", world.owner),
        other_provider=key("other-provider", "provider", world.eval_org_c),
        site_provider=key("site-provider", "provider", world.site),
        evaluator=key("evaluator-a", "evaluator", world.eval_org_a),
        evaluator_b=key("evaluator-b", "evaluator", world.eval_org_b),
        conflicted_evaluator=key("evaluator-member", "evaluator", world.member),
        owner_evaluator=key("evaluator-owner", "evaluator", world.owner),
        analyst=key("analyst", "analyst"),
        manager=key("manager", "manager"),
    )
    return Env(app, app.test_client(), world, keys)


@pytest.fixture
def env(sqlite_url: str) -> Iterator[Env]:
    environment = make_env(sqlite_url)
    yield environment
    environment.app.extensions["tracker"].close()


@pytest.fixture
def pg_env(postgres_url: str) -> Iterator[Env]:
    environment = make_env(postgres_url)
    yield environment
    environment.app.extensions["tracker"].close()


SCORES = {
    "relevance": 4,
    "effectiveness": 3,
    "transferability": 3,
    "sustainability": 3,
    "partnership": 4,
    "openness": 2,
}


def submit(env: Env, **overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Open badges",
        "summary": "Badges for skills",
        "themes": ["badges"],
        "ecosystem_id": str(env.world.ecosystem),
    }
    body.update(overrides)
    response = env.post("/api/v1/innovations", env.keys.provider, json=body)
    assert response.status_code == 201, response.json
    return response.json


# ---- hostile input: the store and the helpers the hostile-input modules share ---------------------------------------

Tried = Callable[..., None]
LABEL = "hostile input"  # the line their cases are counted under in the "cases tried" summary
INNOVATIONS = "/api/v1/innovations"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    environment = make_env(f"sqlite:///{tmp_path_factory.mktemp('hostile')}/tracker.db")
    yield environment
    environment.app.extensions["tracker"].close()


@pytest.fixture(scope="module")
def pilot(hostile: Env) -> dict[str, str]:
    created = submit(hostile, title="Pilot target")
    started = hostile.post(
        f"{INNOVATIONS}/{created['id']}/pilots",
        hostile.keys.provider,
        json={"site_organisation_id": str(hostile.world.site), "started_on": "2025-01-01"},
    )
    assert started.status_code == 201
    return {"iid": created["id"], "pilot": started.json["pilot_id"]}


def position(env: Env) -> int:
    return int(env.app.extensions["tracker"].app.current_position())


def send(env: Env, tried: Tried, method: str, path: str, key: str, body: bytes | str, **kw: Any) -> Any:
    tried(LABEL)
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return env.call(method, path, key, data=data, content_type=kw.pop("content_type", "application/json"), **kw)


def refused(response: Any, status: int, detail: str | None = None, field: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status
    assert problem["title"]
    if detail is not None:
        assert detail in problem["detail"], problem
    if field is not None:
        assert field in problem["errors"], problem
