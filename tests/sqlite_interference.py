"""Another SQLite connection that writes in the middle of a transaction, as another process (or the web process's
projection thread) does: for the tests that a read-then-write transaction holds the write lock from its start."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def another_writer(path: str, after: Callable[[str], bool], *on: Any) -> Iterator[list[str]]:
    """After the first statement on any of `on` (engines, or the Engine class for all) for which `after` is true,
    another connection takes the write lock (waiting at most 0.1 s), writes, and commits 0.2 s later. Yields what
    happened:
    ["database is locked"] when the transaction already held the lock, as it should; ["writing"] when the other
    connection got in first, so that the transaction's own write would then fail at once."""
    interfered: list[str] = []

    def write(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if interfered or not after(statement):
            return
        other = sqlite3.connect(path, timeout=0.1, isolation_level=None, check_same_thread=False)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE rm_tracking SET position = position")
        except sqlite3.OperationalError as error:  # the transaction holds the write lock
            interfered.append(str(error))
            other.close()
            return
        interfered.append("writing")

        def commit() -> None:
            other.execute("COMMIT")
            other.close()

        threading.Timer(0.2, commit).start()

    for target in on:
        event.listen(target, "after_cursor_execute", write)
    try:
        yield interfered
    finally:
        for target in on:
            event.remove(target, "after_cursor_execute", write)


def a_select(statement: str) -> bool:
    return statement.lstrip().upper().startswith("SELECT")
