"""The tracker application: one method per use case, over an eventsourcing store."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, RecordConflictError
from eventsourcing.utils import Environment, EnvType

from tracker import event_types, limits
from tracker.actors import Actor
from tracker.base import Context, TrackerAggregate
from tracker.ecosystem import Ecosystem
from tracker.errors import (
    DuplicateEcosystemError,
    DuplicateOrganisationError,
    NotFoundError,
    ValidationError,
    VersionConflictError,
)
from tracker.innovation import Innovation
from tracker.organisation import Organisation, organisation_id
from tracker.records import Caller, EventRecord, Receipt, describe
from tracker.transcodings import DateAsISO
from tracker.validation import text

A = TypeVar("A", bound=TrackerAggregate)

COMMAND_RETRIES = 20
# Notifications read per page when the log is read through for one aggregate's positions.
_LOG_PAGE = 10_000


def utc_now() -> datetime:
    return datetime.now(UTC)


# What rebuilds an aggregate from its events (the library's ProjectorFunction).
Projector = Callable[[Any, Iterable[Any]], Any]


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply `events` in turn to `aggregate` (None before the first): the library's project_aggregate without its
    assertion that each event matches a runtime-checkable Protocol. On Python 3.11 that isinstance check walks the
    Protocol's members on every call, several times what applying the event costs, and every load ran it once per
    event. Every event here is an Aggregate event, whose mutate the check is for."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class TrackerRepository(Repository[UUID]):
    """The library's repository, its aggregates rebuilt by `replay` unless a caller gives another projector
    (an existence check, `id in repository`, loads the aggregate the same way)."""

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: Projector = replay,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        return super().get(
            aggregate_id,
            version=version,
            projector_func=projector_func,
            fastforward_skipping=fastforward_skipping,
            deepcopy_from_cache=deepcopy_from_cache,
        )


class TrackerApplication(Application[UUID]):
    """The use cases over an eventsourcing store. Over a real store, open it with storage.application (the
    composition root does), which adds what SQLite and PostgreSQL need; this class alone suits the in-memory store."""

    name = "tracker"
    snapshotting_intervals: ClassVar[dict[type[Aggregate], int]] = {Innovation: 100}
    snapshotting_projectors: ClassVar[dict[type[Aggregate], Projector]] = {Innovation: replay}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(env)
        self.clock = clock

    def construct_repository(self) -> Repository[UUID]:
        # The library's repository, built from the environment as the library builds it, with `replay` as its
        # projector: a subclass that adds no state, so the instance takes the subclass as it is.
        repository = super().construct_repository()
        repository.__class__ = TrackerRepository
        return repository

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        environment = super().construct_env(name, env)
        # eventsourcing also reads os.environ, where TRACKER_<SETTING> outranks <SETTING>: the settings given here win.
        for key in dict(env or {}):
            environment.pop(f"{name.upper()}_{key}", None)
        return environment

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # ---- organisations and ecosystems --------------------------------------------------

    def register_organisation(self, *, actor: Actor, correlation_id: str | None = None, **organisation: Any) -> Receipt:
        """Register an organisation (Organisation.register); the same name in the same country is refused."""
        org = Organisation.register(self._context(actor, correlation_id), **organisation)
        if org.id in self.repository:
            raise DuplicateOrganisationError(
                f"an organisation named {org.name!r} in {org.country} already exists", existing_id=org.id
            )
        try:
            return self._save(org)
        except RecordConflictError:
            raise DuplicateOrganisationError(
                f"an organisation named {org.name!r} in {org.country} already exists", existing_id=org.id
            ) from None

    def check_registrations(
        self, *, actor: Actor, members: list[tuple[dict[str, Any], str]], ecosystem: dict[str, Any]
    ) -> None:
        """Raise the error that registering these organisations, and the ecosystem with them as members in their
        roles (or adding them to it, where it exists), would raise, writing nothing: an import checks a whole record
        before it writes any part of it. (That an organisation exists already is not an error here.)"""
        ctx = self._context(actor, None)
        found = []
        for fields, role in members:
            try:
                found.append((Organisation.register(ctx, **fields).id, role))
            except ValidationError as error:  # a record names many organisations: say which one
                named = str(fields.get("name") or "")
                shown = named if len(named) <= 60 else f"{named[:60]}…"
                raise type(error)(
                    f"organisation.{error.field}", f"{error.field_message} ({shown!r})", rule=error.rule
                ) from None
        eco = Ecosystem.register(ctx, **ecosystem)
        if eco.project_identifier and eco.id in self.repository:
            eco = self.get_ecosystem(eco.id)
        for org_id, role in found:
            if not eco.has_member(org_id, role):
                eco.add_member(ctx, organisation_id=org_id, role=role)

    def find_organisation_id(self, name: str, country: str) -> UUID | None:
        """The id an organisation with this name and country has, if it is registered."""
        candidate = organisation_id(name, country)
        return candidate if candidate in self.repository else None

    def register_ecosystem(
        self,
        *,
        actor: Actor,
        acronym: str,
        title: str,
        members: list[tuple[UUID, str]] | None = None,
        correlation_id: str | None = None,
        **details: Any,
    ) -> Receipt:
        ctx = self._context(actor, correlation_id)
        eco = Ecosystem.register(ctx, acronym=acronym, title=title, **details)
        for org_id, role in members or []:
            self.get_organisation(org_id)
            eco.add_member(ctx, organisation_id=org_id, role=role)
        if eco.project_identifier and eco.id in self.repository:
            raise DuplicateEcosystemError(
                f"an ecosystem for project {eco.project_identifier} already exists", existing_id=eco.id
            )
        try:
            return self._save(eco)
        except RecordConflictError:
            raise DuplicateEcosystemError(
                f"an ecosystem for project {eco.project_identifier} already exists", existing_id=eco.id
            ) from None

    def add_ecosystem_member(
        self,
        ecosystem_id: UUID,
        *,
        actor: Actor,
        organisation_id: UUID,
        role: str,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Receipt:
        self.get_organisation(organisation_id)
        return self._change(
            Ecosystem,
            ecosystem_id,
            Caller(actor, expected_version, correlation_id),
            lambda eco, ctx: eco.add_member(ctx, organisation_id=organisation_id, role=role),
        )

    # ---- innovations -------------------------------------------------------------------

    def submit_innovation(
        self,
        *,
        actor: Actor,
        organisation_id: UUID,
        ecosystem_id: UUID | None = None,
        innovation_id: UUID | None = None,
        correlation_id: str | None = None,
        **details: Any,
    ) -> Receipt:
        """Submit an innovation of an organisation, optionally in an ecosystem (Innovation.submit)."""
        ctx = self._context(actor, correlation_id)
        self.get_organisation(organisation_id)
        if ecosystem_id is not None:
            self.get_ecosystem(ecosystem_id).check_may_hold(organisation_id)
        innovation = Innovation.submit(
            ctx, id=innovation_id or uuid4(), organisation_id=organisation_id, ecosystem_id=ecosystem_id, **details
        )
        try:
            return self._save(innovation)
        except RecordConflictError:
            raise VersionConflictError(innovation.id, None, 1) from None

    def revise_innovation(
        self,
        innovation_id: UUID,
        changes: dict[str, Any],
        *,
        actor: Actor,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Receipt:
        """Revise title, summary, themes, target groups or readiness level (Innovation.revise)."""
        caller = Caller(actor, expected_version, correlation_id)
        return self._change(Innovation, innovation_id, caller, lambda inn, ctx: inn.revise(ctx, changes))

    def start_pilot(self, innovation_id: UUID, *, actor: Actor, site_organisation_id: UUID, **pilot: Any) -> Receipt:
        """Start a pilot at a site organisation (Innovation.start_pilot); the receipt's item is the pilot's id."""
        self.get_organisation(site_organisation_id)
        caller = Caller.take(actor, pilot)
        pilot_id = uuid4()
        return self._change(
            Innovation,
            innovation_id,
            caller,
            lambda inn, ctx: inn.start_pilot(
                ctx, pilot_id=pilot_id, site_organisation_id=site_organisation_id, **pilot
            ),
            pilot_id,
        )

    def record_pilot_outcome(self, innovation_id: UUID, pilot_id: UUID, *, actor: Actor, **outcome: Any) -> Receipt:
        """Record a pilot's outcome (Innovation.record_pilot_outcome)."""
        caller = Caller.take(actor, outcome)
        return self._change(
            Innovation,
            innovation_id,
            caller,
            lambda inn, ctx: inn.record_pilot_outcome(ctx, pilot_id=pilot_id, **outcome),
            pilot_id,
        )

    def add_evidence(self, innovation_id: UUID, *, actor: Actor, **evidence: Any) -> Receipt:
        """Add an evidence item (Innovation.add_evidence); the receipt's item is its id."""
        caller = Caller.take(actor, evidence)
        evidence_id = uuid4()
        return self._change(
            Innovation,
            innovation_id,
            caller,
            lambda inn, ctx: inn.add_evidence(ctx, evidence_id=evidence_id, **evidence),
            evidence_id,
        )

    def record_assessment(self, innovation_id: UUID, *, actor: Actor, **assessment: Any) -> Receipt:
        """Record a rubric assessment (Innovation.record_assessment); the receipt carries the assessment recorded."""
        caller = Caller.take(actor, assessment)
        assessment_id = uuid4()
        receipt = self._change(
            Innovation,
            innovation_id,
            caller,
            lambda inn, ctx: inn.record_assessment(
                ctx, assessment_id=assessment_id, ecosystem_members=self.ecosystem_members(inn), **assessment
            ),
            assessment_id,
        )
        return replace(receipt, recorded=receipt.aggregate.assessment(assessment_id))

    def decide_gate(self, innovation_id: UUID, *, actor: Actor, **decision: Any) -> Receipt:
        """Take a gate decision: advance, hold, resume, recycle or discontinue (Innovation.decide)."""
        caller = Caller.take(actor, decision)
        return self._change(
            Innovation,
            innovation_id,
            caller,
            lambda inn, ctx: inn.decide(ctx, ecosystem_members=self.ecosystem_members(inn), **decision),
        )

    def record_adoption(self, innovation_id: UUID, *, actor: Actor, organisation_id: UUID, **adoption: Any) -> Receipt:
        """Record an adoption by an organisation (Innovation.record_adoption); the receipt's item is its id."""
        self.get_organisation(organisation_id)
        caller = Caller.take(actor, adoption)
        adoption_id = uuid4()
        return self._change(
            Innovation,
            innovation_id,
            caller,
            lambda inn, ctx: inn.record_adoption(
                ctx, adoption_id=adoption_id, organisation_id=organisation_id, **adoption
            ),
            adoption_id,
        )

    # ---- evaluation rounds: people are named by id, their organisation by the caller (see tracker.evaluation) ----

    def assign_evaluator(self, innovation_id: UUID, *, actor: Actor, **assignment: Any) -> Receipt:
        """Assign an evaluator at the current stage: evaluator_id, evaluator_organisation_id, due_on."""
        caller = Caller.take(actor, assignment)
        return self._change(
            Innovation,
            innovation_id,
            caller,
            lambda inn, ctx: inn.assign_evaluator(ctx, ecosystem_members=self.ecosystem_members(inn), **assignment),
        )

    def unassign_evaluator(self, innovation_id: UUID, evaluator_id: str, *, actor: Actor, **fields: Any) -> Receipt:
        """End an evaluator's assignment at the current stage, unless they already assessed at it."""
        caller = Caller.take(actor, fields)
        return self._change(
            Innovation, innovation_id, caller, lambda inn, ctx: inn.unassign_evaluator(ctx, evaluator_id=evaluator_id)
        )

    def add_note(self, innovation_id: UUID, *, actor: Actor, **note: Any) -> Receipt:
        """Write a deliberation note (body, reply_to); the receipt's item is its id."""
        caller = Caller.take(actor, note)
        note_id = uuid4()
        return self._change(
            Innovation, innovation_id, caller, lambda inn, ctx: inn.add_note(ctx, note_id=note_id, **note), note_id
        )

    # ---- reads and time travel ---------------------------------------------------------

    def get_organisation(self, organisation_id: UUID) -> Organisation:
        return self._get(Organisation, organisation_id)

    def get_ecosystem(self, ecosystem_id: UUID) -> Ecosystem:
        return self._get(Ecosystem, ecosystem_id)

    def get_innovation(
        self, innovation_id: UUID, *, version: int | None = None, as_of: datetime | None = None
    ) -> Innovation:
        """The innovation now, at a version, or as it stood at an instant (replayed from its events)."""
        if version is not None and as_of is not None:
            raise ValidationError("as_of", "give either a version or an instant, not both")
        if as_of is not None:
            version = self.version_at(innovation_id, as_of)
        if version is not None and version < 1:
            raise ValidationError("version", "must be at least 1")
        innovation = self._get(Innovation, innovation_id, version=version)
        if version is not None and innovation.version != version:
            raise NotFoundError("innovation", f"{innovation_id} version {version}")
        return innovation

    def owner_of(self, innovation_id: UUID) -> UUID:
        """The organisation that submitted an innovation, read from its first event alone: only the submission names
        the owner (Innovation.Submitted), and no later event changes it."""
        if isinstance(innovation_id, UUID):
            for event in self.events.get(innovation_id, lte=1):
                if isinstance(event, Innovation.Submitted):
                    return event.organisation_id
        raise NotFoundError("innovation", innovation_id)

    def version_at(self, aggregate_id: UUID, at: datetime) -> int:
        """The aggregate's version as it stood at an instant."""
        if at.tzinfo is None:
            raise ValidationError("as_of", "must include a time zone")
        version = 0
        for event in self.events.get(aggregate_id):
            if event.timestamp > at:
                break
            version = event.originator_version
        if version == 0:
            raise NotFoundError("innovation", f"{aggregate_id} as of {at.isoformat()}")
        return version

    def history(self, aggregate_id: UUID) -> list[EventRecord]:
        """Every event of one aggregate in order, with log position, actor and data."""
        positions = self.event_positions(aggregate_id)
        records = [describe(e, positions.get(e.originator_version)) for e in self.events.get(aggregate_id)]
        if not records:
            raise NotFoundError("aggregate", aggregate_id)
        return records

    def read_log(
        self, after: int, limit: int, names: Collection[str] = (), *, upto: int | None = None
    ) -> list[EventRecord]:
        """The events after log position `after`, in order, at most `limit`; only those named (event_types.NAMES)
        when `names` is given, and none after position `upto` when it is given."""
        notifications = self.recorder.select_notifications(
            after + 1, limit, stop=upto, topics=event_types.topics(sorted(names))
        )
        return [describe(self.mapper.to_domain_event(n), n.id) for n in notifications]

    def current_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def event_positions(self, aggregate_id: UUID) -> dict[int, int]:
        """Map each stored version of an aggregate to its log position, by reading the log through.

        Stores with an index by aggregate answer faster (storage.application overrides this)."""
        found: dict[int, int] = {}
        start = 1
        while True:
            page = self.recorder.select_notifications(start, _LOG_PAGE)
            for notification in page:
                if notification.originator_id == aggregate_id:
                    found[notification.originator_version] = notification.id
            if len(page) < _LOG_PAGE:
                return found
            start = page[-1].id + 1

    # ---- plumbing ----------------------------------------------------------------------

    def _context(self, actor: Actor, correlation_id: str | None) -> Context:
        if not isinstance(actor, Actor):
            raise ValidationError("actor", "every command needs an actor")
        at = self.clock()
        if at.tzinfo is None:
            raise ValueError("the application clock must return aware datetimes")
        return Context(
            actor, at.astimezone(UTC), text(correlation_id, "correlation_id", max_length=limits.ID_MAX, required=False)
        )

    def _get(self, cls: type[A], aggregate_id: UUID, version: int | None = None) -> A:
        if not isinstance(aggregate_id, UUID):
            raise NotFoundError(cls.__name__.lower(), aggregate_id)
        try:
            aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise NotFoundError(cls.__name__.lower(), aggregate_id) from None
        if not isinstance(aggregate, cls):
            raise NotFoundError(cls.__name__.lower(), aggregate_id)
        return aggregate

    def ecosystem_members(self, innovation: Innovation) -> frozenset[UUID]:
        """The organisations of the innovation's ecosystem (for the conflict-of-interest rule)."""
        if innovation.ecosystem_id is None:
            return frozenset()
        return self.get_ecosystem(innovation.ecosystem_id).member_ids()

    def _save(self, aggregate: TrackerAggregate, item_id: UUID | None = None) -> Receipt:
        recordings = self.save(aggregate)
        position = recordings[-1].notification.id if recordings else None
        return Receipt(aggregate.id, aggregate.version, position, aggregate, item_id)

    def _change(
        self,
        cls: type[A],
        aggregate_id: UUID,
        caller: Caller,
        command: Callable[[A, Context], Any],
        item_id: UUID | None = None,
    ) -> Receipt:
        """Load, run the command, save; retry on a lost race unless the caller pinned a version."""
        expected_version = caller.expected_version
        loaded = caller.loaded
        if expected_version is not None and getattr(loaded, "version", None) != expected_version:
            loaded = None  # only a load can tell whether the pinned version is still the current one
        for _ in range(COMMAND_RETRIES):
            if isinstance(loaded, cls) and loaded.id == aggregate_id and not loaded.pending_events:
                aggregate, loaded = loaded, None
            else:
                aggregate = self._get(cls, aggregate_id)
            if expected_version is not None and aggregate.version != expected_version:
                raise VersionConflictError(aggregate_id, expected_version, aggregate.version)
            command(aggregate, self._context(caller.actor, caller.correlation_id))
            if not aggregate.pending_events:
                return Receipt(aggregate.id, aggregate.version, None, aggregate, item_id)
            try:
                return self._save(aggregate, item_id)
            except RecordConflictError:
                if expected_version is not None:
                    raise VersionConflictError(aggregate_id, expected_version, None) from None
        raise VersionConflictError(aggregate_id, expected_version, None)
