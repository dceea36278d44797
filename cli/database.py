"""`tracker db`: the event store and read-model schema."""

from __future__ import annotations

import click

from bootstrap import upgrade_database
from runtime.settings import Settings


@click.group("db")
def db() -> None:
    """The event store and read-model schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the event tables and migrate the read model to the latest revision."""
    settings = Settings.from_env()
    upgrade_database(settings)
    click.echo(f"database ready: {_safe(settings.database_url)}")


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and ":" in url.split("@", 1)[0].split("//", 1)[-1]:
        scheme, rest = url.split("//", 1)
        credentials, host = rest.split("@", 1)
        return f"{scheme}//{credentials.split(':', 1)[0]}:***@{host}"
    return url
