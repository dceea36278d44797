"""`tracker people`: add, list, invite and deactivate people (the directory outside the event log)."""

from __future__ import annotations

from typing import Any

import click

from cli.common import open_services
from tracker.actors import PERSON_ROLES
from tracker.errors import DomainError

# The actor recorded in the change log for what an operator does at the command line.
CLI_ACTOR = "tracker people"


@click.group("people")
def people() -> None:
    """People: who uses the tracker (their name and address live outside the event log, so they can be erased)."""


@people.command("create")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(PERSON_ROLES))
@click.option("--organisation", "organisation_id", type=click.UUID, help="Required for providers and evaluators.")
@click.option("--locale", default="en", show_default=True)
def people_create(name: str, email: str, role: str, organisation_id: Any, locale: str) -> None:
    """Add a person and print their id."""
    with open_services() as services:
        try:
            if organisation_id is not None:
                services.app.get_organisation(organisation_id)
            person = services.people.create(
                actor_id=CLI_ACTOR, name=name, email=email, role=role, organisation_id=organisation_id, locale=locale
            )
        except DomainError as exc:
            raise click.UsageError(exc.message) from None
    click.echo(person.id)
    click.echo(
        f"added {person.display_name} ({person.role}); a key: tracker keys create --person {person.id} --name NAME",
        err=True,
    )


@people.command("list")
@click.option("--role", type=click.Choice(PERSON_ROLES))
@click.option("--organisation", "organisation_id", type=click.UUID)
@click.option("--query", "q", help="Text in the name or address.")
def people_list(role: str | None, organisation_id: Any, q: str | None) -> None:
    """List people by name."""
    with open_services() as services, services.read_model.reader.connect() as conn:
        found, total = services.people.list(
            conn, role=role, organisation_id=organisation_id, q=q, page=1, page_size=10_000
        )
    click.echo(f"{'id':<37}{'role':<10}{'active':<7}{'name':<30}email")
    for p in found:
        click.echo(f"{p.id!s:<37}{p.role:<10}{'yes' if p.active else 'no':<7}{p.display_name:<30}{p.email or ''}")
    click.echo(f"{total} people", err=True)


@people.command("deactivate")
@click.argument("person_id", type=click.UUID)
def people_deactivate(person_id: Any) -> None:
    """Deactivate a person: every key of theirs stops at once."""
    with open_services() as services:
        try:
            person = services.people.update(person_id, {"active": False}, actor_id=CLI_ACTOR)
        except DomainError as exc:
            raise click.UsageError(exc.message) from None
    click.echo(f"deactivated {person.display_name} ({person.id})")


@people.command("invite")
@click.argument("person_id", type=click.UUID)
def people_invite(person_id: Any) -> None:
    """Print a single-use link, valid for 7 days, where the person sets a password for the pages (an earlier link of
    theirs stops working). The link starts with TRACKER_BASE_URL."""
    with open_services() as services:
        try:
            invitation = services.signin.invite(person_id, actor_id=CLI_ACTOR)
        except DomainError as exc:
            raise click.UsageError(exc.message) from None
        base = services.settings.base_url
    click.echo(f"{base}/invitations/{invitation.token}")
    click.echo(
        f"invitation for {invitation.person.display_name} <{invitation.person.email}>, valid until "
        f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC",
        err=True,
    )
