"""Organisation: a VET school, company, university, NGO, authority, chamber or other body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from uuid import NAMESPACE_URL, UUID, uuid5

from tracker import limits
from tracker.base import Context, TrackerAggregate
from tracker.validation import choice, country_code, line, normalise_name, text, url

ORGANISATION_KINDS = (
    "vet_provider",
    "company",
    "higher_education",
    "ngo",
    "public_authority",
    "chamber",
    "research",
    "other",
)
_NAMESPACE = uuid5(NAMESPACE_URL, "https://innovation-ecosystem-tracker/organisation")


def organisation_id(name: str, country: str) -> UUID:
    """The same normalised name in the same country always gives the same id."""
    return uuid5(_NAMESPACE, f"{normalise_name(name)}|{country_code(country)}")


class Organisation(TrackerAggregate):
    if TYPE_CHECKING:
        name: str
        country: str
        kind: str
        pic: str | None
        oid: str | None
        website: str | None

    @classmethod
    def register(
        cls,
        ctx: Context,
        *,
        name: str,
        country: str,
        kind: str,
        pic: str | None = None,
        oid: str | None = None,
        website: str | None = None,
    ) -> Organisation:
        clean_name = line(name, "name", max_length=limits.NAME_MAX)
        code = country_code(country)
        return cls._start(
            cls.Registered,
            ctx,
            id=organisation_id(clean_name, code),
            name=clean_name,
            country=code,
            kind=choice(kind, "kind", ORGANISATION_KINDS),
            pic=text(pic, "pic", max_length=limits.IDENTIFIER_MAX, required=False),
            oid=text(oid, "oid", max_length=limits.IDENTIFIER_MAX, required=False),
            website=url(website, "website"),
        )

    class Registered(TrackerAggregate.Created):
        name: str
        country: str
        kind: str
        pic: str | None
        oid: str | None
        website: str | None

        def apply(self, aggregate: Any) -> None:
            org = cast(Organisation, aggregate)
            org.name = self.name
            org.country = self.country
            org.kind = self.kind
            org.pic = self.pic
            org.oid = self.oid
            org.website = self.website
