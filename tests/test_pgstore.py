"""While PostgreSQL is unreachable, store calls fail within seconds (so the API can answer 503), not a minute."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import OperationalError
from psycopg.sql import SQL

from storage.config import StoreConfig
from storage.postgres import ATTEMPTS, FailFastAggregateRecorder, FailFastApplicationRecorder


class _Unreachable:
    """A datastore whose every transaction fails as a closed server would."""

    schema = "public"
    enable_db_functions = False

    def __init__(self) -> None:
        self.calls = 0

    def transaction(self, *, commit: bool = False) -> Any:
        self.calls += 1
        raise OperationalError("connection refused")

    def get_connection(self) -> Any:
        return self.transaction()


@pytest.mark.parametrize(
    ("recorder", "method", "args"),
    [
        (FailFastApplicationRecorder, "insert_events", ([object()],)),
        (FailFastApplicationRecorder, "select_events", ("00000000-0000-0000-0000-000000000000",)),
        (FailFastApplicationRecorder, "select_notifications", (1, 10)),
        (FailFastApplicationRecorder, "max_notification_id", ()),
        (FailFastAggregateRecorder, "insert_events", ([object()],)),
        (FailFastAggregateRecorder, "select_events", ("00000000-0000-0000-0000-000000000000",)),
    ],
)
def test_each_store_call_is_tried_twice_then_fails(recorder: type, method: str, args: tuple[Any, ...]) -> None:
    datastore = _Unreachable()
    instance = recorder.__new__(recorder)
    instance.datastore = datastore
    instance.events_table_name = "tracker_events"
    instance.select_events_statement = SQL("SELECT 1")
    with pytest.raises(OperationalError):
        getattr(instance, method)(*args)
    assert datastore.calls == ATTEMPTS


def test_postgres_urls_use_the_fail_fast_recorders() -> None:
    env = StoreConfig.from_url("postgresql://postgres@127.0.0.1:5432/test").event_store_env(create_tables=False)
    assert env["PERSISTENCE_MODULE"] == "storage.postgres:FailFastPostgresFactory"
    assert int(env["POSTGRES_CONNECT_TIMEOUT"]) <= 2
