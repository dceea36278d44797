"""The command line says what an operator can put right in one line, without a traceback: a malformed setting, a
store not set up, unreachable or read-only, and a refusal of the domain."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from uuid import UUID

import pytest
from click.testing import CliRunner, Result

from cli.main import main, operator_message


def tracker(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def said(result: Result) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception  # a message, not an uncaught error
    return result.output


def test_a_malformed_setting_is_named(sqlite_url: str) -> None:
    assert "TRACKER_POOL_SIZE must be a whole number" in said(
        tracker({"TRACKER_DATABASE_URL": sqlite_url, "TRACKER_POOL_SIZE": "abc"}, "people", "list")
    )


def test_a_store_not_set_up_says_to_upgrade(tmp_path: Path) -> None:
    env = {"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path}/new.db"}
    for command in (("people", "list"), ("keys", "list"), ("audit", "head")):
        assert "run `tracker db upgrade` first" in said(tracker(env, *command)), command


@pytest.mark.parametrize(
    "url",
    ["postgresql://postgres:secret@127.0.0.1:1/nowhere", "postgresql://postgres:secret@127.0.0.1:5432/no_such_db"],
    ids=["no-server", "no-database"],
)
def test_an_unreachable_store_is_said_to_be(url: str) -> None:
    output = said(tracker({"TRACKER_DATABASE_URL": url}, "people", "list"))
    assert "cannot be reached" in output
    assert "secret" not in output


@pytest.mark.postgres
def test_a_database_that_is_not_there_is_named_as_such(postgres_url: str) -> None:
    """The pool says only that it got no connection; the message says why, as PostgreSQL does."""
    missing = postgres_url.split("?")[0].rsplit("/", 1)[0] + "/no_such_database_here"
    output = said(tracker({"TRACKER_DATABASE_URL": missing}, "people", "list"))
    assert 'database "no_such_database_here" does not exist' in output


def test_a_read_only_store_is_said_to_be(monkeypatch: pytest.MonkeyPatch) -> None:
    """As SQLite says it of a file the process may not write (which root may, so it is not made here)."""
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    said = operator_message(sqlite3.OperationalError("attempt to write a readonly database"))
    assert said is not None
    assert said.startswith("the store sqlite:///var/tracker.db cannot be written")
    assert operator_message(RuntimeError("a fault")) is None  # keeps its traceback
    # A fault of a statement is not the store being out of reach: it keeps its traceback too.
    assert operator_message(sqlite3.OperationalError("no such column: nope")) is None
    assert operator_message(sqlite3.OperationalError("unable to open database file")) is not None


def test_a_refusal_of_the_domain_is_said_in_its_words(sqlite_url: str) -> None:
    env = {"TRACKER_DATABASE_URL": sqlite_url}
    unknown = str(UUID(int=7))
    output = said(tracker(env, "keys", "create", "--role", "provider", "--name", "p", "--organisation", unknown))
    assert f"refused: organisation {unknown} not found" in output
