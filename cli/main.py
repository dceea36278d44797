"""The `tracker` command line: database setup, people and API keys, demo data, projections, the outbox and audit
checks.

The root group; each command group lives in its own module (cli.database, cli.keys, cli.people, cli.imports, cli.demo,
cli.projections, cli.outbox, cli.audit), imported only when its command runs or the help lists it: a worker started
by `tracker projections run` then loads neither the importers nor the web app the outbox renders its e-mails with."""

from __future__ import annotations

import importlib

import click

# Each command: the module that defines it, and its name there.
COMMANDS = {
    "db": ("cli.database", "db"),
    "keys": ("cli.keys", "keys"),
    "people": ("cli.people", "people"),
    "import": ("cli.imports", "import_"),
    "demo": ("cli.demo", "demo"),
    "projections": ("cli.projections", "projections"),
    "audit": ("cli.audit", "audit"),
    "outbox": ("cli.outbox", "outbox"),
}


class Commands(click.Group):
    """A group whose commands are imported from their modules when they are looked up (click's lazy-loading
    pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as error:
            # click suggests close names from the commands it holds, and this group holds none until asked.
            raise click.exceptions.NoSuchCommand(error.command_name, possibilities=list(COMMANDS), ctx=ctx) from None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command), f"{module}.{name} is not a click command"
        return command


@click.group(cls=Commands)
def main() -> None:
    """Innovation Ecosystem Tracker administration (store chosen by TRACKER_DATABASE_URL)."""
