"""Group commit: the events of concurrent commands in one process stored in one transaction.

Each command saves its aggregate's new events as it always has, through eventsourcing's event store. The store's
recorder is reached through GroupCommit, which lets one command at a time lead: the leader takes every command's
events that have queued since the last transaction, inserts them in one transaction (one table lock and one commit on
PostgreSQL, one fsync on SQLite), and hands each command its own notification ids. Commands that arrive meanwhile
queue for the next transaction, whose leader is the first of them.

Each command stays atomic and isolated. When a transaction of several commands fails on a conflict (an aggregate's
version moved: another writer got there first, or two queued commands changed one aggregate), each command is
inserted again alone, so only the one that conflicts fails, and its caller retries it or answers 412 as it would
without the group. An error that is not a conflict (the database went away) fails every command of the transaction,
as each would have failed alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from eventsourcing.persistence import RecordConflictError, StoredEvent

# The most events one transaction takes; the rest wait for the next (a burst never makes one huge transaction).
MAX_EVENTS = 1000

Insert = Callable[..., Sequence[int] | None]


class _Command:
    """One command's events, waiting to be stored, and what became of them."""

    __slots__ = ("error", "events", "ids", "leads", "stored")

    def __init__(self, events: Sequence[StoredEvent]) -> None:
        self.events = events
        self.leads = False
        self.stored = False
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None

    def result(self) -> Sequence[int] | None:
        if self.error is not None:
            raise self.error
        return self.ids


class GroupCommit:
    """Stores the events of concurrent commands in shared transactions (`insert` is the recorder's insert_events,
    called under `lock`: on SQLite, the file's writer lock)."""

    def __init__(
        self,
        insert: Insert,
        lock: AbstractContextManager[Any] | None = None,
        *,
        max_events: int = MAX_EVENTS,
    ) -> None:
        self._insert = insert
        self._lock = lock or nullcontext()
        self.max_events = max_events
        self._state = threading.Condition()
        self._queue: list[_Command] = []
        self._busy = False
        # Commands inserted again alone after their shared transaction met a conflict (the tests read it).
        self.retried_alone = 0

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Store one command's events, in a transaction shared with whatever else is waiting; returns their
        notification ids, or raises what storing them alone would have raised."""
        if any(value is not None for value in kwargs.values()):
            # Events saved with a tracking record (or anything else of their own) go alone.
            with self._lock:
                return self._insert(stored_events, **kwargs)
        me = _Command(stored_events)
        with self._state:
            self._queue.append(me)
            if not self._busy:
                self._busy = me.leads = True
            while not (me.leads or me.stored):
                self._state.wait()
            if me.stored:
                return me.result()
            batch = self._take()
        try:
            self._store(batch)
        finally:
            with self._state:
                if self._queue:
                    self._queue[0].leads = True
                else:
                    self._busy = False
                self._state.notify_all()
        return me.result()

    def _take(self) -> list[_Command]:
        """The queued commands for one transaction, oldest first, up to max_events (at least one)."""
        taken, events = 0, 0
        for command in self._queue:
            if taken and events + len(command.events) > self.max_events:
                break
            taken += 1
            events += len(command.events)
        batch, self._queue[:taken] = self._queue[:taken], []
        return batch

    def _store(self, batch: list[_Command]) -> None:
        try:
            if len(batch) == 1:
                self._alone(batch[0])
                return
            try:
                with self._lock:
                    ids = self._insert([e for command in batch for e in command.events])
            except RecordConflictError:
                # Which command conflicts is not known: each is stored alone, and only that one fails.
                self.retried_alone += len(batch)
                for command in batch:
                    self._alone(command)
                return
            except BaseException as error:
                for command in batch:
                    command.error = error
                return
            start = 0
            for command in batch:
                end = start + len(command.events)
                command.ids = list(ids[start:end]) if ids is not None else None
                start = end
        finally:
            for command in batch:
                command.stored = True

    def _alone(self, command: _Command) -> None:
        try:
            with self._lock:
                command.ids = self._insert(command.events)
        except BaseException as error:
            command.error = error
