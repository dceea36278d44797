"""Deriving the outbox from the event log, exactly once: for each event, a delivery to every active endpoint whose
event types match, and the e-mails it calls for, written in the same transaction as the outbox's tracked position.

A crash before the commit leaves neither the rows nor the position; after it, both. So no event is derived twice and
none is skipped, whichever process (or how many) derives."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from access.tables import people
from outbox import tracking
from outbox.endpoints import Endpoint, delivery_row, endpoint_of
from outbox.tables import deliveries, emails, outbox_tracking, webhook_endpoints
from outbox.tracking import NAME
from projections.clock import utc_now
from projections.migrate import check_schema, revisions_of
from tracker import event_types
from tracker.application import TrackerApplication
from tracker.records import EventRecord

BATCH_SIZE = 1000
# How many innovations' owning organisations a derivation remembers (a few hundred kilobytes).
OWNERS_REMEMBERED = 10_000
# The e-mails events call for, by the kind a person can turn off.
EVALUATOR_ASSIGNED = "evaluator_assigned"
GATE_DECISION = "gate_decision"
INVITATION = "invitation"
ENDPOINT_DISABLED = "endpoint_disabled"
EMAIL_KINDS = (EVALUATOR_ASSIGNED, GATE_DECISION, INVITATION, ENDPOINT_DISABLED)
# The event types e-mails are derived from.
EMAIL_EVENT_TYPES = frozenset({"innovation.evaluator_assigned", *event_types.DECISIONS})
# Run by every round of the outbox: built once (SQLAlchemy then finds their compiled forms in its cache).
_POSITION = select(outbox_tracking.c.position).where(outbox_tracking.c.name == NAME)
_POSITION_LOCKED = _POSITION.with_for_update()
_ENDPOINTS = select(webhook_endpoints)
_ADVANCE = (
    update(outbox_tracking)
    .where(outbox_tracking.c.name == NAME)
    .values(position=bindparam("reached"), updated_at=bindparam("at"))
)


def addressed(kind: str, person: Any, innovation: Any | None) -> bool:
    """Whether the person is still one an e-mail of this kind is for, as it is sent. An e-mail may wait in the
    outbox (no SMTP yet, or retrying), and meanwhile a provider may move to another organisation or an evaluator be
    unassigned, and may no longer see the innovation. The rules the derivation chose by (Derivation._emails): a gate
    decision's providers are the owning organisation's, an assignment's evaluator is one still assigned, a disabled
    endpoint's readers are admins; an invitation is for the person invited, whatever their role."""
    if kind == GATE_DECISION:
        return (
            person.role == "provider"
            and innovation is not None
            and person.organisation_id == innovation.organisation_id
        )
    if kind == EVALUATOR_ASSIGNED:
        return person.role == "evaluator" and innovation is not None and str(person.id) in innovation.assignments
    if kind == ENDPOINT_DISABLED:
        return bool(person.role == "admin")
    return True


