"""Sending what the outbox holds: webhook deliveries (Standard Webhooks, signed with `standardwebhooks`) and e-mails.

Each send runs in a thread of a pool with no database transaction open: a delivery is claimed for a while (LEASE) in
one short transaction, sent, and its outcome recorded in another. A worker that dies mid-send leaves its claims to
lapse, and they are sent again with the same webhook-id. An endpoint has at most PER_ENDPOINT sends in flight and
backs off on its own after a failure, so a slow or dead receiver never holds up the others."""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import json
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, or_, select, update
from standardwebhooks.webhooks import Webhook

from access.people import EMAIL
from access.tables import people
from outbox.derive import ENDPOINT_DISABLED, addressed, email_row, queue_emails
from outbox.endpoints import Endpoint, endpoint_of
from outbox.guard import Resolver, connection, path_of, resolve
from outbox.mail import Mailer, Message
from outbox.tables import attempts, deliveries, email_opt_outs, emails, webhook_endpoints
from outbox.timing import LEASE, RECORD_MARGIN, TIMEOUT
from tracker import event_types
from tracker.application import TrackerApplication

# Whether any delivery and any e-mail is due (Sender._due): asked by every round of the outbox, so built once.
_DUE = select(
    select(deliveries.c.id)
    .join(webhook_endpoints, webhook_endpoints.c.id == deliveries.c.endpoint_id)
    .where(
        deliveries.c.status == "pending",
        deliveries.c.next_attempt_at <= bindparam("now"),
        webhook_endpoints.c.active,
        or_(webhook_endpoints.c.paused_until.is_(None), webhook_endpoints.c.paused_until <= bindparam("now")),
    )
    .exists(),
    select(emails.c.id).where(emails.c.status == "pending", emails.c.next_attempt_at <= bindparam("now")).exists(),
)

log = structlog.get_logger("tracker.outbox")

# Standard Webhooks' example schedule: each retry's wait after the attempt before it (about three days in all).
SCHEDULE = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
# An endpoint whose every attempt has failed for this long is disabled, and the admins are told.
DISABLE_AFTER = timedelta(days=3)
# How often a lane that is still sending looks whether its endpoint is still there and on (seconds).
STILL_ON_EVERY = 1.0

# The retry jitter draws from a generator of its own, so sender threads leave the process's global `random` state
# alone (Hypothesis checks it is not moved while it draws test data, and every sender thread would move it).
_JITTER = random.Random()  # noqa: S311 (spreads retries; nothing secret)


# Threads for webhook lanes (made as needed, up to this many): with PER_ENDPOINT lanes each, it takes this many
# divided by PER_ENDPOINT slow endpoints at once to hold up the others. E-mail has a pool of its own.
WORKERS = 64
MAIL_WORKERS = 4
# Lanes (sends in flight) per endpoint; a lane sends up to LANE_SIZE deliveries one after another over one connection
# and records their outcomes in one transaction.
PER_ENDPOINT = 4
LANE_SIZE = 200
# The longest Retry-After honoured; a longer one waits this long.
MAX_RETRY_AFTER = timedelta(hours=24)
RESPONSE_KEPT = 1024
# What more of an answer is read so that its connection can carry the next delivery; a longer answer closes it.
RESPONSE_DRAINED = 64 * 1024
# Why an endpoint was disabled, as its `disabled_reason` says (e-mails name the reason in the admin's language).
DISABLED_BECAUSE = {
    "gone": "the receiver answered 410 Gone",
    "failing": "every delivery failed for three days",
}

