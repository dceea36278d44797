"""Deriving the outbox from the event log, exactly once: for each event, a delivery to every active endpoint whose
event types match, and the e-mails it calls for, written in the same transaction as the outbox's tracked position.

A crash before the commit leaves neither the rows nor the position; after it, both. So no event is derived twice and
none is skipped, whichever process (or how many) derives."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, insert, select, update

from access.tables import people
from outbox import tracking
from outbox.endpoints import endpoint_of
from outbox.tables import deliveries, emails, outbox_tracking, webhook_endpoints
from outbox.tracking import NAME
from projections.clock import utc_now
from tracker import event_types
from tracker.application import TrackerApplication
from tracker.records import EventRecord

BATCH_SIZE = 1000
# The e-mails events call for, by the kind a person can turn off.
EVALUATOR_ASSIGNED = "evaluator_assigned"
GATE_DECISION = "gate_decision"
INVITATION = "invitation"
ENDPOINT_DISABLED = "endpoint_disabled"
EMAIL_KINDS = (EVALUATOR_ASSIGNED, GATE_DECISION, INVITATION, ENDPOINT_DISABLED)
# The event types e-mails are derived from.
EMAIL_EVENT_TYPES = frozenset({"innovation.evaluator_assigned", *event_types.DECISIONS})


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

    def position(self, conn: Connection) -> int:
        return tracking.position(conn)

    def behind(self) -> bool:
        """Whether the log holds events not yet derived (read without taking the writer's lock)."""
        with self.reader.connect() as conn:
            position = self.position(conn)
        return self.app.current_position() > position

    def catch_up(self) -> int:
        """Derive every event not yet derived; returns how many log positions it moved past."""
        if not self.behind():
            return 0
        done = 0
        while moved := self.derive_batch():
            done += moved
        return done

    def derive_batch(self) -> int:
        """Derive the next batch in one transaction; returns how many log positions it moved past."""
        with self.write_lock, self.writer.begin() as tx:
            query = select(outbox_tracking.c.position).where(outbox_tracking.c.name == NAME)
            if self.kind == "postgresql":
                query = query.with_for_update()
            position = tx.scalar(query)
            if position is None:
                raise RuntimeError("the outbox's tracking row is missing: run 'tracker db upgrade'")
            # Every event up to the head, read first, is stored: the batch reads only the types anything is derived
            # from (every type when an endpoint takes them all), and moves past the rest without decoding them.
            head = self.app.current_position()
            if head <= position:
                return 0
            # Every endpoint, on or off: an endpoint that is off keeps its deliveries waiting until it is on again.
            endpoints = [endpoint_of(r) for r in tx.execute(select(webhook_endpoints))]
            wanted: set[str] = set(EMAIL_EVENT_TYPES)
            for endpoint in endpoints:
                wanted |= set(event_types.NAMES if "*" in endpoint.event_types else endpoint.event_types)
            names = () if wanted >= event_types.NAMES else sorted(wanted)
            records = self.app.read_log(position, self.batch_size, names, upto=head)
            reached = records[-1].position if len(records) == self.batch_size else head
            now = self.clock()
            self._derive(tx, endpoints, records, now)
            tx.execute(
                update(outbox_tracking).where(outbox_tracking.c.name == NAME).values(position=reached, updated_at=now)
            )
            return reached - position

    def _derive(self, tx: Connection, endpoints: list[Any], records: list[EventRecord], now: datetime) -> None:
        rows = []
        mail: list[dict[str, Any]] = []
        for record in records:
            name = event_types.name_of_record(record)
            event_id = event_types.event_id(record.aggregate_id, record.version)
            for endpoint in endpoints:
                if endpoint.receives(record.position, name):
                    rows.append(
                        {
                            "endpoint_id": endpoint.id,
                            "position": record.position,
                            "event_id": event_id,
                            "type": name,
                            "status": "pending",
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
            mail += self._emails(tx, record, name, now)
        if rows:
            tx.execute(insert(deliveries), rows)
        queue_emails(tx, mail)

    def _emails(self, tx: Connection, record: EventRecord, name: str, now: datetime) -> list[dict[str, Any]]:
        source = f"event:{record.position}"
        innovation = {"innovation_id": str(record.aggregate_id)}
        if name == "innovation.evaluator_assigned":
            person = _person_id(record.data["evaluator_id"])
            if person is None:
                return []
            due = record.data.get("due_on")
            context = {**innovation, "stage": record.data["stage"], "due_on": due.isoformat() if due else None}
            return [email_row(EVALUATOR_ASSIGNED, person, context, source, now)]
        if name in event_types.DECISIONS:
            owner = self.app.get_innovation(record.aggregate_id, version=record.version).organisation_id
            providers = tx.scalars(
                select(people.c.id).where(
                    people.c.role == "provider",
                    people.c.organisation_id == owner,
                    people.c.active,
                    people.c.email.is_not(None),
                )
            ).all()
            context = {
                **innovation,
                "decision": event_types.DECISIONS[name],
                "stage": record.data.get("to_stage") or record.data.get("stage"),
                "position": record.position,  # its reasons are read from the log when the e-mail is written
            }
            return [email_row(GATE_DECISION, p, context, source, now) for p in providers]
        return []


def _person_id(value: Any) -> UUID | None:
    """A person's id as events name them (older events name a key instead: nobody to write to)."""
    try:
        return UUID(str(value))
    except ValueError:
        return None
