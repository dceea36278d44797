"""One read-model connection per request: the API key, the projection position and the query share it."""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy import Connection

from web.services import services


def read_connection() -> Connection:
    """The request's connection to the read model, taken from the pool on first use and returned when it ends.

    On PostgreSQL every checkout costs a ping; one connection serves the key check, the projection position and the
    query."""
    conn: Connection | None = g.get("read_connection")
    if conn is None:
        conn = g.read_connection = services().read_model.statement_reader.connect()
    return conn


def read_afresh() -> Connection:
    """The request's connection with its snapshot (SQLite) ended: the next statement sees the latest commit."""
    conn = read_connection()
    conn.rollback()
    return conn


def recover() -> None:
    """After a statement on the request's connection failed and the caller carries on (a limit left unchecked), roll
    its transaction back: a connection the store dropped is otherwise refused for the rest of the request."""
    conn: Connection | None = g.get("read_connection")
    if conn is not None:
        conn.rollback()


def install(app: Flask) -> None:
    @app.teardown_request
    def return_read_connection(_: BaseException | None) -> None:
        conn = g.pop("read_connection", None)
        if conn is not None:
            conn.close()
