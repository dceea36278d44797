"""The `tracker` command line: database setup, people and API keys, demo data, projections, the outbox and audit
checks.

The root group; each command group lives in its own module (cli.database, cli.keys, cli.people, cli.imports, cli.demo,
cli.projections, cli.outbox, cli.audit)."""

from __future__ import annotations

import click

from cli import audit, database, demo, imports, keys, outbox, people, projections


@click.group()
def main() -> None:
    """Innovation Ecosystem Tracker administration (store chosen by TRACKER_DATABASE_URL)."""


main.add_command(database.db)
main.add_command(keys.keys)
main.add_command(people.people)
main.add_command(imports.import_)
main.add_command(demo.demo)
main.add_command(projections.projections)
main.add_command(audit.audit)
main.add_command(outbox.outbox)
