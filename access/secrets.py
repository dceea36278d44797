"""Secrets every process of one tracker shares without anybody configuring them: made at random on first use and
kept in the database, so that all gunicorn workers (and a restarted process) sign and read the same cookies."""

from __future__ import annotations

import secrets

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from access.tables import app_secrets


def shared_secret(name: str, engine: Engine, writer: Engine) -> str:
    """The secret called `name`, made now if no process has made it yet (the first to store one wins)."""
    query = select(app_secrets.c.value).where(app_secrets.c.name == name)
    with engine.connect() as conn:
        found = conn.scalar(query)
    if found is not None:
        return found
    try:
        with writer.begin() as tx:
            tx.execute(app_secrets.insert().values(name=name, value=secrets.token_urlsafe(48)))
    except IntegrityError:
        pass  # another process made it first
    with engine.connect() as conn:
        value = conn.scalar(query)
    assert value is not None
    return value
