"""Creating keys while other connections write to the same SQLite file."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from sqlalchemy import event

from bootstrap import build_services, upgrade_database
from runtime.settings import Settings
from storage.config import StoreConfig


def test_a_key_is_created_when_another_connection_writes_between_its_name_check_and_its_insert(
    sqlite_url: str,
) -> None:
    settings = Settings(database_url=sqlite_url)
    upgrade_database(settings)
    services = build_services(settings)
    path = StoreConfig.from_url(sqlite_url).path
    interfered: list[str] = []

    def another_writer(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Right after the name check, another connection writes and commits a moment later, as the web process's
        # projection thread does: the key's insert must not be the one that fails.
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
        token, info = services.keys.create(name="while-writing", role="analyst")
    finally:
        for engine in engines:
            event.remove(engine, "after_cursor_execute", another_writer)
        services.close()
    assert interfered == ["database is locked"]  # the other writer waited for the key's transaction, not the reverse
    assert token.startswith("iet_")
    assert info.name == "while-writing"