Renderer = Callable[[str, str, dict[str, Any]], Message]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: float
    error: str | None = None
    response: str | None = None
    retry_after: timedelta | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def delay_after(attempt: int, rand: Callable[[], float]) -> timedelta | None:
    """The wait before the next attempt, after `attempt` attempts have failed (None: no attempt is left); with
    jitter of ±20% so that receivers coming back are not met by every sender at once."""
    if attempt >= len(SCHEDULE):
        return None
    return SCHEDULE[attempt] * (0.8 + 0.4 * rand())


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds, or an HTTP date) as a wait, at most MAX_RETRY_AFTER."""
    if not value:
        return None
    value = value.strip()
    try:
        wait = timedelta(seconds=max(0, int(value)))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = max(timedelta(0), when - now.replace(tzinfo=UTC))
    return min(wait, MAX_RETRY_AFTER)


def body_of(record: Any, now: datetime) -> bytes:
    """A delivery's body: {type, timestamp, data} with the feed item as data."""
    item = event_types.feed_item(record)
    payload = {
        "type": item["type"],
        "timestamp": now.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"),
        "data": item,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def _cut(conn: http.client.HTTPConnection, fired: threading.Event) -> None:
    """End an attempt that ran out of time: the blocked read raises (and `fired` says why)."""
    fired.set()
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def signature(secrets: list[str], webhook_id: str, at: datetime, body: bytes) -> str:
    """The webhook-signature header: one `v1,…` signature per secret, space-separated."""
    return " ".join(Webhook(s).sign(webhook_id, at.replace(tzinfo=UTC), body) for s in secrets)


@dataclass(frozen=True)
class Claim:
    """Deliveries claimed for one lane: the rows, when the claim lapses (their next_attempt_at while it holds), when
    it was made (time.monotonic()), and their events by log position when the claim came with them."""

    rows: list[Any]
    until: datetime
    claimed: float
    records: dict[int, Any] | None = None


class Sender:
    """Claims what is due, sends it in a pool of threads, and records each outcome."""

    def __init__(
        self,
        app: TrackerApplication,
        engine: Engine,
        writer: Engine,
        write_lock: AbstractContextManager[Any],
        *,
        kind: str,
        clock: Callable[[], datetime],
        allow_private: bool,
        resolver: Resolver = resolve,
        mailer: Mailer | None = None,
        render: Renderer | None = None,
        rand: Callable[[], float] = _JITTER.random,
        workers: int = WORKERS,
        per_endpoint: int = PER_ENDPOINT,
        timeout: float = TIMEOUT,
        lease: timedelta = LEASE,
        lane_size: int = LANE_SIZE,
    ) -> None:
        self.app = app
        self.engine = engine
        self.writer = writer
        self.write_lock = write_lock
        self.kind = kind
        self.clock = clock
        self.allow_private = allow_private
        self.resolver = resolver
        self.mailer = mailer
        self.render = render
        self.rand = rand
        self.per_endpoint = per_endpoint
        self.timeout = timeout
        self.lease = lease
        self.lane_size = lane_size
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tracker-outbox-send")
        self.mail_pool = ThreadPoolExecutor(max_workers=MAIL_WORKERS, thread_name_prefix="tracker-outbox-mail")
        self._lock = threading.Lock()
        self._in_flight: dict[UUID, int] = {}
        self._emails_in_flight = 0
        self._futures: set[Future[None]] = set()
        # Called when a send ends (the outbox's loop is woken to claim what waits).
        self.on_finished: Callable[[], None] | None = None

    def close(self, *, wait: bool = True) -> None:
        """Stop sending: what waits is not started; with `wait`, what is under way is finished and recorded first,
        else it is left to finish or to lapse (its claim lapses, and it is sent again, with the same webhook-id)."""
        self.pool.shutdown(wait=wait, cancel_futures=True)
        self.mail_pool.shutdown(wait=wait, cancel_futures=True)

    # ---- dispatching ---------------------------------------------------------------------------------------------

    def dispatch(self, *, wait: bool = False) -> int:
        """Start sending what is due now, where its endpoint has a lane free; returns how many deliveries and
        e-mails were claimed. With `wait`, return once they are all sent and recorded."""
        now = self.clock()
        started: list[Future[None]] = []
        mailing = self.mailer is not None and self.render is not None
        webhooks_due, emails_due = self._due(now)
        claimed = 0
        if webhooks_due:
            for endpoint, lane in self._claim_deliveries(now):
                started.append(self._submit(self._deliver_lane, endpoint, lane, key=endpoint.id))
                claimed += len(lane.rows)
        if mailing and emails_due:
            for message in self._claim_emails(now):
                started.append(self._submit(self._mail, message, key=None))
                claimed += 1
        if wait:
            for future in started:
                future.result()
        return claimed

    # ---- taking fresh deliveries from the derivation (outbox.derive.Taker) -------------------------------------------

    def room(self, endpoint: Endpoint) -> int:
        """How many fresh deliveries of this endpoint the derivation may claim for it: as many as its free lanes
        hold, none while it is off or failing (what it already has waiting goes first then, when due)."""
        if not endpoint.active or endpoint.failing_since is not None:
            return 0
        with self._lock:
            lanes = self.per_endpoint - self._in_flight.get(endpoint.id, 0)
        return max(lanes, 0) * self.lane_size

    def claim_until(self, now: datetime) -> datetime:
        return now + self.lease

    def take(self, endpoint: Endpoint, rows: list[Any], records: dict[int, Any], until: datetime) -> None:
        """Send deliveries the derivation has claimed, in lanes of up to lane_size."""
        for start in range(0, len(rows), self.lane_size):
            lane = Claim(rows[start : start + self.lane_size], until, time.monotonic(), records)
            self._submit(self._deliver_lane, endpoint, lane, key=endpoint.id)

    def _due(self, now: datetime) -> tuple[bool, bool]:
        """Whether any delivery and any e-mail is due, read without taking the writer's lock, in one statement: every
        round of the outbox asks."""
        with self.engine.connect() as conn:
            webhooks_due, mail_due = conn.execute(_DUE, {"now": now}).one()
        return bool(webhooks_due), bool(mail_due)

    def idle(self) -> bool:
        with self._lock:
            return not self._futures

    def _submit(self, fn: Callable[..., None], *args: Any, key: UUID | None) -> Future[None]:
        def run() -> None:
            try:
                fn(*args)
            except Exception:  # recorded as a failed attempt where it could be; the claim lapses otherwise
                log.exception("outbox_send_failed")
            finally:
                with self._lock:
                    if key is None:
                        self._emails_in_flight -= 1
                    else:
                        self._in_flight[key] -= 1
                if self.on_finished is not None:
                    self.on_finished()

        with self._lock:
            if key is None:
                self._emails_in_flight += 1
            else:
                self._in_flight[key] = self._in_flight.get(key, 0) + 1
        future = (self.mail_pool if key is None else self.pool).submit(run)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _claim_deliveries(self, now: datetime) -> list[tuple[Endpoint, Claim]]:
        claimed = []
        with self.write_lock, self.writer.begin() as tx:
            ready = tx.execute(
                select(webhook_endpoints).where(
                    webhook_endpoints.c.active,
                    or_(webhook_endpoints.c.paused_until.is_(None), webhook_endpoints.c.paused_until <= now),
                )
            ).all()
            for row in ready:
                endpoint = endpoint_of(row)
                with self._lock:
                    room = self.per_endpoint - self._in_flight.get(endpoint.id, 0)
                if room <= 0:
                    continue
                query = (
                    select(deliveries)
                    .where(
                        deliveries.c.endpoint_id == endpoint.id,
                        deliveries.c.status == "pending",
                        deliveries.c.next_attempt_at <= now,
                    )
                    .order_by(deliveries.c.next_attempt_at, deliveries.c.position)
                    .limit(room * self.lane_size)
                )
                if self.kind == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                rows = tx.execute(query).all()
                if rows:
                    until = now + self.lease
                    tx.execute(
                        update(deliveries)
                        .where(deliveries.c.id.in_([r.id for r in rows]))
                        .values(next_attempt_at=until)
                    )
                    # Up to `room` lanes, so that a queue is sent by as many lanes as the endpoint may have.
                    for start in range(0, len(rows), self.lane_size):
                        lane = rows[start : start + self.lane_size]
                        claimed.append((endpoint, Claim(lane, until, time.monotonic())))
        return claimed

    def _claim_emails(self, now: datetime) -> list[Any]:
        with self._lock:
            room = MAIL_WORKERS - self._emails_in_flight
        if room <= 0:
            return []
        with self.write_lock, self.writer.begin() as tx:
            query = (
                select(emails)
                .where(emails.c.status == "pending", emails.c.next_attempt_at <= now)
                .order_by(emails.c.next_attempt_at, emails.c.id)
                .limit(room)
            )
            if self.kind == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = tx.execute(query).all()
            if rows:
                tx.execute(
                    update(emails).where(emails.c.id.in_([r.id for r in rows])).values(next_attempt_at=now + self.lease)
                )
        return rows

    # ---- webhooks ------------------------------------------------------------------------------------------------

    def _deliver_lane(self, endpoint: Endpoint, lane: Claim) -> None:
        """Send a lane's deliveries in log order over one connection, then record every outcome in one transaction.

        The lane stops at the first failure (the endpoint may be down), and starts no delivery once too little of
        its claim is left (waiting for a thread included) for the longest attempt, two timeouts, and the record, so
        that no delivery is still being sent when another claim may take it; what it did not send goes back to the
        queue."""
        records = lane.records if lane.records is not None else self._events(lane.rows)
        sent: list[tuple[Any, Outcome]] = []
        conn: http.client.HTTPConnection | None = None
        budget = self.lease.total_seconds() - 2 * self.timeout - RECORD_MARGIN
        looked = time.monotonic()
        try:
            for delivery in lane.rows:
                if time.monotonic() - lane.claimed > budget:
                    break
                if time.monotonic() - looked > STILL_ON_EVERY:
                    # An endpoint deleted or turned off meanwhile gets nothing more from this lane.
                    if not self._still_on(endpoint.id):
                        break
                    looked = time.monotonic()
                now = self.clock()
                record = records.get(delivery.position)
                if record is None:
                    outcome = Outcome(None, 0.0, f"the event at log position {delivery.position} cannot be read")
                else:
                    conn, outcome = self._post(conn, endpoint, str(delivery.event_id), body_of(record, now), now)
                sent.append((delivery, outcome))
                if not outcome.succeeded:
                    break
        finally:
            if conn is not None:
                conn.close()
        self._record_lane(endpoint, lane, sent, lane.rows[len(sent) :])

    def _still_on(self, endpoint_id: UUID) -> bool:
        """Whether the endpoint is still there and on."""
        query = select(webhook_endpoints.c.active).where(webhook_endpoints.c.id == endpoint_id)
        with self.engine.connect() as conn:
            return bool(conn.scalar(query))

    def _events(self, rows: list[Any]) -> dict[int, Any]:
        """The events of these deliveries, read as ranges of the log (only the deliveries' own types)."""
        wanted = {d.position for d in rows}
        names = sorted({d.type for d in rows})
        found: dict[int, Any] = {}
        after, last = min(wanted) - 1, max(wanted)
        while after < last:
            page = self.app.read_log(after, 1000, names, upto=last)
            if not page:
                break
            found.update((r.position, r) for r in page if r.position in wanted)
            after = page[-1].position
        return found

    def _post(
        self, conn: http.client.HTTPConnection | None, endpoint: Endpoint, webhook_id: str, body: bytes, now: datetime
    ) -> tuple[http.client.HTTPConnection | None, Outcome]:
        """One attempt, on `conn` when it can be used again (else a new connection, through the SSRF guard): POST
        the signed body. No transaction is open. Returns the connection to use next (None: make a new one)."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "innovation-ecosystem-tracker-webhooks",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.replace(tzinfo=UTC).timestamp())),
            "webhook-signature": signature(endpoint.secrets_at(now), webhook_id, now, body),
        }
        started = time.perf_counter()
        reused = conn is not None
        try:
            if conn is None:
                conn, path = connection(
                    endpoint.url, timeout=self.timeout, allow_private=self.allow_private, resolver=self.resolver
                )
            else:
                path = path_of(endpoint.url)
            # The whole attempt has `timeout` seconds: the socket's own timeout bounds each read only, and a receiver
            # that trickles its answer would otherwise hold the lane.
            fired = threading.Event()
            deadline = threading.Timer(self.timeout, _cut, args=(conn, fired))
            deadline.start()
            try:
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    answer = conn.getresponse()
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    if not reused or fired.is_set():
                        # A new connection, or the attempt's time is up (the cut reads as the receiver hanging up):
                        # trying again would take a second timeout, beyond what the lane's claim leaves room for.
                        raise
                    # The receiver closed a kept-alive connection between two deliveries: once more on a new one.
                    conn.close()
                    deadline.cancel()
                    return self._post(None, endpoint, webhook_id, body, now)
                kept = answer.read(RESPONSE_KEPT).decode("utf-8", "replace")
                code = answer.status
                wait = retry_after(answer.getheader("Retry-After"), now) if code in (429, 503) else None
                # A connection is used again only once its answer is read to the end.
                answer.read(RESPONSE_DRAINED)
            finally:
                deadline.cancel()
            if not answer.isclosed():
                conn.close()
                conn = None
        except Exception as error:  # no answer: refused, unreachable, timed out, guarded
            if conn is not None:
                conn.close()
            elapsed = (time.perf_counter() - started) * 1000
            return None, Outcome(None, elapsed, f"{type(error).__name__}: {error}"[:500])
        elapsed = (time.perf_counter() - started) * 1000
        return conn, Outcome(code, elapsed, None if 200 <= code < 300 else f"answered {code}", kept, wait)

    def _record_lane(self, endpoint: Endpoint, lane: Claim, sent: list[tuple[Any, Outcome]], unsent: list[Any]) -> None:
        """Record a lane in one transaction: every attempt, the deliveries that succeeded, the one that failed (if
        any), and the unsent ones back in the queue, due now. Only deliveries this claim still holds are recorded:
        one deleted meanwhile, or claimed again (redelivered, replayed), is left to its new holder."""
        now = self.clock()
        with self.write_lock, self.writer.begin() as tx:
            ids = [d.id for d, _ in sent] + [d.id for d in unsent]
            tried = dict(
                tx.execute(
                    select(deliveries.c.id, deliveries.c.attempts).where(
                        deliveries.c.id.in_(ids),
                        deliveries.c.status == "pending",
                        deliveries.c.next_attempt_at == lane.until,
                    )
                ).all()
            )
            if not tried:
                return
            sent = [(d, o) for d, o in sent if d.id in tried]
            if sent:
                tx.execute(
                    insert(attempts),
                    [
                        {
                            "delivery_id": d.id,
                            "at": now,
                            "status_code": o.status_code,
                            "duration_ms": round(o.duration_ms, 2),
                            "error": o.error,
                            "response": o.response,
                        }
                        for d, o in sent
                    ],
                )
            succeeded = [d.id for d, o in sent if o.succeeded]
            if succeeded:
                tx.execute(
                    update(deliveries)
                    .where(deliveries.c.id.in_(succeeded))
                    .values(
                        status="succeeded", attempts=deliveries.c.attempts + 1, next_attempt_at=None, updated_at=now
                    )
                )
                tx.execute(
                    update(webhook_endpoints)
                    .where(webhook_endpoints.c.id == endpoint.id, webhook_endpoints.c.failing_since.is_not(None))
                    .values(failing_since=None, paused_until=None)
                )
            back = [d.id for d in unsent if d.id in tried]
            if back:
                tx.execute(update(deliveries).where(deliveries.c.id.in_(back)).values(next_attempt_at=now))
            for delivery, outcome in sent:
                if not outcome.succeeded:
                    self._failed(tx, endpoint, delivery.id, tried[delivery.id] + 1, outcome, now)

    def _failed(
        self, tx: Connection, endpoint: Endpoint, delivery_id: int, tried: int, outcome: Outcome, now: datetime
    ) -> None:
        """A failed attempt: retry on the schedule (or as Retry-After asks), disable the endpoint on 410 or after
        three days of failures, and back the whole endpoint off after two failures in a row."""
        where = deliveries.c.id == delivery_id
        if outcome.status_code == 410:
            tx.execute(
                update(deliveries)
                .where(where)
                .values(status="failed", attempts=tried, next_attempt_at=None, updated_at=now)
            )
            self._disable(tx, endpoint.id, "gone", now)
            return
        wait = delay_after(tried, self.rand)
        if wait is None:
            tx.execute(
                update(deliveries)
                .where(where)
                .values(status="failed", attempts=tried, next_attempt_at=None, updated_at=now)
            )
            # Its last attempt gone: when every attempt to the endpoint has failed since this delivery's first, the
            # endpoint is disabled now (the jitter can end a schedule a little before three days have passed).
            first = tx.scalar(select(func.min(attempts.c.at)).where(attempts.c.delivery_id == delivery_id))
            since = tx.scalar(select(webhook_endpoints.c.failing_since).where(webhook_endpoints.c.id == endpoint.id))
            if since is not None and first is not None and since <= first:
                self._disable(tx, endpoint.id, "failing", now)
                return
        else:
            if outcome.retry_after is not None:
                wait = max(wait, outcome.retry_after)
            tx.execute(
                update(deliveries).where(where).values(attempts=tried, next_attempt_at=now + wait, updated_at=now)
            )
        row = tx.execute(
            select(webhook_endpoints.c.failing_since, webhook_endpoints.c.paused_until).where(
                webhook_endpoints.c.id == endpoint.id
            )
        ).first()
        if row is None:
            return
        failing_since = row.failing_since or now
        if now - failing_since >= DISABLE_AFTER:
            self._disable(tx, endpoint.id, "failing", now)
            return
        # A second failure in a row (no success between) holds back the whole endpoint until this delivery's
        # next attempt: a receiver that is down is not sent its whole queue meanwhile, while one that fails now
        # and then keeps receiving the rest.
        paused = row.paused_until
        if row.failing_since is not None:
            paused = max(x for x in (row.paused_until, now + (wait or timedelta(0))) if x is not None)
        tx.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint.id)
            .values(failing_since=failing_since, paused_until=paused)
        )

    def _disable(self, tx: Connection, endpoint_id: UUID, why: str, now: datetime) -> None:
        """Disable an endpoint (`why`: a key of DISABLED_BECAUSE) and tell every active admin, once per disabling."""
        reason = DISABLED_BECAUSE[why]
        done = tx.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.active)
            .values(active=False, disabled_at=now, disabled_reason=reason, updated_at=now)
        )
        if done.rowcount != 1:
            return  # disabled already (another lane got there first): the admins were told then
        url = tx.scalar(select(webhook_endpoints.c.url).where(webhook_endpoints.c.id == endpoint_id))
        admins = tx.scalars(
            select(people.c.id).where(people.c.role == "admin", people.c.active, people.c.email.is_not(None))
        ).all()
        context = {"endpoint_id": str(endpoint_id), "url": url, "reason": why}
        source = f"endpoint:{endpoint_id}:{now.isoformat()}"
        queue_emails(tx, [email_row(ENDPOINT_DISABLED, a, context, source, now) for a in admins])
        log.warning("webhook_endpoint_disabled", endpoint_id=str(endpoint_id), reason=reason)

    # ---- e-mail --------------------------------------------------------------------------------------------------

    def _mail(self, message: Any) -> None:
        assert self.mailer is not None
        assert self.render is not None
        with self.engine.connect() as conn:
            person = conn.execute(select(people).where(people.c.id == message.person_id)).first()
            opted_out = conn.scalar(
                select(func.count()).where(
                    and_(email_opt_outs.c.person_id == message.person_id, email_opt_outs.c.kind == message.kind)
                )
            )
        if person is None or not person.active or person.erased_at is not None or not person.email:
            self._record_email(message, "skipped", "the person cannot be written to (erased, inactive or no address)")
            return
        if not EMAIL.match(person.email):
            # Stored before such addresses were refused (a comma or a semicolon in it): correct it on their page.
            self._record_email(message, "skipped", "the person's address is not one e-mail address")
            return
        if opted_out:
            self._record_email(message, "skipped", f"{message.kind} e-mails are turned off by the person")
            return
        context = dict(message.context)
        innovation = self.app.get_innovation(UUID(context["innovation_id"])) if "innovation_id" in context else None
        if not addressed(message.kind, person, innovation):
            self._record_email(
                message, "skipped", "the person is no longer one it is for (role, organisation or assignment)"
            )
            return
        if innovation is not None:
            context["title"] = innovation.title
        if "position" in context:
            # What the event said (a decision's reasons) is read from the log, not kept in the outbox.
            (record,) = self.app.read_log(context["position"] - 1, 1)
            context["rationale"] = record.data.get("rationale")
        try:
            self.mailer.send(person.email, self.render(message.kind, person.locale, context))
        except Exception as error:
            self._record_email(message, "pending", _without_address(f"{type(error).__name__}: {error}", person.email))
            return
        self._record_email(message, "sent", None)

    def _record_email(self, message: Any, status: str, error: str | None) -> None:
        now = self.clock()
        values: dict[str, Any] = {"status": status, "last_error": error, "attempts": message.attempts + 1}
        if status == "sent":
            values.update(sent_at=now, next_attempt_at=None)
        elif status == "pending":
            wait = delay_after(message.attempts + 1, self.rand)
            if wait is None:
                values.update(status="failed", next_attempt_at=None)
            else:
                values["next_attempt_at"] = now + wait
        else:
            values["next_attempt_at"] = None
        if values["status"] != "pending":
            # An invitation's link is kept only while its e-mail may still go (the invitations keep only its hash).
            values["context"] = {k: v for k, v in message.context.items() if k != "token"}
        with self.write_lock, self.writer.begin() as tx:
            tx.execute(update(emails).where(emails.c.id == message.id).values(**values))


def _without_address(error: str, address: str) -> str:
    """A failed send's error as the outbox keeps it: without the person's address, which mail servers quote in
    their refusals, so that nothing but the people table holds it (an erasure empties that)."""
    return re.sub(re.escape(address), "<address>", error, flags=re.IGNORECASE)[:500]


def stats(conn: Connection, now: datetime) -> dict[str, Any]:
    """Deliveries and e-mails by status, the queue's depth, and the age of the oldest undelivered (seconds)."""
    by_status = dict(conn.execute(select(deliveries.c.status, func.count()).group_by(deliveries.c.status)).all())
    mail = dict(conn.execute(select(emails.c.status, func.count()).group_by(emails.c.status)).all())
    oldest = conn.scalar(select(func.min(deliveries.c.created_at)).where(deliveries.c.status == "pending"))
    oldest_mail = conn.scalar(select(func.min(emails.c.created_at)).where(emails.c.status == "pending"))
    return {
        "deliveries": {s: by_status.get(s, 0) for s in ("pending", "succeeded", "failed")},
        "emails": {s: mail.get(s, 0) for s in ("pending", "sent", "failed", "skipped")},
        "oldest_undelivered_seconds": (now - oldest).total_seconds() if oldest else None,
        "oldest_unsent_email_seconds": (now - oldest_mail).total_seconds() if oldest_mail else None,
    }
