"""Ecosystem: a partnership or network that pilots innovations (a CoVE, a KA2 partnership)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from tracker import limits
from tracker.base import Context, TrackerAggregate
from tracker.errors import DuplicateMembershipError, InvalidDateError, ValidationError
from tracker.validation import choice, day, integer, line, money, text

# The details an ecosystem is registered with, in the order the API lists them.
ECOSYSTEM_DETAILS = (
    "acronym",
    "title",
    "programme",
    "key_action",
    "action_type",
    "project_identifier",
    "call_year",
    "start_date",
    "end_date",
    "eu_grant_eur",
    "is_good_practice",
    "is_success_story",
)
MEMBER_ROLES = ("coordinator", "partner", "associated_partner", "affiliated_entity")
_NAMESPACE = uuid5(NAMESPACE_URL, "https://innovation-ecosystem-tracker/ecosystem")


def ecosystem_id(project_identifier: str | None) -> UUID:
    """Ecosystems with an external project identifier get a stable id from it."""
    if project_identifier:
        return uuid5(_NAMESPACE, project_identifier.strip().upper())
    return uuid4()


def differing_details(stored: dict[str, Any], details: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Which of `details` differ from an ecosystem's `stored` details (as Ecosystem.stored_details gives them), each
    compared as registering it would store it: by name, the stored value and the value the details would store."""
    # The record was checked as registering it now would check it; here only its values matter.
    wanted = Ecosystem.stored_details(latest_call_year=date.max.year, **(stored | details))
    return {name: (stored[name], wanted[name]) for name in details if name in stored and wanted[name] != stored[name]}


class Ecosystem(TrackerAggregate):
    if TYPE_CHECKING:
        acronym: str
        title: str
        programme: str | None
        key_action: str | None
        action_type: str | None
        project_identifier: str | None
        call_year: int | None
        start_date: date | None
        end_date: date | None
        eu_grant_eur: Decimal | None
        is_good_practice: bool
        is_success_story: bool
        members: list[dict[str, Any]]

    @classmethod
    def register(cls, ctx: Context, **details: Any) -> Ecosystem:
        """A new ecosystem with the details Ecosystem.stored_details takes (and checks, or refuses)."""
        stored = cls.stored_details(latest_call_year=ctx.at.year + 1, **details)
        return cls._start(cls.Registered, ctx, id=ecosystem_id(stored["project_identifier"]), **stored)

    @staticmethod
    def stored_details(
        *,
        latest_call_year: int,
        acronym: str,
        title: str,
        programme: str | None = None,
        key_action: str | None = None,
        action_type: str | None = None,
        project_identifier: str | None = None,
        call_year: int | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        eu_grant_eur: Decimal | str | None = None,
        is_good_practice: bool = False,
        is_success_story: bool = False,
    ) -> dict[str, Any]:
        """An ecosystem's details as it is registered with them (trimmed, one-line titles, cents), or the first
        refusal."""
        start = day(start_date, "start_date", required=False)
        end = day(end_date, "end_date", required=False)
        if start and end and end < start:
            raise InvalidDateError("end_date", "must not be before start_date", rule="validation.date.order")
        identifier = text(
            project_identifier, "project_identifier", max_length=limits.PROJECT_IDENTIFIER_MAX, required=False
        )
        for flag, value in (("is_good_practice", is_good_practice), ("is_success_story", is_success_story)):
            if not isinstance(value, bool):
                raise ValidationError(flag, "must be true or false")
        return {
            "acronym": line(acronym, "acronym", max_length=limits.ACRONYM_MAX),
            "title": line(title, "title", max_length=limits.ECOSYSTEM_TITLE_MAX),
            "programme": text(programme, "programme", max_length=limits.PROGRAMME_MAX, required=False),
            "key_action": text(key_action, "key_action", max_length=limits.ACTION_MAX, required=False),
            "action_type": text(action_type, "action_type", max_length=limits.ACTION_MAX, required=False),
            "project_identifier": identifier,
            "call_year": integer(
                call_year, "call_year", low=limits.FIRST_CALL_YEAR, high=latest_call_year, required=False
            ),
            "start_date": start,
            "end_date": end,
            "eu_grant_eur": money(eu_grant_eur, "eu_grant_eur"),
            "is_good_practice": is_good_practice,
            "is_success_story": is_success_story,
        }

    def details(self) -> dict[str, Any]:
        """Its details as stored (ECOSYSTEM_DETAILS): what differing_details compares a source's record with."""
        return {name: getattr(self, name) for name in ECOSYSTEM_DETAILS}

    class Registered(TrackerAggregate.Created):
        acronym: str
        title: str
        programme: str | None
        key_action: str | None
        action_type: str | None
        project_identifier: str | None
        call_year: int | None
        start_date: date | None
        end_date: date | None
        eu_grant_eur: Decimal | None
        is_good_practice: bool
        is_success_story: bool

        def apply(self, aggregate: Any) -> None:
            eco = cast(Ecosystem, aggregate)
            for name in ECOSYSTEM_DETAILS:
                setattr(eco, name, getattr(self, name))
            eco.members = []

    def has_member(self, organisation_id: UUID, role: str | None = None) -> bool:
        return any(m["organisation_id"] == organisation_id and role in (None, m["role"]) for m in self.members)

    def member_ids(self) -> frozenset[UUID]:
        return frozenset(m["organisation_id"] for m in self.members)

    def check_may_hold(self, organisation_id: UUID) -> None:
        """An innovation is placed in an ecosystem its owning organisation is a member of: the ecosystem is where
        it is piloted, and its members are the ones the conflict-of-interest rule keeps from assessing it."""
        if organisation_id not in self.member_ids():
            raise ValidationError(
                "ecosystem_id",
                f"the owning organisation {organisation_id} is not a member of {self.acronym}",
                rule="ecosystem.not_member",
            )

    def add_member(self, ctx: Context, *, organisation_id: UUID, role: str) -> None:
        """One organisation may hold several roles, but each role once; one coordinator."""
        role = choice(role, "role", MEMBER_ROLES)
        if self.has_member(organisation_id, role):
            raise DuplicateMembershipError(f"organisation {organisation_id} is already a {role} of {self.acronym}")
        if role == "coordinator" and any(m["role"] == "coordinator" for m in self.members):
            raise DuplicateMembershipError(
                f"{self.acronym} already has a coordinator", rule="duplicate.membership.coordinator"
            )
        self._record(self.MemberJoined, ctx, organisation_id=organisation_id, role=role)

    class MemberJoined(TrackerAggregate.Event):
        organisation_id: UUID
        role: str

        def apply(self, aggregate: Any) -> None:
            cast(Ecosystem, aggregate).members.append(
                {"organisation_id": self.organisation_id, "role": self.role, "joined_at": self.timestamp}
            )
