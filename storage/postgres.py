"""PostgreSQL recorders that give up quickly when the database is unreachable.

eventsourcing's PostgreSQL recorders try each call ten times, and each try can wait for the whole connect timeout.
While PostgreSQL is down that holds a request for the better part of a minute, so web threads pile up behind it
and callers get no answer at all. These recorders try twice, which still rides over one broken pooled connection
after a restart, and then raise, so the API answers 503 at once and recovers by itself when the database is back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresFactory
from eventsourcing.utils import retry

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


class FailFastPostgresFactory(PostgresFactory):
    aggregate_recorder_class = FailFastAggregateRecorder
    application_recorder_class = FailFastApplicationRecorder


FACTORY_TOPIC = f"{__name__}:{FailFastPostgresFactory.__name__}"