def email_row(kind: str, person_id: UUID, context: dict[str, Any], source: str, now: datetime) -> dict[str, Any]:
    """An e-mail to queue: sent once the sender finds it due (at once), in the person's language then."""
    return {
        "kind": kind,
        "person_id": person_id,
        "context": context,
        "source": source,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def queue_emails(tx: Connection, rows: list[dict[str, Any]]) -> None:
    """Queue e-mails in the caller's transaction; one already queued from the same source is left as it is."""
    if not rows:
        return
    keys = {(r["source"], r["person_id"], r["kind"]) for r in rows}
    sources = sorted({r["source"] for r in rows})
    taken = {
        (s, p, k)
        for s, p, k in tx.execute(
            select(emails.c.source, emails.c.person_id, emails.c.kind).where(emails.c.source.in_(sources))
        )
    }
    fresh = [r for r in rows if (r["source"], r["person_id"], r["kind"]) in keys - taken]
    if fresh:
        tx.execute(insert(emails), fresh)


def invitation_email(tx: Connection, invitation: Any) -> None:
    """Queue the e-mail of an invitation (access.signin.Invitation), in the invitation's transaction. The token is
    kept only until the e-mail is sent; the source names the invitation by the hash of its token."""
    digest = hashlib.sha256(invitation.token.encode()).hexdigest()[:40]
    # An earlier invitation's e-mail not sent yet would carry a link that no longer works: it is not sent.
    tx.execute(
        update(emails)
        .where(emails.c.kind == INVITATION, emails.c.person_id == invitation.person.id, emails.c.status == "pending")
        .values(status="skipped", last_error="a newer invitation replaced it", next_attempt_at=None, context={})
    )
    context = {"token": invitation.token, "expires_at": invitation.expires_at.isoformat()}
    queue_emails(tx, [email_row(INVITATION, invitation.person.id, context, f"invitation:{digest}", utc_now())])


class Taker(Protocol):
    """Takes fresh deliveries for sending as they are derived (outbox.sending.Sender), which saves a claim's
    transaction and a second read of their events."""

    def room(self, endpoint: Endpoint) -> int:
        """How many fresh deliveries of this endpoint to claim now (0: leave them to be claimed when due)."""
        ...

    def claim_until(self, now: datetime) -> datetime:
        """When a claim made now lapses."""
        ...

    def take(self, endpoint: Endpoint, rows: list[Any], records: dict[int, EventRecord], until: datetime) -> None:
        """Send deliveries claimed until `until`, once their transaction has committed."""
        ...


class Derivation:
    """Derives deliveries and e-mails from the log, batch by batch, each batch one transaction."""

    def __init__(
        self,
        app: TrackerApplication,
        reader: Engine,
        writer: Engine,
        write_lock: AbstractContextManager[Any],
        *,
        kind: str,
        clock: Callable[[], datetime],
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.app = app
        self.reader = reader
        self.writer = writer
        self.write_lock = write_lock
        self.kind = kind
        self.clock = clock
        self.batch_size = batch_size
        # Innovations' owners, as _owner looks them up (at most OWNERS_REMEMBERED).
        self._owners: dict[UUID, UUID] = {}

    def position(self, conn: Connection) -> int:
        return tracking.position(conn)

    def behind(self) -> bool:
        """Whether the log holds events not yet derived (read without taking the writer's lock). Refuses
        (SchemaMismatch) when the schema is not this release's: the outbox then neither derives nor sends."""
        with self.reader.connect() as conn:
            check_schema(revisions_of(conn))
            position = self.position(conn)
        return self.app.current_position() > position

    def catch_up(self, taker: Taker | None = None, *, known_behind: bool = False) -> int:
        """Derive every event not yet derived; returns how many log positions it moved past. With `taker`, fresh
        deliveries it has room for are claimed in the same transaction and handed to it. With `known_behind` (a commit
        was notified) it skips the first look at the log's head, which otherwise spares an idle round a transaction."""
        if not known_behind and not self.behind():
            return 0
        done = 0
        while True:
            moved, full = self.derive_batch(taker)
            done += moved
            # A batch that was not full reached the head of the log as it read it: another round finds what has
            # been stored since.
            if not full:
                return done

    def derive_batch(self, taker: Taker | None = None) -> tuple[int, bool]:
        """Derive the next batch in one transaction; returns how many log positions it moved past, and whether it
        read as many events as a batch takes (so that more may follow before the head it read)."""
        taken: list[tuple[Endpoint, list[Any], dict[int, EventRecord], datetime]] = []
        with self.write_lock, self.writer.begin() as tx:
            position = tx.scalar(_POSITION_LOCKED if self.kind == "postgresql" else _POSITION)
            if position is None:
                raise RuntimeError("the outbox's tracking row is missing: run 'tracker db upgrade'")
            check_schema(revisions_of(tx))
            # Every event up to the head, read first, is stored: the batch reads only the types anything is derived
            # from (every type when an endpoint takes them all), and moves past the rest without decoding them.
            head = self.app.current_position()
            if head <= position:
                return 0, False
            # Every endpoint, on or off: an endpoint that is off keeps its deliveries waiting until it is on again.
            endpoints = [endpoint_of(r) for r in tx.execute(_ENDPOINTS)]
            wanted: set[str] = set(EMAIL_EVENT_TYPES)
            for endpoint in endpoints:
                wanted |= set(event_types.NAMES if "*" in endpoint.event_types else endpoint.event_types)
            names = () if wanted >= event_types.NAMES else sorted(wanted)
            records = self.app.read_log(position, self.batch_size, names, upto=head)
            reached = records[-1].position if len(records) == self.batch_size else head
            now = self.clock()
            taken = self._derive(tx, endpoints, records, now, taker)
            tx.execute(_ADVANCE, {"reached": reached, "at": now})
        if taker is not None:
            for endpoint, rows, by_position, until in taken:
                taker.take(endpoint, rows, by_position, until)
        return reached - position, len(records) == self.batch_size

    def _derive(
        self, tx: Connection, endpoints: list[Endpoint], records: list[EventRecord], now: datetime, taker: Taker | None
    ) -> list[tuple[Endpoint, list[Any], dict[int, EventRecord], datetime]]:
        """Write the batch's deliveries and e-mails; returns the deliveries claimed for `taker` (inserted as claimed:
        due when their claim lapses), by endpoint, with their events."""
        room = {e.id: taker.room(e) if taker is not None else 0 for e in endpoints}
        until = taker.claim_until(now) if taker is not None else now
        fresh: list[dict[str, Any]] = []
        claimed: list[dict[str, Any]] = []
        named = [(record, event_types.name_of_record(record)) for record in records]
        for record, name in named:
            event_id = event_types.event_id(record.aggregate_id, record.version)
            for endpoint in endpoints:
                if endpoint.receives(record.position, name):
                    if room[endpoint.id] > 0:
                        room[endpoint.id] -= 1
                        claimed.append(delivery_row(endpoint.id, record.position, event_id, name, now, due=until))
                    else:
                        fresh.append(delivery_row(endpoint.id, record.position, event_id, name, now))
        mail = self._emails(tx, named, now)
        if fresh:
            tx.execute(insert(deliveries), fresh)
        taken = []
        if claimed:
            inserted = tx.execute(insert(deliveries).returning(deliveries, sort_by_parameter_order=True), claimed)
            by_endpoint: dict[UUID, list[Any]] = {}
            for row in inserted:
                by_endpoint.setdefault(row.endpoint_id, []).append(row)
            by_position = {r.position: r for r in records}
            for endpoint in endpoints:
                if rows := by_endpoint.get(endpoint.id):
                    taken.append((endpoint, rows, {r.position: by_position[r.position] for r in rows}, until))
        queue_emails(tx, mail)
        return taken

    def _emails(self, tx: Connection, named: list[tuple[EventRecord, str]], now: datetime) -> list[dict[str, Any]]:
        """The e-mails the batch's events call for, in log order. The providers of every organisation a decision of
        the batch concerns are read in one query."""
        decided = [(record, name) for record, name in named if name in event_types.DECISIONS]
        owners = {record.position: self._owner(record.aggregate_id) for record, _ in decided}
        providers: dict[UUID, list[UUID]] = {owner: [] for owner in owners.values()}
        if providers:
            for person_id, organisation_id in tx.execute(
                select(people.c.id, people.c.organisation_id)
                .where(
                    people.c.role == "provider",
                    people.c.organisation_id.in_(sorted(providers, key=str)),
                    people.c.active,
                    people.c.email.is_not(None),
                )
                .order_by(people.c.id)
            ):
                providers[organisation_id].append(person_id)
        rows: list[dict[str, Any]] = []
        for record, name in named:
            source = f"event:{record.position}"
            innovation = {"innovation_id": str(record.aggregate_id)}
            if name == "innovation.evaluator_assigned":
                person = _person_id(record.data["evaluator_id"])
                if person is None:
                    continue
                due = record.data.get("due_on")
                context = {**innovation, "stage": record.data["stage"], "due_on": due.isoformat() if due else None}
                rows.append(email_row(EVALUATOR_ASSIGNED, person, context, source, now))
            elif name in event_types.DECISIONS:
                context = {
                    **innovation,
                    "decision": event_types.DECISIONS[name],
                    "stage": record.data.get("to_stage") or record.data.get("stage"),
                    "position": record.position,  # its reasons are read from the log when the e-mail is written
                }
                rows += [email_row(GATE_DECISION, p, context, source, now) for p in providers[owners[record.position]]]
        return rows

    def _owner(self, innovation_id: UUID) -> UUID:
        """The organisation that owns an innovation (TrackerApplication.owner_of), remembered: it never changes."""
        owner = self._owners.get(innovation_id)
        if owner is None:
            owner = self.app.owner_of(innovation_id)
            if len(self._owners) >= OWNERS_REMEMBERED:
                self._owners.pop(next(iter(self._owners)), None)  # the longest remembered
            self._owners[innovation_id] = owner
        return owner


def _person_id(value: Any) -> UUID | None:
    """A person's id as events name them (older events name a key instead: nobody to write to)."""
    try:
        return UUID(str(value))
    except ValueError:
        return None
