"""The tracker application bound to a store: SQLite's writer lock, ciphers from the environment, indexed positions."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError, Recording
from eventsourcing.utils import Environment, EnvType

from storage.config import StoreConfig, StoreConfigError, cipher_env
from storage.group_commit import GroupCommit
from storage.locks import StoreOpen, sqlite_writer_lock
from storage.positions import event_positions
from storage.postgres import HoldingDatastore
from tracker.application import A, TrackerApplication, utc_now


class StoredTrackerApplication(TrackerApplication):
    """TrackerApplication with what its store needs: one writer at a time per SQLite file, log positions read from
    the store's index by aggregate, and (with `group_commit`) the events of concurrent commands stored in shared
    transactions (storage.group_commit)."""

    # Named as the plain application is: the name gives the PostgreSQL tables and the environment's prefix.
    name = TrackerApplication.name

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        group_commit: bool = False,
    ) -> None:
        # A process with a SQLite store open says so for as long as it has (storage.locks.StoreOpen): a restore is
        # refused meanwhile, and one under way is waited for before the file is opened.
        opened = _sqlite_file(env or {})
        self._store_open = StoreOpen(opened) if opened and opened != ":memory:" else None
        if self._store_open is not None:
            self._store_open.hold()
        try:
            super().__init__(env, clock=clock)
        except BaseException:
            self.release_store()
            raise
        path = _sqlite_file(self.env)
        self._writer_lock: AbstractContextManager[Any] = sqlite_writer_lock(path) if path else nullcontext()
        datastore = getattr(self.factory, "datastore", None)
        self._holding: HoldingDatastore | None = datastore if isinstance(datastore, HoldingDatastore) else None
        self.group_commit: GroupCommit | None = None
        if group_commit:
            self.group_commit = GroupCommit(self.recorder.insert_events, self._writer_lock)
            self.events.recorder = _GroupCommitted(self.recorder, self.group_commit)  # type: ignore[assignment]

    def close(self) -> None:
        super().close()
        self.release_store()

    def release_store(self) -> None:
        if self._store_open is not None:
            self._store_open.release()

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        if self.group_commit is not None:
            if self._holding is not None:
                # A save may wait for another thread to store its events: no connection is held meanwhile.
                self._holding.release()
            # The group commit takes the writer lock for each transaction, and take_snapshot for each snapshot.
            return super().save(*objs, **kwargs)
        with self._writer_lock:
            return super().save(*objs, **kwargs)

    def connection_held(self) -> AbstractContextManager[Any]:
        """A unit of work of this thread in which the store keeps one connection (storage.postgres.HoldingDatastore):
        one ping instead of one per call. Nothing on the stores without a pool.

        Loads hold one. A save in a group commit gives a held connection back first: it may wait for another thread
        to store its events, and that thread may need a connection from the pool."""
        return self._holding.holding() if self._holding is not None else nullcontext()

    def _get(self, cls: type[A], aggregate_id: UUID, version: int | None = None) -> A:
        # Its snapshots and its events on one connection.
        with self.connection_held():
            return super()._get(cls, aggregate_id, version)

    def take_snapshot(self, *args: Any, **kwargs: Any) -> None:
        if self.group_commit is None:
            super().take_snapshot(*args, **kwargs)  # under save's writer lock, or alone
            return
        with self._writer_lock:
            super().take_snapshot(*args, **kwargs)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        environment = super().construct_env(name, env)
        # TRACKER_CIPHER_KEY in os.environ reaches eventsourcing even when no key was given (as in 'tracker db
        # upgrade'): pair it with the same cipher and compressor as the settings do, never the pycryptodome default.
        key = environment.get("CIPHER_KEY")
        if key and not dict(env or {}).get("CIPHER_KEY"):
            for setting, value in cipher_env(key).items():
                environment.pop(f"{name.upper()}_{setting}", None)
                environment[setting] = value
        return environment

    def event_positions(self, aggregate_id: UUID) -> dict[int, int]:
        found = event_positions(self.recorder, aggregate_id)
        return super().event_positions(aggregate_id) if found is None else found


class _GroupCommitted:
    """The event store's recorder as the event store sees it: its inserts go through the group commit, the rest
    straight to the recorder."""

    def __init__(self, recorder: Any, group: GroupCommit) -> None:
        self._recorder = recorder
        self.insert_events = group.insert_events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._recorder, name)


def _sqlite_file(env: Mapping[str, str]) -> str | None:
    """The SQLite file an application's settings name, if they name one."""
    return env.get("SQLITE_DBNAME") if env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite" else None


def open_application(
    url: str,
    *,
    create_tables: bool = False,
    clock: Callable[[], datetime] = utc_now,
    group_commit: bool = False,
    **kw: Any,
) -> TrackerApplication:
    """The application over the store at `url` (`kw`: pool_size, cipher_key; see StoreConfig.event_store_env).
    With `group_commit`, concurrent commands share transactions (storage.group_commit)."""
    return StoredTrackerApplication(
        StoreConfig.from_url(url).event_store_env(create_tables=create_tables, **kw),
        clock=clock,
        group_commit=group_commit,
    )


def check_stored_events_readable(app: TrackerApplication) -> None:
    """Decode the newest stored event, so a wrong or missing cipher key fails at start-up, and says so.

    A store that cannot be read yet (no tables, or the server unreachable) is left for requests to report.
    """
    try:
        position = app.recorder.max_notification_id()
        notifications = app.recorder.select_notifications(position, 1) if position else []
    except PersistenceError:
        return
    for notification in notifications:
        try:
            app.mapper.to_domain_event(notification)
        except (ValueError, zlib.error) as exc:
            encrypted = app.mapper.cipher is not None
            raise StoreConfigError(
                f"the stored event at position {notification.id} cannot be read "
                + (
                    "with this TRACKER_CIPHER_KEY: it is not the key the events were written with, "
                    "or they were written without encryption"
                    if encrypted
                    else "without a cipher key: the events were written encrypted, so set TRACKER_CIPHER_KEY"
                )
                + f" ({type(exc).__name__}: {exc})"
            ) from exc
