"""The outbox of one store, put together: its endpoints, the derivation from the log, the sender, and the loop that
runs them (a thread of the web process on SQLite, `tracker outbox run` on PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

import structlog
from psycopg import sql
from sqlalchemy import Connection, select

from outbox import sending
from outbox.derive import Derivation
from outbox.endpoints import Endpoints, aware
from outbox.guard import Resolver, resolve
from outbox.mail import Mailer
from outbox.preferences import Preferences
from outbox.tables import emails
from projections.clock import utc_now
from projections.engine import make_engine
from projections.following import STORE_UNAVAILABLE, log_channel
from projections.migrate import SchemaMismatch
from storage.config import StoreConfig
from storage.locks import sqlite_writer_lock
from tracker.application import TrackerApplication

log = structlog.get_logger("tracker.outbox")

# How often the loop looks for new events and for sends that have come due, when nothing wakes it: often in a
# worker process of its own on SQLite (nothing else wakes it); in a thread of a web process, whose own writes wake it,
# a little less often (other web processes' writes are found so); seldom on PostgreSQL, whose commits wake it
# (LISTEN/NOTIFY).
POLL_SECONDS = 0.05
INLINE_POLL_SECONDS = 0.1
LISTENING_POLL_SECONDS = 0.5
# How long a woken loop lets more writes gather, so that one round serves them all. A round costs a few milliseconds
# of CPU and a dozen statements however few events it carries, so under a steady stream of writes (a commit
# notification, or a write of this process, every few milliseconds) the rounds are what the outbox costs; the wait
# is what each webhook and e-mail waits longer.
SETTLE_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 5.0


class Outbox:
    def __init__(
        self,
        app: TrackerApplication,
        url: str,
        *,
        allow_private: bool = False,
        mailer: Mailer | None = None,
        render: sending.Renderer | None = None,
        clock: Callable[[], datetime] = utc_now,
        resolver: Resolver = resolve,
        poll: float = POLL_SECONDS,
        **sender_options: Any,
    ) -> None:
        config = StoreConfig.from_url(url)
        self.config = config
        self.app = app
        self.reader = make_engine(url, pool_size=2)
        self.writer = make_engine(url, writer=True, pool_size=4)
        lock: AbstractContextManager[Any] = (
            sqlite_writer_lock(config.path) if config.kind == "sqlite" and config.path else nullcontext()
        )
        self.clock = clock
        self.poll = poll
        self.endpoints = Endpoints(
            self.reader, self.writer, lock, app.current_position, allow_private=allow_private, resolver=resolver
        )
        self.preferences = Preferences(self.reader, self.writer, lock)
        self.derivation = Derivation(app, self.reader, self.writer, lock, kind=config.kind, clock=clock)
        self.sender = sending.Sender(
            app,
            self.reader,
            self.writer,
            lock,
            kind=config.kind,
            clock=clock,
            allow_private=allow_private,
            resolver=resolver,
            mailer=mailer,
            render=render,
            **sender_options,
        )
        self._wake = threading.Event()
        # Set by a notification of a commit to the log (PostgreSQL), with _wake.
        self._notified = threading.Event()
        self._stop = threading.Event()
        self.sender.on_finished = self._wake.set
        self._thread: threading.Thread | None = None

    # ---- running -------------------------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Derive what is new and send everything due, waiting for the sends; returns how many deliveries and
        e-mails it sent (each once, whatever the outcome)."""
        self.derivation.catch_up()
        return self.sender.dispatch(wait=True)

    def follow(self) -> None:
        """Derive and send until stop() is called, riding out the database going away.

        Fresh deliveries are claimed as they are derived, in the derivation's transaction, and sent at once; what
        waits (retries, a backlog beyond an endpoint's lanes, a redelivery) is claimed when due."""
        self._stop.clear()
        listener = None
        if self.config.kind == "postgresql":
            listener = threading.Thread(target=self._listen, name="tracker-outbox-listen", daemon=True)
            listener.start()
        backoff = self.poll
        notified = False
        refused: str | None = None
        try:
            while not self._stop.is_set():
                try:
                    self.derivation.catch_up(self.sender, known_behind=notified)
                    self.sender.dispatch()
                    backoff = self.poll
                    refused = None
                except Exception as error:
                    if isinstance(error, SchemaMismatch):
                        # Nothing is derived or sent until the schema or this process changes: said once.
                        if str(error) != refused:
                            log.error("outbox_refused", reason=str(error), retry_in=MAX_BACKOFF_SECONDS)
                            refused = str(error)
                        backoff = MAX_BACKOFF_SECONDS
                    elif isinstance(error, STORE_UNAVAILABLE):
                        log.warning("outbox_store_unavailable", error=str(error), retry_in=backoff)
                    else:
                        log.exception("outbox_failed", retry_in=backoff)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                    continue
                # Woken by a commit's notification, a write in this process or a finished send (after a pause for
                # more to gather); otherwise look again after `poll`.
                if self._wake.wait(self.poll):
                    self._stop.wait(SETTLE_SECONDS)
                notified = self._notified.is_set()
                self._notified.clear()
                self._wake.clear()
        finally:
            if listener is not None:
                self._wake.set()
                listener.join(5)

    def _listen(self) -> None:
        """Wake the loop at each commit to the log (PostgreSQL LISTEN/NOTIFY) until stop(), riding out outages."""
        channel = log_channel(self.app.recorder)
        pause = 0.5
        while not self._stop.is_set():
            try:
                with self.config.connect(autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    pause = 0.5
                    # A commit while nobody listened is found by the round this wakes.
                    self._notified.set()
                    self._wake.set()
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self._notified.set()
                            self._wake.set()
            except STORE_UNAVAILABLE as error:
                log.warning("outbox_listener_unavailable", error=str(error), retry_in=pause)
                self._stop.wait(pause)
                pause = min(pause * 2, MAX_BACKOFF_SECONDS)

    def start(self) -> None:
        """Follow in a daemon thread of this process."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.follow, name="tracker-outbox", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self, *, wait_for_sends: bool = True) -> None:
        self.stop()
        self.sender.close(wait=wait_for_sends)
        self.reader.dispose()
        self.writer.dispose()

    # ---- what operators read -------------------------------------------------------------------------------------

    def stats(self, conn: Connection | None = None) -> dict[str, Any]:
        """Deliveries and e-mails by status, the oldest undelivered age, and the outbox's lag behind the log."""
        if conn is None:
            with self.reader.connect() as own:
                return self.stats(own)
        found = sending.stats(conn, utc_now())
        position = self.derivation.position(conn)
        found["position"] = position
        found["lag"] = max(self.app.current_position() - position, 0)
        return found

    def emails(
        self, *, status: str | None = None, after: int = 0, limit: int = 100, newest_first: bool = False
    ) -> list[dict[str, Any]]:
        """The e-mails in the outbox, oldest first unless asked otherwise (for admins): kind, person, status and
        attempts, never a token."""
        query = select(emails).where(emails.c.id > after)
        if status is not None:
            query = query.where(emails.c.status == status)
        order = emails.c.id.desc() if newest_first else emails.c.id
        with self.reader.connect() as conn:
            rows = conn.execute(query.order_by(order).limit(limit)).all()
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "person_id": r.person_id,
                "about": {k: v for k, v in r.context.items() if k != "token"},
                "status": r.status,
                "attempts": r.attempts,
                "created_at": aware(r.created_at),
                "next_attempt_at": aware(r.next_attempt_at),
                "sent_at": aware(r.sent_at),
                "last_error": r.last_error,
            }
            for r in rows
        ]
