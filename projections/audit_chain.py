"""The audit chain in SQL: extended in lockstep with the projections, and verified against the raw event store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from eventsourcing.persistence import ApplicationRecorder, Notification
from sqlalchemy import Connection, Engine, select

from projections import tables as t
from projections.rows import BulkWriter
from tracker.audit_chain import GENESIS, Link, Verification, verify_chain

# The chain's row in the tracking table: it advances in the same transaction as the projections' rows.
NAME = "audit_chain"
VERIFY_BATCH_SIZE = 1000


# Read by every projection batch: built once (a statement built per call costs several times what running it does).
_HEAD = select(t.audit_chain.c.position, t.audit_chain.c.hash).order_by(t.audit_chain.c.position.desc()).limit(1)


def head(conn: Connection) -> Link:
    """The last recorded link: its position and hash (position 0 and GENESIS while the chain is empty)."""
    row = conn.execute(_HEAD).first()
    return Link(0, GENESIS) if row is None else Link(row.position, row.hash)


def link_at(conn: Connection, position: int) -> Link | None:
    c = t.audit_chain
    row = conn.execute(select(c.c.position, c.c.hash).where(c.c.position == position)).first()
    return None if row is None else Link(row.position, row.hash)


def record(conn: Connection, links: Sequence[Link]) -> None:
    """Record links computed from the chain's head: only writes, so they can share a round trip with others."""
    if links:
        BulkWriter(conn).insert(t.audit_chain, [{"position": link.position, "hash": link.hash} for link in links])


def stream_events(recorder: ApplicationRecorder, stop: int, batch_size: int) -> Iterator[Notification]:
    """The stored events up to position `stop`, in log order, read a batch at a time."""
    start = 1
    while start <= stop:
        batch = recorder.select_notifications(start, batch_size, stop=stop)
        yield from batch
        if len(batch) < batch_size:
            return
        start = batch[-1].id + 1


def stream_links(engine: Engine, stop: int, batch_size: int) -> Iterator[Link]:
    """The recorded links up to position `stop`, in log order, a batch (and a short read) at a time."""
    c = t.audit_chain
    after = 0
    while True:
        query = (
            select(c.c.position, c.c.hash)
            .where(c.c.position > after, c.c.position <= stop)
            .order_by(c.c.position)
            .limit(batch_size)
        )
        with engine.connect() as conn:
            batch = [Link(row.position, row.hash) for row in conn.execute(query)]
        yield from batch
        if len(batch) < batch_size:
            return
        after = batch[-1].position


def verify(
    recorder: ApplicationRecorder,
    engine: Engine,
    *,
    position: int | None = None,
    expected_hash: str | None = None,
    batch_size: int = VERIFY_BATCH_SIZE,
) -> Verification:
    """Recompute the chain from the stored events up to `position` (default: the chain's head) and compare.

    The recomputation is compared link by link with the recorded chain, and at `position` with `expected_hash`
    when one is given (for instance a head recorded outside the system), else with the recorded link there.
    """
    with engine.connect() as conn:
        chain_head = head(conn)
        target = chain_head.position if position is None else position
        if expected_hash is None:
            recorded = chain_head if target == chain_head.position else link_at(conn, target)
            expected_hash = recorded.hash if recorded is not None else None
    return verify_chain(
        stream_events(recorder, target, batch_size),
        stream_links(engine, min(target, chain_head.position), batch_size),
        position=target,
        chain_head=chain_head.position,
        expected_hash=expected_hash,
    )
