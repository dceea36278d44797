"""`tracker keys`: create, list and revoke API keys."""

from __future__ import annotations

from typing import Any

import click

from access.keys import KeyError_
from cli.common import open_services
from tracker.actors import PERSON_ROLES


@click.group("keys")
def keys() -> None:
    """API keys (stored hashed; a key is shown once, when it is created)."""


@keys.command("create")
@click.option("--person", "person_id", type=click.UUID, help="The person the key belongs to.")
@click.option("--role", type=click.Choice(PERSON_ROLES), help="Without --person: make a person of this role.")
@click.option("--organisation", "organisation_id", type=click.UUID, help="With --role provider or evaluator.")
@click.option("--name", required=True, help="The key's name, unique among the person's active keys.")
def keys_create(person_id: Any, role: str | None, organisation_id: Any, name: str) -> None:
    """Create a key for a person and print it once.

    `--role ROLE [--organisation ORG_ID]` instead of `--person` makes a person of that role named after the key."""
    if (person_id is None) == (role is None):
        raise click.UsageError("give either --person, or --role (which makes a person for the key)")
    if person_id is not None and organisation_id is not None:
        raise click.UsageError("--organisation goes with --role; a person's organisation is their own")
    with open_services() as services:
        if organisation_id is not None:
            services.app.get_organisation(organisation_id)
        try:
            if person_id is not None:
                token, info = services.keys.create_for(person_id=person_id, name=name)
            else:
                assert role is not None
                token, info = services.keys.create(name=name, role=role, organisation_id=organisation_id)
        except KeyError_ as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(token)
    click.echo(f"created key {info.id} ({info.name}, {info.role}, person {info.person_id}); not shown again", err=True)


@keys.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
def keys_list(include_revoked: bool) -> None:
    """List keys (never their secrets)."""
    with open_services() as services:
        rows = services.keys.list(include_revoked=include_revoked)
    click.echo(f"{'id':<17}{'name':<24}{'role':<10}{'organisation':<38}{'created':<21}revoked")
    for k in rows:
        revoked = k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else ""
        organisation = str(k.organisation_id or "")
        click.echo(f"{k.id:<17}{k.name:<24}{k.role:<10}{organisation:<38}{k.created_at:%Y-%m-%d %H:%M}     {revoked}")


@keys.command("revoke")
@click.argument("key")
def keys_revoke(key: str) -> None:
    """Revoke a key by id or name; it fails at once."""
    with open_services() as services:
        try:
            count = services.keys.revoke(key)
        except KeyError_ as exc:
            raise click.UsageError(str(exc)) from None
    if not count:
        raise click.UsageError(f"no active key with id or name {key!r}")
    click.echo(f"revoked {count} key(s)")
