"""The application contract for organisations and ecosystems, on the in-memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from tests.contract import refused
from tests.world import ADMIN, World
from tracker.application import TrackerApplication
from tracker.errors import (
    DomainError,
    DuplicateEcosystemError,
    DuplicateMembershipError,
    DuplicateOrganisationError,
    InvalidCountryError,
    InvalidDateError,
    NotFoundError,
    ValidationError,
    VersionConflictError,
)

# ---- organisations ----------------------------------------------------------------------


def test_register_organisation_stores_iso_country_when_given_eu_code(app: TrackerApplication) -> None:
    receipt = app.register_organisation(
        actor=ADMIN, name="  Hellenic   VET  School ", country="EL", kind="vet_provider"
    )
    org = app.get_organisation(receipt.aggregate_id)
    assert (org.name, org.country, receipt.version) == ("Hellenic VET School", "GR", 1)
    assert receipt.position == app.current_position()


def test_register_organisation_is_refused_when_normalised_name_and_country_repeat(app: TrackerApplication) -> None:
    app.register_organisation(actor=ADMIN, name="Kold College", country="DK", kind="vet_provider")
    with refused(app, DuplicateOrganisationError, "duplicate.organisation"):
        app.register_organisation(actor=ADMIN, name="  KOLD   college ", country="dk", kind="company")
    other = app.register_organisation(actor=ADMIN, name="Kold College", country="SE", kind="vet_provider")
    assert app.get_organisation(other.aggregate_id).country == "SE"
    assert app.find_organisation_id("kold COLLEGE", "DK") is not None


@pytest.mark.parametrize(
    ("fields", "error", "rule"),
    [
        ({"country": "XX"}, InvalidCountryError, "validation.country"),
        ({"country": "Denmark"}, InvalidCountryError, "validation.country"),
        ({"kind": "club"}, ValidationError, "validation.kind"),
        ({"name": "   "}, ValidationError, "validation.name"),
        ({"name": "x" * 301}, ValidationError, "validation.name"),
        ({"name": "bad\x00name"}, ValidationError, "validation.name"),
        ({"website": "not a url"}, ValidationError, "validation.website"),
    ],
)
def test_register_organisation_is_refused_when_a_field_is_invalid(
    app: TrackerApplication, fields: dict[str, str], error: type[DomainError], rule: str
) -> None:
    base = {"name": "Valid School", "country": "FI", "kind": "vet_provider"} | fields
    with refused(app, error, rule):
        app.register_organisation(actor=ADMIN, **base)


# ---- ecosystems -------------------------------------------------------------------------


def test_register_ecosystem_keeps_members_roles_and_exact_grant(world: World) -> None:
    eco = world.app.get_ecosystem(world.ecosystem)
    assert eco.eu_grant_eur == Decimal("136836.00")
    assert [(m["organisation_id"], m["role"]) for m in eco.members] == [
        (world.owner, "coordinator"),
        (world.member, "partner"),
    ]
    assert eco.version == 3


def test_ecosystem_member_may_hold_two_roles_but_each_role_once(world: World) -> None:
    app = world.app
    app.add_ecosystem_member(world.ecosystem, actor=ADMIN, organisation_id=world.member, role="associated_partner")
    with refused(app, DuplicateMembershipError, "duplicate.membership"):
        app.add_ecosystem_member(world.ecosystem, actor=ADMIN, organisation_id=world.member, role="partner")
    with refused(app, DuplicateMembershipError, "duplicate.membership.coordinator"):
        app.add_ecosystem_member(world.ecosystem, actor=ADMIN, organisation_id=world.site, role="coordinator")
    with refused(app, ValidationError, "validation.role"):
        app.add_ecosystem_member(world.ecosystem, actor=ADMIN, organisation_id=world.site, role="sponsor")
    with refused(app, NotFoundError, "not_found.organisation"):
        app.add_ecosystem_member(world.ecosystem, actor=ADMIN, organisation_id=uuid4(), role="partner")
    assert len(app.get_ecosystem(world.ecosystem).members) == 3


def test_add_ecosystem_member_is_refused_when_expected_version_is_stale(world: World) -> None:
    with refused(world.app, VersionConflictError, "version_conflict"):
        world.app.add_ecosystem_member(
            world.ecosystem, actor=ADMIN, organisation_id=world.site, role="partner", expected_version=2
        )


def test_register_ecosystem_is_refused_when_project_identifier_repeats_or_dates_are_reversed(world: World) -> None:
    app = world.app
    with refused(app, DuplicateEcosystemError, "duplicate.ecosystem"):
        app.register_ecosystem(
            actor=ADMIN, acronym="VISION2", title="Again", project_identifier="2020-1-lt01-ka202-077843"
        )
    with refused(app, InvalidDateError, "validation.date.order"):
        app.register_ecosystem(actor=ADMIN, acronym="X", title="X", start_date="2021-01-01", end_date="2020-12-31")
    with refused(app, InvalidDateError, "validation.date"):
        app.register_ecosystem(actor=ADMIN, acronym="X", title="X", start_date="2021-02-30")
    with refused(app, ValidationError, "validation.eu_grant_eur"):
        app.register_ecosystem(actor=ADMIN, acronym="X", title="X", eu_grant_eur="-5")
    with refused(app, ValidationError, "validation.eu_grant_eur"):
        app.register_ecosystem(actor=ADMIN, acronym="X", title="X", eu_grant_eur="1.234")
    with refused(app, NotFoundError, "not_found.organisation"):
        app.register_ecosystem(actor=ADMIN, acronym="X", title="X", members=[(uuid4(), "partner")])
