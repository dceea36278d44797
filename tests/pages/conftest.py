"""Fixtures for the pages over Flask's test client: an app on a fresh store, people with passwords, and signing in
as a browser does (the form's CSRF token read from the page)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from access.people import Person
from bootstrap import create_app, upgrade_database
from runtime.services import Services
from runtime.settings import Settings
from tests.world import World, build_world

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(response: Any) -> str:
    found = CSRF.search(response.get_data(as_text=True))
    assert found, "the page carries no CSRF token"
    return found.group(1)


@dataclass
class Pages:
    app: Flask
    services: Services
    world: World

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def person(
        self,
        role: str,
        email: str,
        *,
        organisation: Any = None,
        password: str | None = PASSWORD,
        name: str = "Rūta Žemaitė",
        locale: str = "en",
    ) -> Person:
        person = self.services.people.create(
            actor_id="test", name=name, email=email, role=role, organisation_id=organisation, locale=locale
        )
        if password is not None:
            self.services.signin.set_password(person.id, password, actor_id="test")
        return person

    def find(self, text: str) -> list[Person]:
        """People whose name or address contains `text`."""
        with self.services.read_model.reader.connect() as conn:
            return self.services.people.list(conn, q=text)[0]

    def sign_in(self, client: FlaskClient, email: str, password: str = PASSWORD, **headers: Any) -> Any:
        token = csrf_of(client.get("/login", headers=headers))
        return client.post("/login", data={"csrf_token": token, "email": email, "password": password}, headers=headers)


def make_pages(url: str, **settings: Any) -> Pages:
    config = Settings(**({"database_url": url} | settings))
    upgrade_database(config)
    app = create_app(config)
    services: Services = app.extensions["tracker"]
    world = build_world(services.app)
    services.read_model.catch_up()
    return Pages(app, services, world)


@pytest.fixture
def pages(sql_url: str) -> Iterator[Pages]:
    """The pages on each SQL store (SQLite, and PostgreSQL in a schema of its own)."""
    made = make_pages(sql_url)
    yield made
    made.services.close()
