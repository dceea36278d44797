"""After the soak: every acknowledged write is in the event store, and every read model equals a clean rebuild."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID

from projections.dump import dump
from projections.migrate import upgrade
from projections.read_model import ReadModel
from soak.ledger import ITEM_FIELDS, Write
from storage.schema import create_event_tables, drop_postgres_schema
from tracker.application import TrackerApplication

PAGE = 1000


@dataclass
class LedgerCheck:
    """The client-side ledger against the event store."""

    events: int = 0
    checked: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unknown_landed: int = 0
    unknown_absent: int = 0
    refused_stored: Counter[int] = field(default_factory=Counter)


def read_log(app: TrackerApplication) -> dict[int, Any]:
    """The whole notification log, decoded: position -> domain event."""
    log: dict[int, Any] = {}
    start = 1
    while True:
        page = app.recorder.select_notifications(start, PAGE)
        for notification in page:
            log[notification.id] = app.mapper.to_domain_event(notification)
        if len(page) < PAGE:
            return log
        start = page[-1].id + 1


def _event_type(event: Any) -> str:
    return type(event).__qualname__.split(".")[-1]


def _problem(write: Write, event: Any, stream: Callable[[UUID], dict[int, int]]) -> str | None:
    """Why this acknowledged write is not in the store as acknowledged (None: it is)."""
    where = f"{write.kind} {write.aggregate_id} v{write.version} @{write.position} (request {write.request_id})"
    if write.position is None or write.version is None or write.aggregate_id is None:
        return f"{where}: the 2xx answer lacked X-Event-Position, ETag or the aggregate id"
    if event is None:
        return f"{where}: no event at that log position"
    found = (str(event.originator_id), event.originator_version)
    if found != (write.aggregate_id, write.version):
        return f"{where}: the position holds {found[0]} v{found[1]} instead"
    checks = {
        "type": (_event_type(event), write.event_type),
        "actor": (event.actor_id, write.actor),
        "correlation id": (event.correlation_id, write.request_id),
    }
    if write.kind in ITEM_FIELDS:
        checks["item"] = (str(getattr(event, ITEM_FIELDS[write.kind], None)), write.item_id)
    for name, (stored, sent) in checks.items():
        if stored != sent:
            return f"{where}: stored {name} {stored!r}, acknowledged {sent!r}"
    if stream(UUID(write.aggregate_id)).get(write.version) != write.position:
        return f"{where}: the aggregate's own stream does not hold that version at that position"
    return None


def check_ledger(app: TrackerApplication, writes: Iterable[Write]) -> LedgerCheck:
    """Look every acknowledged write up by position and by aggregate id and version; account for the rest."""
    log = read_log(app)
    report = LedgerCheck(events=len(log))
    by_request: dict[str, list[int]] = defaultdict(list)
    versions: dict[UUID, list[int]] = defaultdict(list)
    for position, event in log.items():
        versions[event.originator_id].append(event.originator_version)
        if event.correlation_id:
            by_request[event.correlation_id].append(position)
    streams: dict[UUID, dict[int, int]] = {}

    def stream(aggregate_id: UUID) -> dict[int, int]:
        if aggregate_id not in streams:
            streams[aggregate_id] = app.event_positions(aggregate_id)
        return streams[aggregate_id]

    for write in writes:
        stored = by_request.get(write.request_id, [])
        if len(stored) > 1:
            report.duplicates.append(f"{write.kind} request {write.request_id} stored at {stored}")
        if write.acknowledged:
            report.checked += 1
            problem = _problem(write, log.get(write.position or 0), stream)
            if problem:
                report.lost.append(problem)
        elif write.status is None:
            if stored:
                report.unknown_landed += 1
            else:
                report.unknown_absent += 1
        elif stored:
            report.refused_stored[write.status] += 1
    for aggregate_id, seen in versions.items():
        if sorted(seen) != list(range(1, len(seen) + 1)):
            report.lost.append(f"aggregate {aggregate_id}: versions {sorted(seen)[:20]} are not contiguous from 1")
    return report


def sibling_url(url: str, suffix: str) -> str:
    """The same PostgreSQL database with another schema: `<schema>_<suffix>`."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["schema"] = f"{query.get('schema', 'public')}_{suffix}"
    return urlunsplit(parts._replace(query=urlencode(query)))


def _differing_rows(left: list[tuple[Any, ...]], right: list[tuple[Any, ...]]) -> int:
    a, b = Counter(map(repr, left)), Counter(map(repr, right))
    return sum(((a - b) + (b - a)).values())


def compare_with_rebuild(app: TrackerApplication, url: str) -> tuple[dict[str, int], dict[str, int]]:
    """Rebuild every read model from position 0 into a separate schema and compare it row for row with the live one.

    Returns the differing rows per table and the row counts of the live tables."""
    rebuild_url = sibling_url(url, "rebuild")
    create_event_tables(rebuild_url)  # the schema (its empty event tables are never used)
    live = ReadModel(app, url, pool_size=1)
    clean = ReadModel(app, rebuild_url, pool_size=1)
    try:
        upgrade(rebuild_url)
        clean.catch_up()
        if clean.position() != live.position():
            raise RuntimeError(f"the rebuild reached {clean.position()}, the live read model {live.position()}")
        ours, theirs = dump(live), dump(clean)
    finally:
        live.close()
        clean.close()
        drop_postgres_schema(rebuild_url)
    return {name: _differing_rows(rows, theirs[name]) for name, rows in ours.items()}, {
        name: len(rows) for name, rows in ours.items()
    }
