"""Following the log: LISTEN/NOTIFY on PostgreSQL, polling on SQLite, riding out the database going away.

Following is part of ReadModel (projections.read_model), which holds the state it uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import psycopg
import sqlalchemy.exc
from eventsourcing import persistence as es_persistence
from psycopg import sql

if TYPE_CHECKING:
    from projections.read_model import Progress

MAX_OUTAGE_WAIT = 5.0
# How long the PostgreSQL follower lets more commits gather after a notification wakes it (see follow).
FOLLOW_SETTLE = 0.005
# What an unreachable or restarting database raises, through each of the layers that talk to it.
STORE_UNAVAILABLE = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    es_persistence.OperationalError,
    es_persistence.InterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)


def log_channel(recorder: object) -> str:
    """The channel the event store's PostgreSQL recorder notifies at each commit (LISTEN to it)."""
    return str(getattr(recorder, "channel_name", "tracker_events"))


class Following:
    """ReadModel following the log until stop() is called."""

    def follow(
        self,
        *,
        idle_wait: float = 1.0,
        settle: float = FOLLOW_SETTLE,
        on_batch: Progress | None = None,
        on_outage: Callable[[Exception, float], None] | None = None,
    ) -> None:
        """Follow the log until stop() is called: LISTEN/NOTIFY on PostgreSQL, polling on SQLite.

        On PostgreSQL a notification is followed by `settle` seconds for more commits to join the batch: a batch's
        four round trips and its commit are paid once however many events it holds, and under load the worker
        otherwise spends its CPU (shared with the web workers) on batches of one or two events.

        When the database goes away (a restart, a failover) the follower waits, with a growing pause up to
        MAX_OUTAGE_WAIT seconds, and carries on from its tracked position once the database answers again."""
        self._stop.clear()
        pause = 0.5
        while not self._stop.is_set():
            try:
                if self.config.kind == "postgresql":
                    self._follow_postgres(idle_wait, settle, on_batch)
                else:
                    while not self._stop.is_set():
                        if self.catch_up(on_batch) == 0:
                            self._stop.wait(0.05)
                return
            except STORE_UNAVAILABLE as error:
                if on_outage is not None:
                    on_outage(error, pause)
                self._stop.wait(pause)
                pause = min(pause * 2, MAX_OUTAGE_WAIT)

    def _follow_postgres(self, idle_wait: float, settle: float, on_batch: Progress | None) -> None:
        recorder = self.app.recorder
        channel = log_channel(recorder)
        # The follower holds one writer connection: one from the pool for each batch would ping the server first.
        with self.config.connect(autocommit=True) as listener, self.writer.connect() as held:
            self._held.conn = held
            try:
                # Listen before the first catch-up, so no commit falls between the two unnoticed.
                listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                while not self._stop.is_set():
                    # The notifications already here are for commits the catch-up below reads: take them now, or
                    # each would wake a read that finds nothing new. A commit after this point notifies after it.
                    for _ in listener.notifies(timeout=0):
                        pass
                    self.catch_up(on_batch)
                    woken = False
                    for _ in listener.notifies(timeout=idle_wait, stop_after=1):
                        woken = True
                    if woken and settle > 0:
                        self._stop.wait(settle)
            finally:
                self._held.conn = None

    def stop(self) -> None:
        self._stop.set()
