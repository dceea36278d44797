"""Webhook endpoints: kept by admins, each with its secret, its event types and its delivery log."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, and_, delete, insert, select, update

from outbox import tracking
from outbox.guard import Resolver, check_url, resolve
from outbox.tables import attempts, deliveries, webhook_endpoints
from projections.clock import utc_now
from tracker import event_types
from tracker.errors import NotFoundError, ValidationError

# After a rotation, deliveries carry signatures with both the new and the previous secret for this long.
ROTATION_OVERLAP = timedelta(hours=24)
STATUSES = ("pending", "succeeded", "failed")
# Events a replay reads and queues per transaction.
REPLAY_PAGE = 1000


def aware(moment: datetime | None) -> datetime | None:
    """A time as the tables keep it (naive UTC) with its zone, for answers."""
    return moment.replace(tzinfo=UTC) if moment is not None else None


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Endpoint:
    id: UUID
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None
    failing_since: datetime | None
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    starts_after: int

    def matches(self, name: str) -> bool:
        return "*" in self.event_types or name in self.event_types

    def receives(self, position: int, name: str) -> bool:
        """Whether the event stored at `position` goes to this endpoint as it is derived."""
        return position > self.starts_after and self.matches(name)

    def secrets_at(self, now: datetime) -> list[str]:
        """The secrets a delivery sent at `now` is signed with: the current one, and the previous for a day after a
        rotation."""
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return [self.secret, self.previous_secret]
        return [self.secret]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "event_types": self.event_types,
            "description": self.description,
            "active": self.active,
            "created_at": aware(self.created_at),
            "disabled_at": aware(self.disabled_at),
            "disabled_reason": self.disabled_reason,
            "failing_since": aware(self.failing_since),
        }


def endpoint_of(row: Any) -> Endpoint:
    return Endpoint(
        row.id,
        row.url,
        list(row.event_types),
        row.description,
        row.active,
        row.created_at,
        row.disabled_at,
        row.disabled_reason,
        row.failing_since,
        row.secret,
        row.previous_secret,
        row.previous_secret_until,
        row.starts_after,
    )


def check_types(names: Any) -> list[str]:
    """Event type names for an endpoint: published names, or ["*"] for every type."""
    if not isinstance(names, list) or not names:
        raise ValidationError("event_types", 'give a list of event types, or ["*"] for every type')
    if names == ["*"]:
        return ["*"]
    unknown = sorted({str(n) for n in names if n not in event_types.NAMES})
    if unknown:
        raise ValidationError(
            "event_types",
            f'unknown event types {unknown}; use ["*"] or names from: {", ".join(sorted(event_types.NAMES))}',
        )
    return sorted(set(names))


class Endpoints:
    """The endpoints and their delivery log. Writes go through `writer` (on SQLite, under the file's writer lock)."""

    def __init__(
        self,
        engine: Engine,
        writer: Engine,
        write_lock: Any,
        head: Callable[[], int],
        *,
        allow_private: bool,
        resolver: Resolver = resolve,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.write_lock = write_lock
        self.head = head
        self.allow_private = allow_private
        self.resolver = resolver

    def _check(self, url: str) -> str:
        url = str(url).strip()
        if len(url) > 2000:
            raise ValidationError("url", "at most 2,000 characters")
        check_url(url, allow_private=self.allow_private, resolver=self.resolver)
        return url

    def create(self, *, url: str, event_types: Any, description: str | None, actor_id: str) -> tuple[Endpoint, str]:
        """A new active endpoint, and its secret (shown this once). It receives the events stored from now on."""
        url = self._check(url)
        names = check_types(event_types)
        secret = new_secret()
        now = utc_now()
        endpoint_id = uuid.uuid4()
        with self.write_lock, self.writer.begin() as tx:
            tx.execute(
                insert(webhook_endpoints).values(
                    id=endpoint_id,
                    url=url,
                    event_types=names,
                    description=description,
                    active=True,
                    secret=secret,
                    starts_after=self.head(),
                    created_at=now,
                    created_by=actor_id,
                    updated_at=now,
                )
            )
        return self.require(endpoint_id), secret

    def list(self) -> list[Endpoint]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(webhook_endpoints).order_by(webhook_endpoints.c.created_at)).all()
        return [endpoint_of(r) for r in rows]

    def get(self, endpoint_id: UUID, conn: Connection | None = None) -> Endpoint | None:
        query = select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with self.engine.connect() as own:
                row = own.execute(query).first()
        return endpoint_of(row) if row is not None else None

    def require(self, endpoint_id: UUID, conn: Connection | None = None) -> Endpoint:
        found = self.get(endpoint_id, conn)
        if found is None:
            raise NotFoundError("webhook", endpoint_id)
        return found

    def update(self, endpoint_id: UUID, changes: dict[str, Any]) -> Endpoint:
        """Change the url, event types, description or active flag. Turning an endpoint back on clears its
        disabling and back-off, so its pending deliveries go out."""
        if not changes:
            raise ValidationError("changes", "name at least one of url, event_types, description and active")
        values: dict[str, Any] = {}
        if "url" in changes:
            values["url"] = self._check(changes["url"])
        if "event_types" in changes:
            values["event_types"] = check_types(changes["event_types"])
        if "description" in changes:
            values["description"] = changes["description"]
        if "active" in changes:
            values["active"] = bool(changes["active"])
            if changes["active"]:
                values.update(disabled_at=None, disabled_reason=None, failing_since=None, paused_until=None)
        with self.write_lock, self.writer.begin() as tx:
            self.require(endpoint_id, tx)
            if values:
                values["updated_at"] = utc_now()
                tx.execute(update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id).values(**values))
        return self.require(endpoint_id)

    def delete(self, endpoint_id: UUID) -> None:
        with self.write_lock, self.writer.begin() as tx:
            self.require(endpoint_id, tx)
            found = select(deliveries.c.id).where(deliveries.c.endpoint_id == endpoint_id)
            tx.execute(delete(attempts).where(attempts.c.delivery_id.in_(found)))
            tx.execute(delete(deliveries).where(deliveries.c.endpoint_id == endpoint_id))
            tx.execute(delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))

    def rotate(self, endpoint_id: UUID) -> tuple[Endpoint, str]:
        """A new secret; the current one keeps signing deliveries alongside it for ROTATION_OVERLAP."""
        secret = new_secret()
        now = utc_now()
        with self.write_lock, self.writer.begin() as tx:
            current = self.require(endpoint_id, tx)
            tx.execute(
                update(webhook_endpoints)
                .where(webhook_endpoints.c.id == endpoint_id)
                .values(
                    secret=secret,
                    previous_secret=current.secret,
                    previous_secret_until=now + ROTATION_OVERLAP,
                    updated_at=now,
                )
            )
        return self.require(endpoint_id), secret

    # ---- the delivery log ----------------------------------------------------------------------------------------

    def deliveries(
        self,
        endpoint_id: UUID,
        *,
        status: str | None = None,
        after: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> dict[str, Any]:
        """The endpoint's deliveries by log position (the newest first if asked), each with every attempt, newest
        attempt last."""
        with self.engine.connect() as conn:
            self.require(endpoint_id, conn)
            query = select(deliveries).where(deliveries.c.endpoint_id == endpoint_id)
            if status is not None:
                query = query.where(deliveries.c.status == status)
            if after is not None:
                query = query.where(deliveries.c.position > after)
            order = deliveries.c.position.desc() if newest_first else deliveries.c.position
            rows = conn.execute(query.order_by(order).limit(limit)).all()
            tried: dict[int, list[dict[str, Any]]] = {r.id: [] for r in rows}
            if rows:
                for a in conn.execute(
                    select(attempts).where(attempts.c.delivery_id.in_(list(tried))).order_by(attempts.c.id)
                ):
                    tried[a.delivery_id].append(
                        {
                            "at": aware(a.at),
                            "status_code": a.status_code,
                            "duration_ms": a.duration_ms,
                            "error": a.error,
                            "response": a.response,
                        }
                    )
        items = [
            {
                "delivery_id": r.id,
                "event_id": r.event_id,
                "position": r.position,
                "type": r.type,
                "status": r.status,
                "attempts": tried[r.id],
                "next_attempt_at": aware(r.next_attempt_at),
            }
            for r in rows
        ]
        more = len(rows) == limit and not newest_first
        return {"items": items, "next_after": rows[-1].position if more else None}

    def redeliver(self, endpoint_id: UUID, delivery_id: int) -> None:
        """Send one delivery again, now (with the same webhook-id)."""
        now = utc_now()
        with self.write_lock, self.writer.begin() as tx:
            self.require(endpoint_id, tx)
            done = tx.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id, deliveries.c.endpoint_id == endpoint_id)
                .values(status="pending", attempts=0, next_attempt_at=now, updated_at=now)
            )
            if done.rowcount == 0:
                raise NotFoundError("delivery", delivery_id)

    def replay(self, endpoint_id: UUID, after: int, log: Any) -> int:
        """Queue every matching event after log position `after` again, up to what the outbox has derived (those
        already queued are sent again with the same webhook-id); returns how many. `log` reads the event log
        (TrackerApplication.read_log). The log is read outside any transaction, and each page is queued in a short
        transaction of its own."""
        endpoint = self.require(endpoint_id)
        names = () if "*" in endpoint.event_types else endpoint.event_types
        with self.engine.connect() as conn:
            upto = tracking.position(conn)
        queued = 0
        position = after
        while position < upto:
            records = log(position, REPLAY_PAGE, names, upto=upto)
            if not records:
                break
            events = [
                (r.position, event_types.event_id(r.aggregate_id, r.version), event_types.name_of_record(r))
                for r in records
            ]
            with self.write_lock, self.writer.begin() as tx:
                self.require(endpoint_id, tx)
                queued += queue(tx, endpoint.id, events, utc_now())
            position = records[-1].position
        return queued


