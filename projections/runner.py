"""Runs the projections: batched catch-up with exactly-once tracking, live following, rebuild and status."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg import sql
from sqlalchemy import Connection, select, update

from projections import tables as t
from projections.engine import make_engine
from projections.handlers import PROJECTIONS
from projections.rows import Rows
from tracker.application import TrackerApplication
from tracker.stores import StoreConfig

BATCH_SIZE = 1000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    log_position: int

    @property
    def lag(self) -> int:
        return max(self.log_position - self.position, 0)


class ReadModel:
    """The SQL read model of one store: writes projections, answers 'how far along are we'."""

    def __init__(self, app: TrackerApplication, url: str, *, batch_size: int = BATCH_SIZE, pool_size: int = 5) -> None:
        self.app = app
        self.url = url
        self.config = StoreConfig.from_url(url)
        self.batch_size = batch_size
        self.reader = make_engine(url, pool_size=pool_size)
        self.writer = make_engine(url, writer=True, pool_size=2)
        self._stop = threading.Event()
        self._constants: dict[tuple[str, tuple[object, ...]], dict[str, object]] = {}

    def close(self) -> None:
        self._stop.set()
        self.reader.dispose()
        self.writer.dispose()

    # ---- positions -----------------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        with self.reader.connect() as conn:
            return {row.name: row.position for row in conn.execute(select(t.tracking.c.name, t.tracking.c.position))}

    def position(self) -> int:
        """How far every projection has got: the position all of them have processed."""
        return min(self.positions().values(), default=0)

    def status(self) -> list[ProjectionStatus]:
        log_position = self.app.current_position()
        return [ProjectionStatus(name, pos, log_position) for name, pos in sorted(self.positions().items())]

    # ---- catching up ---------------------------------------------------------------------

    def catch_up(self, progress: Progress | None = None, *, limit: int | None = None) -> int:
        """Apply every event not yet projected, one transaction per batch; returns how many."""
        done = 0
        target = self.app.current_position()
        while limit is None or done < limit:
            applied = self._apply_batch()
            if applied == 0:
                break
            done += applied
            if progress is not None:
                progress(self.position(), max(target, self.app.current_position()))
        return done

    def _apply_batch(self) -> int:
        with self.writer.begin() as conn:
            positions = self._lock_positions(conn)
            start = min(positions.values())
            notifications = self.app.recorder.select_notifications(start + 1, self.batch_size)
            if not notifications:
                return 0
            rows = Rows(conn, self._constants)
            to_event = self.app.mapper.to_domain_event
            rows.prefetch(t.innovations, {n.originator_id for n in notifications})
            for notification in notifications:
                event = to_event(notification)
                for name, handlers in PROJECTIONS.items():
                    if notification.id > positions[name]:
                        handler = handlers.get(type(event))
                        if handler is not None:
                            handler(rows, event, notification.id)
            rows.flush()
            last = notifications[-1].id
            conn.execute(
                update(t.tracking)
                .where(t.tracking.c.position < last)
                .values(position=last, updated_at=datetime.now(UTC).replace(tzinfo=None))
            )
            return len(notifications)

    def _lock_positions(self, conn: Connection) -> dict[str, int]:
        """Read the tracking rows under a lock, so concurrent catch-ups queue instead of double-applying."""
        query = select(t.tracking.c.name, t.tracking.c.position)
        if self.config.kind == "postgresql":
            query = query.with_for_update()
        # On SQLite the writer engine's BEGIN IMMEDIATE already holds the database's write lock.
        positions = {row.name: row.position for row in conn.execute(query)}
        missing = set(PROJECTIONS) - set(positions)
        if missing:
            raise RuntimeError(f"projection tracking rows missing for {sorted(missing)}: run 'tracker db upgrade'")
        return positions

    def wait_for(self, position: int, timeout: float = 5.0, *, catch_up: bool = True) -> bool:
        """Read-your-writes: wait until every projection has processed `position` (True), or time out (False)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.position() >= position:
                return True
            if catch_up:
                self.catch_up()
                continue_at = self.position()
                if continue_at >= position:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    # ---- following and rebuilding ----------------------------------------------------------

    def follow(self, *, idle_wait: float = 1.0, on_batch: Progress | None = None) -> None:
        """Follow the log until stop() is called: LISTEN/NOTIFY on PostgreSQL, polling on SQLite."""
        self._stop.clear()
        if self.config.kind == "postgresql":
            self._follow_postgres(idle_wait, on_batch)
        else:
            while not self._stop.is_set():
                if self.catch_up(on_batch) == 0:
                    self._stop.wait(0.05)

    def _follow_postgres(self, idle_wait: float, on_batch: Progress | None) -> None:
        recorder = self.app.recorder
        channel = getattr(recorder, "channel_name", "tracker_events")
        c = self.config
        with psycopg.connect(
            host=c.host, port=c.port, user=c.user, password=c.password, dbname=c.dbname, autocommit=True
        ) as listener:
            listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            while not self._stop.is_set():
                if self.catch_up(on_batch) == 0:
                    for _ in listener.notifies(timeout=idle_wait, stop_after=1):
                        pass

    def stop(self) -> None:
        self._stop.set()

    def rebuild(self, progress: Progress | None = None) -> int:
        """Empty every read-model table and project the whole log again from position 0."""
        with self.writer.begin() as conn:
            self._lock_positions(conn)
            for table in reversed(t.READ_MODEL_TABLES):
                conn.execute(table.delete())
            conn.execute(update(t.tracking).values(position=0))
        return self.catch_up(progress)
