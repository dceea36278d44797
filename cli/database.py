"""`tracker db`: the event store and read-model schema."""

from __future__ import annotations

from pathlib import Path

import click

from bootstrap import upgrade_database
from cli.common import configuration_errors
from runtime.settings import Settings
from runtime.workers import AcknowledgedMark
from storage import backup
from storage.config import StoreConfig
from storage.locks import StoreOpen, sqlite_writer_lock


@click.group("db")
def db() -> None:
    """The event store and read-model schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the event tables and migrate the read model to the latest revision."""
    settings = Settings.from_env()
    upgrade_database(settings)
    config = StoreConfig.from_url(settings.database_url)
    # A relative SQLite path is relative to where the command runs: say which file that is.
    where = f" ({Path(config.path).resolve()})" if config.kind == "sqlite" and config.path else ""
    click.echo(f"database ready: {_safe(settings.database_url)}{where}")


@db.command("backup")
@click.argument("target", type=click.Path(dir_okay=False))
def db_backup(target: str) -> None:
    """Copy the SQLite store whole into the new file TARGET, with SQLite's online backup (the servers may run)."""
    path = _sqlite_path("back up", "pg_dump")
    with configuration_errors():
        position = backup.backup(path, target)
    click.echo(f"backed up {path} to {target}: the log up to position {position}")


@db.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
def db_restore(source: str) -> None:
    """Replace the SQLite store's content with the backup SOURCE. Stop the web processes first.

    Through SQLite, never by copying the file: a copy over the store leaves its write-ahead log beside it, which
    SQLite then applies to the copy."""
    path = _sqlite_path("restore", "pg_restore")
    with configuration_errors(), StoreOpen(path).alone() as alone:
        if not alone:
            raise click.ClickException(
                f"a process has {path} open (a web worker, or a `tracker` command): stop them all first"
            )
        with sqlite_writer_lock(path):
            position, kept = backup.restore(source, path)
            # Reads wait for the highest write any process acknowledged: none beyond the restored log's end.
            AcknowledgedMark(path).clamp(position)
    click.echo(f"restored {path} from {source}: the log up to position {position}")
    if kept is not None:
        click.echo(f"the store as it was before is kept in {kept}; remove it once the restore is checked")
    click.echo("next: `tracker db upgrade`, then `tracker audit verify --position N --hash H` against a head published")
    click.echo("before the backup was taken (docs/operations.md, Backups)")


def _sqlite_path(doing: str, tool: str) -> str:
    with configuration_errors():
        config = StoreConfig.from_url(Settings.from_env().database_url)
    if config.kind != "sqlite" or config.path is None:
        raise click.ClickException(f"`tracker db` can {doing} a SQLite store only: use PostgreSQL's {tool}")
    return str(Path(config.path).resolve())


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and ":" in url.split("@", 1)[0].split("//", 1)[-1]:
        scheme, rest = url.split("//", 1)
        credentials, host = rest.split("@", 1)
        return f"{scheme}//{credentials.split(':', 1)[0]}:***@{host}"
    return url
