"""The `tracker` command line: database setup, people and API keys, demo data, projections, the outbox and audit
checks.

The root group; each command group lives in its own module (cli.database, cli.keys, cli.people, cli.imports, cli.demo,
cli.projections, cli.outbox, cli.audit), imported only when its command runs or the help lists it: a worker started
by `tracker projections run` then loads neither the importers nor the web app the outbox renders its e-mails with."""

from __future__ import annotations

import importlib
import os
import re
import sqlite3

import click
import psycopg

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

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; what an operator can put right (a setting, a store not set up or unreachable, a refusal
        of the domain) is said in a line, without a traceback. Anything else keeps its traceback: it is a fault."""
        try:
            return super().invoke(ctx)
        except click.exceptions.ClickException:
            raise
        except Exception as error:
            said = operator_message(error)
            if said is None:
                raise
            raise click.ClickException(said) from error

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


def operator_message(error: BaseException) -> str | None:
    """What to tell the operator of an error a command met, or None where it is not theirs to put right."""
    from storage.config import StoreConfigError
    from storage.errors import STORE_ERRORS, said
    from tracker.errors import DomainError

    if isinstance(error, StoreConfigError) or (isinstance(error, ValueError) and str(error).startswith("TRACKER_")):
        return f"configuration: {error}"
    if isinstance(error, DomainError):
        return f"refused: {error.message}"
    if not isinstance(error, STORE_ERRORS):
        return None
    text = str(getattr(error, "orig", None) or error)
    first = said(error)
    store = _store_named()
    if "no such table" in text or ("does not exist" in text and "relation" in text):
        return f"the store {store} is not set up (or not upgraded): run `tracker db upgrade` first ({first})"
    if "readonly database" in text or "read-only" in text:
        return f"the store {store} cannot be written: {first}"
    if _unreachable(error) or _unreachable(getattr(error, "orig", None)):
        return f"the store {store} cannot be reached: {_why_unreachable() or first}"
    return None


def _why_unreachable() -> str | None:
    """What PostgreSQL says to one plain connection (a pool that got none says only that it got none): no such
    database, a role refused, no server answering. None where it connects, or the store is not PostgreSQL."""
    from storage.config import DEFAULT_DATABASE_URL, StoreConfig

    try:
        config = StoreConfig.from_url(os.environ.get("TRACKER_DATABASE_URL", DEFAULT_DATABASE_URL))
        if config.kind != "postgresql":
            return None
        with config.connect(connect_timeout=2):
            return None
    except psycopg.Error as error:
        said = str(error).strip()
        return said.splitlines()[-1].strip() if said else None
    except ValueError:
        return None


def _unreachable(error: BaseException | None) -> bool:
    """A connection that could not be made: PostgreSQL's connection errors (SQLSTATE class 08, a role refused (28) or
    no such database (3D), or none at all where no server answered), a pool that got no connection, a SQLite file
    that cannot be opened. Not a fault of a statement, which keeps its traceback."""
    from eventsourcing.persistence import InterfaceError, OperationalError

    if isinstance(error, psycopg.OperationalError):
        return error.sqlstate is None or error.sqlstate[:2] in ("08", "28", "3D")
    if isinstance(error, sqlite3.OperationalError):
        return "unable to open" in str(error)
    if isinstance(error, (OperationalError, InterfaceError)):
        return "connection" in str(error)
    return False


def _store_named() -> str:
    """TRACKER_DATABASE_URL as a message may show it (without its password)."""
    from storage.config import DEFAULT_DATABASE_URL

    url = os.environ.get("TRACKER_DATABASE_URL", DEFAULT_DATABASE_URL)
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)