def delivery_row(
    endpoint_id: UUID, position: int, event_id: UUID, name: str, now: datetime, *, due: datetime | None = None
) -> dict[str, Any]:
    """A delivery to insert: pending, never tried, due at `due` (now unless given: a claim's end for one claimed as
    it is made)."""
    return {
        "endpoint_id": endpoint_id,
        "position": position,
        "event_id": event_id,
        "type": name,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": due or now,
        "created_at": now,
        "updated_at": now,
    }


def queue(tx: Connection, endpoint_id: UUID, events: list[tuple[int, UUID, str]], now: datetime) -> int:
    """Queue deliveries of these (position, event id, type) to one endpoint; a delivery already there is queued again
    as it is (same id, same webhook-id)."""
    if not events:
        return 0
    positions = [p for p, _, _ in events]
    existing = set(
        tx.scalars(
            select(deliveries.c.position).where(
                and_(deliveries.c.endpoint_id == endpoint_id, deliveries.c.position.in_(positions))
            )
        )
    )
    if existing:
        tx.execute(
            update(deliveries)
            .where(deliveries.c.endpoint_id == endpoint_id, deliveries.c.position.in_(sorted(existing)))
            .values(status="pending", attempts=0, next_attempt_at=now, updated_at=now)
        )
    fresh = [delivery_row(endpoint_id, p, event_id, name, now) for p, event_id, name in events if p not in existing]
    if fresh:
        tx.execute(insert(deliveries), fresh)
    return len(events)
