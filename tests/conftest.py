"""Shared fixtures: stores (memory, a SQLite file or a PostgreSQL database per test) and actors."""

from __future__ import annotations

import functools
import os
import random
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import argon2
import psycopg
import psycopg_pool.base
import pytest
from psycopg import sql

import access.signin
from bootstrap import upgrade_database
from runtime.settings import Settings
from storage.application import open_application
from storage.schema import create_event_tables, drop_postgres_schema
from tests.world import World, build_world
from tracker.actors import Actor
from tracker.application import TrackerApplication

# Helper modules whose asserts should explain themselves when they fail, as a test's own do.
pytest.register_assert_rewrite("tests.contract")

# Passwords are hashed with argon2 at its defaults, about a tenth of a second a hash, and the page tests sign in
# hundreds of times. Apps built in the test process hash with argon2 at its smallest cost instead; servers the tests
# start as processes of their own keep the defaults, and test_signin_store checks what is stored.
access.signin.PasswordHasher = functools.partial(  # type: ignore[misc]
    argon2.PasswordHasher, time_cost=1, memory_cost=1024, parallelism=1
)

# psycopg_pool's worker threads draw the jitter of a new connection's lifetime from the global `random` module.
# Hypothesis takes any move of that state while it draws test data for a strategy using `random` (a warning, which
# the suite makes an error), so a pool growing in the background made a PostgreSQL property test fail at random.
# The pool gets a generator of its own; the check still holds for the suite's own strategies.
assert psycopg_pool.base.random is random.random, "psycopg_pool no longer draws from the global random module"
psycopg_pool.base.random = random.Random().random  # type: ignore[attr-defined]

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


# Most tests start from a store at the newest schema: each gets a copy of one migrated once per test process
# (`tracker db upgrade` takes about 0.35 s on PostgreSQL and 0.1 s on SQLite; a copy, 25 ms and 2 ms). A test that
# needs a store with nothing in it (the migrations', the first start's) asks for empty_postgres_url or
# empty_sqlite_url. Each test still has a database of its own, dropped afterwards, but for module_sql_url, which one
# module's small cases share in a test process. The PostgreSQL copies keep the tracker in a schema of its own
# (`?schema=`), as a shared database would, so that every test goes through it.
TEST_SCHEMA = "tracker"


def _database_url(name: str) -> str:
    return urlunsplit(urlsplit(PG_URL)._replace(path=f"/{name}", query=f"schema={TEST_SCHEMA}"))


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(PG_URL.split("?")[0], autocommit=True)


def _create_database(name: str, template: str | None = None) -> None:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with _admin_connection() as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            pytest.fail(f"each PostgreSQL test makes a database of its own: the user of {PG_URL} needs CREATEDB")


def _drop_database(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[str]:
    """A database at the newest schema, for per-test copies; dropped when the test process ends."""
    require_postgres()
    name = f"tmpl_{uuid.uuid4().hex[:16]}"
    _create_database(name)
    try:
        upgrade_database(Settings(database_url=_database_url(name)))
        with _admin_connection() as conn:
            # A database is copied only while nobody is connected to it: end what the upgrade left in its pools.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        yield name
    finally:
        _drop_database(name)


@contextmanager
def _postgres_copy(template: str) -> Iterator[str]:
    """A database copied from the template, in the schema TEST_SCHEMA; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    _create_database(name, template=template)
    try:
        yield _database_url(name)
    finally:
        _drop_database(name)


def _sqlite_copy(template: Path, directory: Path) -> str:
    shutil.copyfile(template, directory / "tracker.db")
    return f"sqlite:///{directory}/tracker.db"


@pytest.fixture
def postgres_url(_postgres_template: str) -> Iterator[str]:
    """A database of its own at the newest schema, in the schema TEST_SCHEMA (a copy of the template); dropped
    afterwards."""
    with _postgres_copy(_postgres_template) as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def module_sql_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SQL store at the newest schema shared by one module's tests in a test process, for many small cases that
    each clear what they use first (a store of its own costs more than such a case)."""
    if request.param == "sqlite":
        yield _sqlite_copy(request.getfixturevalue("_sqlite_template"), tmp_path_factory.mktemp("module"))
        return
    with _postgres_copy(request.getfixturevalue("_postgres_template")) as url:
        yield url


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """An empty schema of its own in the test database; dropped afterwards."""
    require_postgres()
    url = f"{PG_URL}?schema=t_{uuid.uuid4().hex[:16]}"
    yield url
    drop_postgres_schema(url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the newest schema, its write-ahead log folded in, for per-test copies."""
    path = tmp_path_factory.mktemp("template") / "tracker.db"
    upgrade_database(Settings(database_url=f"sqlite:///{path}"))
    with closing(sqlite3.connect(path)) as conn:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0, "the template's log could not be folded in"
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """A SQLite file of its own at the newest schema (a copy of the template)."""
    return _sqlite_copy(_sqlite_template, tmp_path)


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    """Where a SQLite file of its own will be: nothing is there yet."""
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
    application = open_application(store_url)
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
    from projections.read_model import ReadModel

    application = open_application(sql_url)
    model = ReadModel(application, sql_url)
    yield model
    model.close()
    application.close()


@pytest.fixture
def sqlite_read_model(sqlite_url: str) -> Iterator[object]:
    """The read model of a SQLite file, for what only SQLite does."""
    from projections.migrate import upgrade
    from projections.read_model import ReadModel

    create_event_tables(sqlite_url)
    upgrade(sqlite_url)
    application = open_application(sqlite_url)
    model = ReadModel(application, sqlite_url)
    yield model
    model.close()
    application.close()


# ---- case counts: tests that try many inputs report how many, summed over xdist workers ---------------------------

CASES_TRIED = "cases_tried"


@pytest.fixture
def tried(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Count cases a test tried under a label; the totals are printed at the end of the run."""

    def add(label: str, count: int = 1) -> None:
        for name, value in request.node.user_properties:
            if name == CASES_TRIED and value[0] == label:
                value[1] += count
                return
        request.node.user_properties.append((CASES_TRIED, [label, count]))

    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    totals: dict[str, int] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == CASES_TRIED:
                    totals[value[0]] = totals.get(value[0], 0) + int(value[1])
    if totals:
        terminalreporter.section("cases tried")
        for label, count in sorted(totals.items()):
            terminalreporter.write_line(f"{label}: {count:,} cases")


@pytest.fixture
def world(app: TrackerApplication) -> World:
    """Organisations, an ecosystem and actors of every role, registered in `app` (see tests/world.py)."""
    return build_world(app)
