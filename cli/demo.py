"""`tracker demo`: the demo data set and the demo keys."""

from __future__ import annotations

import click

from cli.common import open_services
from importers.demo import DEMO_KEYS, provider_name
from importers.demo import load as load_demo


@click.group("demo")
def demo() -> None:
    """The demo data set (seed projects, innovations in every stage) and demo keys."""


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already holds events.")
def demo_load(if_empty: bool) -> None:
    """Load the demo data set through the application's commands."""
    with open_services() as services:
        if if_empty and services.app.current_position() > 0:
            click.echo("store not empty: demo data not loaded", err=True)
            return
        created = load_demo(services.app)
        services.read_model.catch_up()
    click.echo(f"demo data loaded: {len(created['ecosystems'])} ecosystems, {len(created['innovations'])} innovations")


@demo.command("keys")
def demo_keys() -> None:
    """Revoke earlier demo keys and print a fresh key for each role."""
    with open_services() as services:
        services.keys.revoke_demo_keys()
        lines = []
        for name, role, org in DEMO_KEYS:
            organisation_id = None
            if org is not None:
                org_name, country = (provider_name(org[0]), org[0]) if len(org) == 1 else org
                organisation_id = services.app.find_organisation_id(org_name, country)
                if organisation_id is None:
                    raise click.UsageError("demo organisations missing: run 'tracker demo load' first")
            token, _ = services.keys.create(name=name, role=role, organisation_id=organisation_id, demo=True)
            lines.append(f"  {role:<10} {token}")
    click.echo("Demo API keys (send as 'Authorization: Bearer <key>'):")
    click.echo("\n".join(lines))
