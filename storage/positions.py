"""Log positions of one aggregate's events, read from whichever recorder the application uses."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier


def event_positions(recorder: ApplicationRecorder, originator_id: UUID) -> dict[int, int] | None:
    """Map each stored version of the aggregate to its log position, from the store's index by aggregate; None for
    a store without one (the in-memory store), which the application reads through instead."""
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
    return None
