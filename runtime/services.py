"""What the HTTP layer talks to, built once per process by the composition root."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from access.keys import KeyStore
from access.people import PeopleStore
from access.signin import SignIn
from outbox.service import Outbox
from projections.background import BackgroundProjection
from projections.read_model import ReadModel
from runtime.log_watch import LogWatch
from runtime.settings import Settings
from tracker.application import TrackerApplication


@dataclass
class Services:
    settings: Settings
    app: TrackerApplication
    read_model: ReadModel
    keys: KeyStore
    people: PeopleStore
    signin: SignIn
    # Webhooks and e-mail; sending in a thread of this process when the settings ask for an inline outbox.
    outbox: Outbox | None = None
    # With inline projections (SQLite): the web process's own projection thread.
    projection: BackgroundProjection | None = None
    # Reads waiting for X-Min-Position (at most settings.read_waiters at once; see api.http.wait_for_projections).
    # Reads waiting for X-Min-Position, and event feed reads waiting for a new event, share this bound.
    waiters: threading.BoundedSemaphore = field(init=False)
    # Wakes event feed reads waiting for the log to grow (GET /api/v1/events?wait=).
    log_watch: LogWatch = field(init=False)

    def __post_init__(self) -> None:
        self.waiters = threading.BoundedSemaphore(self.settings.read_waiters)
        self.log_watch = LogWatch(self.app.current_position)

    def start_inline_projections(self) -> None:
        """Project this process's writes in a thread of its own (when the settings ask for inline projections)."""
        if self.settings.inline_projections and self.projection is None:
            self.projection = BackgroundProjection(self.read_model)
            self.projection.start()

    def start_inline_outbox(self) -> None:
        """Derive and send the outbox in a thread of this process (when the settings ask for an inline outbox)."""
        if self.settings.inline_outbox and self.outbox is not None:
            self.outbox.start()

    def after_write(self, position: int) -> None:
        """A write up to `position` is stored: the projection thread applies it in its next batch."""
        self.log_watch.written(position)
        if self.outbox is not None:
            self.outbox.wake()
        if self.projection is not None:
            self.projection.written(position)

    def read_your_writes(self) -> None:
        """Before a read: every write this process acknowledged is projected (applied here if it is not yet)."""
        if self.projection is not None:
            self.projection.caught_up(self.settings.read_wait_timeout)

    def close(self) -> None:
        if self.outbox is not None:
            self.outbox.close()
        if self.projection is not None:
            self.projection.stop()
        self.read_model.close()
        self.app.close()
