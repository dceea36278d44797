"""Fixtures for HTTP tests: a Flask app on a fresh store, keys for every role, and a small world."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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


def make_env(url: str, **settings: Any) -> Env:
    config = Settings(database_url=url, read_wait_timeout=0.5, **settings)
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
