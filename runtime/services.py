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
from runtime.workers import AcknowledgedMark, Follower
from storage.config import StoreConfig
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
    # On a SQLite file (which several web processes may serve): which process follows the log, and how far their
    # writes have gone (runtime.workers).
    follower: Follower | None = None
    mark: AcknowledgedMark | None = None

    def __post_init__(self) -> None:
        self.waiters = threading.BoundedSemaphore(self.settings.read_waiters)
        self.log_watch = LogWatch(self.app.current_position)

    def start_following(self) -> None:
        """Run the projection and outbox threads the settings ask for (inline projections, inline outbox): in this
        process, or, on a SQLite file, in whichever of the processes serving it holds the follower lock."""
        if self.settings.inline_projections and self.projection is None:
            # Every process has one, for its reads (caught_up); only the follower's thread runs.
            self.projection = BackgroundProjection(self.read_model)
        if self.projection is None and not (self.settings.inline_outbox and self.outbox is not None):
            return
        config = StoreConfig.from_url(self.settings.database_url)
        if config.kind != "sqlite" or not config.path or config.path == ":memory:":
            self._follow()
            return
        self.mark = AcknowledgedMark(config.path)
        # A mark beyond the log's end is left from another file of the same name: no read must wait for it.
        self.mark.clamp(self.app.current_position())
        self.follower = Follower(config.path, self._follow)
        self.follower.begin()

    def _follow(self) -> None:
        if self.projection is not None:
            self.projection.start()
        if self.settings.inline_outbox and self.outbox is not None:
            self.outbox.start()

    def after_write(self, position: int) -> None:
        """A write up to `position` is stored: the projection thread applies it in its next batch."""
        if self.mark is not None:
            self.mark.advance(position)
        self.log_watch.written(position)
        if self.outbox is not None:
            self.outbox.wake()
        if self.projection is not None:
            self.projection.written(position)

    def read_your_writes(self) -> None:
        """Before a read: every write acknowledged before it (by this process, or by any process serving the same
        SQLite file) is projected, applied here if it is not yet."""
        if self.projection is not None:
            others = self.mark.read() if self.mark is not None else 0
            self.projection.caught_up(self.settings.read_wait_timeout, at_least=others)

    def close(self, *, wait_for_sends: bool = True) -> None:
        """Stop the process's threads and close its connections; without `wait_for_sends`, webhooks and e-mails
        under way are not waited for (outbox.sending.Sender.close)."""
        if self.outbox is not None:
            self.outbox.close(wait_for_sends=wait_for_sends)
        if self.projection is not None:
            self.projection.stop()
        if self.follower is not None:
            self.follower.stop()  # after the threads it started: another process may follow from here
        self.read_model.close()
        self.app.close()
