"""How far the outbox has derived from the log: one row of outbox_tracking."""

from __future__ import annotations

from sqlalchemy import Connection, select

from outbox.tables import outbox_tracking

NAME = "outbox"


def position(conn: Connection) -> int:
    """The last log position the outbox has derived deliveries and e-mails from."""
    return conn.scalar(select(outbox_tracking.c.position).where(outbox_tracking.c.name == NAME)) or 0
