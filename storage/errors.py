"""What the stores raise when they fail (as against a rule of the domain refusing a command)."""

from __future__ import annotations

import sqlite3

import psycopg
from eventsourcing.persistence import PersistenceError
from sqlalchemy.exc import DBAPIError

# The event store's (the library's own, or the drivers' where it lets them through) and the read side's (SQLAlchemy).
STORE_ERRORS: tuple[type[BaseException], ...] = (DBAPIError, PersistenceError, sqlite3.Error, psycopg.Error)


def said(error: BaseException) -> str:
    """The store's own first line about `error` (the driver's message, without SQLAlchemy's statement and values)."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
