"""The tables of the read side (and of access and runtime, beside them) keep times as naive UTC, which SQLite and
PostgreSQL compare alike: the one way to say "now" in them."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, as the tables keep it: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
