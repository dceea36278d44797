"""`tracker demo`: the demo data set, its people, and a key and a password for each of them."""

from __future__ import annotations

import secrets
from uuid import UUID

import click

from access.people import Person
from cli.common import open_services
from importers.demo import DEMO_PEOPLE, DemoPerson, demo_organisation
from importers.demo import load as load_demo
from runtime.services import Services
from tracker.actors import Actor

# The actor recorded in the change log of people for what the demo adds.
DEMO_ACTOR = "tracker demo"


def demo_person(services: Services, person: DemoPerson, organisation_id: UUID | None) -> Person:
    """The demo person in the directory of people, added the first time."""
    with services.read_model.reader.connect() as conn:
        found, _ = services.people.list(conn, q=person.email, page_size=5)
    for existing in found:
        if existing.email == person.email:
            return existing
    return services.people.create(
        actor_id=DEMO_ACTOR,
        name=person.name,
        email=person.email,
        role=person.role,
        organisation_id=organisation_id,
    )


@click.group("demo")
def demo() -> None:
    """The demo data set (seed projects, innovations in every stage, an evaluation round), its people and keys."""


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already holds events.")
def demo_load(if_empty: bool) -> None:
    """Load the demo data set through the application's commands, acting as the demo's people."""
    with open_services() as services:
        if if_empty and services.app.current_position() > 0:
            click.echo("store not empty: demo data not loaded", err=True)
            return

        def cast(person: DemoPerson, organisation_id: UUID | None) -> Actor:
            return demo_person(services, person, organisation_id).actor()

        created = load_demo(services.app, cast=cast)
        services.read_model.catch_up()
    click.echo(
        f"demo data loaded: {len(created['ecosystems'])} ecosystems, {len(created['innovations'])} innovations, "
        f"{len(created['people'])} people"
    )


@demo.command("keys")
def demo_keys() -> None:
    """Revoke earlier demo keys and print a fresh key and a fresh password for each demo person."""
    lines: list[str] = []
    sign_ins: list[str] = []
    with open_services() as services:
        base = services.settings.base_url
        services.keys.revoke_demo_keys()
        for person in DEMO_PEOPLE:
            where = demo_organisation(person)
            organisation_id = services.app.find_organisation_id(*where) if where else None
            if where and organisation_id is None:
                raise click.UsageError("demo organisations missing: run 'tracker demo load' first")
            found = demo_person(services, person, organisation_id)
            token, _ = services.keys.create_for(person_id=found.id, name=f"demo-{person.slug}", demo=True)
            lines.append(f"  {person.slug:<12} {token}  {person.name} ({person.role})")
            password = f"demo-{secrets.token_urlsafe(9)}"
            services.signin.set_password(found.id, password, actor_id=DEMO_ACTOR)
            sign_ins.append(f"  {person.slug:<12} {person.email:<32} {password}")
    click.echo("Demo API keys, one per person (send as 'Authorization: Bearer <key>'):")
    click.echo("\n".join(lines))
    click.echo(f"Demo sign-ins for the pages at {base}/login (address and password), one per person:")
    click.echo("\n".join(sign_ins))
