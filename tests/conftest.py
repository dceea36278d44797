"""Shared fixtures: stores (memory, SQLite file, PostgreSQL schema per test) and actors."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tracker.actors import Actor
from tracker.application import TrackerApplication
from tracker.schema import create_event_tables, drop_postgres_schema

PG_URL = os.environ.get("TRACKER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
STORES = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_available() -> bool:
    try:
        with psycopg.connect(PG_URL.split("?")[0], connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def require_postgres() -> None:
    if postgres_available():
        return
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES=1) but {PG_URL} is unreachable")
    pytest.skip(f"PostgreSQL not reachable at {PG_URL}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the test database; dropped afterwards."""
    require_postgres()
    url = f"{PG_URL}?schema=t_{uuid.uuid4().hex[:16]}"
    yield url
    drop_postgres_schema(url)


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/tracker.db"


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def app(store_url: str) -> Iterator[TrackerApplication]:
    if not store_url.startswith("memory"):
        create_event_tables(store_url)
    application = TrackerApplication.for_url(store_url)
    yield application
    application.close()


@pytest.fixture
def admin() -> Actor:
    return Actor("admin-1", "admin")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_url(request: pytest.FixtureRequest) -> str:
    """A SQL store (the read model needs SQL) with event tables and read-model schema in place."""
    from projections.migrate import upgrade

    url = request.getfixturevalue(f"{request.param}_url")
    create_event_tables(url)
    upgrade(url)
    return url


@pytest.fixture
def read_model(sql_url: str) -> Iterator[object]:
    from projections.runner import ReadModel

    application = TrackerApplication.for_url(sql_url)
    model = ReadModel(application, sql_url)
    yield model
    model.close()
    application.close()
