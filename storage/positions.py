"""Log positions of one aggregate's events, read from whichever recorder the application uses."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

_POPO_PAGE = 10_000


def event_positions(recorder: ApplicationRecorder, originator_id: UUID) -> dict[int, int]:
    """Map each stored version of the aggregate to its position in the notification log."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT originator_version, rowid FROM {recorder.events_table_name} WHERE originator_id=?",  # noqa: S608
                (originator_id.hex,),
            )
            return {row[0]: row[1] for row in c.fetchall()}
    if isinstance(recorder, PostgresApplicationRecorder):
        statement = SQL("SELECT originator_version, notification_id FROM {}.{} WHERE originator_id = %s").format(
            Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
        )
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute(statement, (originator_id,), prepare=True)
            return {row["originator_version"]: row["notification_id"] for row in curs.fetchall()}
    if isinstance(recorder, POPOApplicationRecorder):
        # The in-memory store has no index by originator; it is only used in tests.
        found: dict[int, int] = {}
        start = 1
        while True:
            page = recorder.select_notifications(start, _POPO_PAGE)
            for n in page:
                if n.originator_id == originator_id:
                    found[n.originator_version] = n.id
            if len(page) < _POPO_PAGE:
                return found
            start = page[-1].id + 1
    msg = f"no position lookup for {type(recorder).__name__}"
    raise TypeError(msg)
