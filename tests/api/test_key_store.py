"""Creating keys while other connections write to the same SQLite file; key names per person."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import pytest
from sqlalchemy import event

from access.keys import KeyError_
from bootstrap import build_services, upgrade_database
from runtime.settings import Settings
from storage.config import StoreConfig
from tests.api.conftest import Env


@pytest.mark.parametrize("action", ["create", "revoke"])
def test_a_key_is_created_or_revoked_when_another_connection_writes_between_its_check_and_its_write(
    sqlite_url: str, action: str
) -> None:
    settings = Settings(database_url=sqlite_url)
    upgrade_database(settings)
    services = build_services(settings)
    path = StoreConfig.from_url(sqlite_url).path
    interfered: list[str] = []
    if action == "revoke":
        _, made = services.keys.create(name="while-writing", role="analyst")

    def another_writer(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Right after the check (is the name taken? which key is it?), another connection writes and commits a moment
        # later, as the web process's projection thread does: the key's own write must not be the one that fails.
        if statement.lstrip().upper().startswith("SELECT") and not interfered:
            other = sqlite3.connect(path, timeout=0.1, isolation_level=None, check_same_thread=False)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("UPDATE rm_tracking SET updated_at = updated_at")
            except sqlite3.OperationalError as error:  # the key's transaction holds the write lock
                interfered.append(str(error))
                other.close()
                return
            interfered.append("writing")

            def commit() -> None:
                other.execute("COMMIT")
                other.close()

            threading.Timer(0.2, commit).start()

    engines = (services.read_model.reader, services.read_model.writer)
    for engine in engines:
        event.listen(engine, "after_cursor_execute", another_writer)
    try:
        if action == "create":
            token, info = services.keys.create(name="while-writing", role="analyst")
            assert token.startswith("iet_")
            assert info.name == "while-writing"
        else:
            assert services.keys.revoke(made.id) == 1
            assert services.keys.list(include_revoked=True)[0].revoked_at is not None
    finally:
        for engine in engines:
            event.remove(engine, "after_cursor_execute", another_writer)
        services.close()
    assert interfered == ["database is locked"]  # the other writer waited for the key's transaction, not the reverse


def test_key_names_are_per_person_and_an_ambiguous_name_is_revoked_only_by_id(env: Env) -> None:
    services = env.app.extensions["tracker"]
    people = [
        services.people.create(actor_id="test", name=f"Person {n}", email=f"p{n}@example.org", role="analyst")
        for n in (1, 2)
    ]
    (first, first_info), (second, _) = (services.keys.create_for(person_id=p.id, name="laptop") for p in people)
    with pytest.raises(KeyError_, match="exists"):
        services.keys.create_for(person_id=people[0].id, name="laptop")
    with pytest.raises(KeyError_, match="revoke one by its id"):
        services.keys.revoke("laptop")
    assert services.keys.verify(first) is not None
    assert services.keys.revoke("laptop", person_id=people[1].id) == 1
    assert services.keys.verify(second) is None
    assert services.keys.verify(first) is not None
    assert services.keys.revoke(first_info.id) == 1
    assert services.keys.verify(first) is None
    inactive = services.people.update(people[0].id, {"active": False}, actor_id="test")
    with pytest.raises(KeyError_, match="no active person"):
        services.keys.create_for(person_id=inactive.id, name="phone")
