"""PostgreSQL recorders that give up quickly when the database is unreachable, and a datastore that can keep one
connection for a thread's unit of work.

eventsourcing's PostgreSQL recorders try each call ten times, and each try can wait for the whole connect timeout.
While PostgreSQL is down that holds a request for the better part of a minute, so web threads pile up behind it
and callers get no answer at all. These recorders try twice, which still rides over one broken pooled connection
after a restart, and then raise, so the API answers 503 at once and recovers by itself when the database is back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import retry
from psycopg import Connection

ATTEMPTS = 2
WAIT_SECONDS = 0.2


def _fewer_attempts(method: Callable[..., Any]) -> Callable[..., Any]:
    """The library's method without its own retry decorator, retried ATTEMPTS times instead."""
    unwrapped = method.__wrapped__  # set by functools.wraps in eventsourcing.utils.retry
    return retry((InterfaceError, OperationalError), max_attempts=ATTEMPTS, wait=WAIT_SECONDS)(unwrapped)  # type: ignore[no-any-return]


class FailFastAggregateRecorder(PostgresAggregateRecorder):
    """Snapshots (and any other aggregate-only store)."""

    insert_events = _fewer_attempts(PostgresAggregateRecorder.insert_events)
    select_events = _fewer_attempts(PostgresAggregateRecorder.select_events)


class FailFastApplicationRecorder(PostgresApplicationRecorder):
    """The event store with its notification log."""

    insert_events = _fewer_attempts(PostgresApplicationRecorder.insert_events)
    select_events = _fewer_attempts(PostgresApplicationRecorder.select_events)
    select_notifications = _fewer_attempts(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _fewer_attempts(PostgresApplicationRecorder.max_notification_id)


class _Held(threading.local):
    """A thread's held connection: how deeply its scopes nest, and the pool's checkout it keeps open."""

    depth = 0
    checkout: AbstractContextManager[Connection[Any]] | None = None
    conn: Connection[Any] | None = None


class HoldingDatastore(PostgresDatastore):
    """The library's datastore, able to keep one connection for a thread's unit of work (holding()).

    Every checkout from the library's pool pings the server first (its `check`): what lets the first call after a
    restart find a live connection. Loading an aggregate checks out twice (its snapshots, then its events) and
    saving once more, so a command paid three pings. Inside holding() the thread's first checkout is kept and every
    later call in the scope uses it, with one ping for the lot. A call that fails gives the connection back (the pool
    drops it if it is broken) with the library's own translation of the error, so a retry checks out afresh, pinged."""

    _held: _Held

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held = _Held()

    @contextmanager
    def holding(self) -> Iterator[None]:
        held = self._held
        held.depth += 1
        failed = True
        try:
            yield
            failed = False
        finally:
            held.depth -= 1
            if held.depth == 0:
                try:
                    self.release()
                except Exception:
                    if not failed:
                        raise
                    # The error that ended the scope goes on up, not one from giving the connection back.

    def release(self) -> None:
        """Give this thread's held connection back to the pool now; a later call in the scope checks out another.

        For a call that may wait for other threads which need connections of their own (a save in a group
        commit): a connection held meanwhile could leave them none."""
        held = self._held
        if held.checkout is not None:
            checkout, held.checkout, held.conn = held.checkout, None, None
            checkout.__exit__(None, None, None)

    @contextmanager
    def get_connection(self) -> Iterator[Connection[Any]]:
        held = self._held
        if held.depth == 0:
            with super().get_connection() as conn:
                yield conn
            return
        checkout, conn = held.checkout, held.conn
        if checkout is None or conn is None:
            checkout = super().get_connection()
            conn = checkout.__enter__()
            held.checkout, held.conn = checkout, conn
        try:
            yield conn
        except BaseException as error:
            held.checkout = held.conn = None
            # Raises the library's translation of the error, once the pool has the connection back.
            if not checkout.__exit__(type(error), error, error.__traceback__):
                raise

    @classmethod
    def adopt(cls, datastore: PostgresDatastore) -> HoldingDatastore:
        """The factory's datastore, made a HoldingDatastore (the library's factory builds a PostgresDatastore)."""
        datastore.__class__ = cls
        assert isinstance(datastore, HoldingDatastore)
        datastore._held = _Held()
        return datastore


class FailFastPostgresFactory(PostgresFactory):
    aggregate_recorder_class = FailFastAggregateRecorder
    application_recorder_class = FailFastApplicationRecorder

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.datastore = HoldingDatastore.adopt(self.datastore)


FACTORY_TOPIC = f"{__name__}:{FailFastPostgresFactory.__name__}"
