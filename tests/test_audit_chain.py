"""The audit chain: kept with the projections, rebuilt identically, and catching every change to the stored log."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import Notification
from sqlalchemy import select, update

from projections import audit_chain
from projections import tables as t
from projections.dump import dump
from projections.migrate import current_revision, upgrade
from projections.read_model import ReadModel
from storage.application import open_application
from storage.config import StoreConfig
from storage.schema import create_event_tables
from tests.readmodel import Clock, random_history
from tests.tamper import TAMPERINGS, Tamper
from tests.world import build_world
from tracker.application import TrackerApplication
from tracker.audit_chain import GENESIS, Link, chain, link_hash, verify_chain


def notification(position: int, state: bytes = b'{"a":1}') -> Notification:
    return Notification(id=position, originator_id=uuid4(), originator_version=1, topic="m:E", state=state)


def links_of(rows: list[tuple[Any, ...]]) -> list[tuple[int, str]]:
    return [(position, digest) for position, digest in rows]


# ---- the pure chain ------------------------------------------------------------------------


def test_genesis_is_the_documented_constant() -> None:
    assert hashlib.sha256(b"innovation-ecosystem-tracker audit chain v1").hexdigest() == GENESIS


@pytest.mark.parametrize(
    "change",
    [
        {"id": 8},
        {"originator_id": uuid4()},
        {"originator_version": 2},
        {"topic": "m:F"},
        {"state": b'{"a":2}'},
    ],
)
def test_link_changes_when_any_covered_field_changes(change: dict[str, Any]) -> None:
    event = notification(7)
    assert link_hash(GENESIS, event) != link_hash(GENESIS, replace(event, **change))
    assert link_hash(GENESIS, event) != link_hash(link_hash(GENESIS, event), event)


def test_verify_accepts_gaps_in_positions_when_the_chain_recorded_them() -> None:
    # PostgreSQL's sequence skips numbers on rolled-back inserts: a gap the chain never saw is not tampering.
    events = [notification(p) for p in (1, 2, 5, 6)]
    links = list(chain(GENESIS, events))
    result = verify_chain(events, links, position=6, chain_head=6)
    assert (result.ok, result.checked, result.hash) == (True, 4, links[-1].hash)
    assert verify_chain(events, links, position=3, chain_head=6).reason == "position_not_in_log"


def test_verify_chains_events_after_the_head_without_links() -> None:
    events = [notification(p) for p in range(1, 6)]
    links = list(chain(GENESIS, events))
    later = verify_chain(iter(events), iter(links[:3]), position=5, chain_head=3, expected_hash=links[-1].hash)
    assert (later.ok, later.checked) == (True, 5)
    inserted = verify_chain(iter(events), iter(links[:1] + links[2:3]), position=3, chain_head=3)
    assert (inserted.first_bad_position, inserted.reason) == (2, "unexpected")


# ---- the chain kept by the read model ------------------------------------------------------


def chain_rows(read_model: ReadModel) -> list[tuple[int, str]]:
    return links_of(dump(read_model)["rm_audit_chain"])


def test_clean_log_verifies_when_projected_in_small_batches(read_model: ReadModel) -> None:
    rng = random.Random(3)
    read_model.batch_size = 4
    read_model.app.clock = Clock(rng)
    random_history(build_world(read_model.app), rng, steps=40, after_each=read_model.catch_up)
    read_model.catch_up()
    written = read_model.app.current_position()
    rows = chain_rows(read_model)
    assert [p for p, _ in rows] == list(range(1, written + 1))
    assert rows == [
        (link.position, link.hash) for link in chain(GENESIS, read_model.app.recorder.select_notifications(1, 10_000))
    ]
    result = audit_chain.verify(read_model.app.recorder, read_model.reader, batch_size=5)
    assert (result.ok, result.position, result.checked, result.reason) == (True, written, written, None)
    assert result.hash == result.expected_hash == rows[-1][1]


def test_verification_reads_the_log_in_batches(read_model: ReadModel, monkeypatch: pytest.MonkeyPatch) -> None:
    world = build_world(read_model.app)
    for _ in range(8):
        world.submit()
    read_model.catch_up()
    recorder = read_model.app.recorder
    original = recorder.select_notifications
    limits: list[int] = []

    def spy(start: Any, limit: int, *args: Any, **kwargs: Any) -> Any:
        limits.append(limit)
        return original(start, limit, *args, **kwargs)

    monkeypatch.setattr(recorder, "select_notifications", spy)
    result = audit_chain.verify(recorder, read_model.reader, batch_size=3)
    assert result.ok
    assert result.checked == read_model.app.current_position() == 17
    assert set(limits) == {3}
    assert len(limits) == 6


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_tampering_is_caught_at_the_first_bad_position_when_the_stored_log_changes(
    read_model: ReadModel, tampering: str
) -> None:
    world = build_world(read_model.app)
    world.to_stage(world.submit(), "testing")
    read_model.catch_up()
    head = audit_chain.verify(read_model.app.recorder, read_model.reader)
    assert head.ok
    expected_bad = Tamper(read_model.url).apply(tampering, 5, 8)

    result = audit_chain.verify(read_model.app.recorder, read_model.reader, batch_size=2)
    assert result.ok is False
    assert result.first_bad_position == expected_bad
    assert result.reason == ("missing" if tampering == "deleted" else "altered")
    assert result.hash != head.hash
    # Positions before the damage still verify.
    before = audit_chain.verify(read_model.app.recorder, read_model.reader, position=expected_bad - 1)
    assert before.ok is True


def test_head_recorded_before_more_writes_still_verifies_later(read_model: ReadModel) -> None:
    world = build_world(read_model.app)
    read_model.catch_up()
    with read_model.reader.connect() as conn:
        recorded = audit_chain.head(conn)
    for _ in range(3):
        world.to_stage(world.submit(), "testing")
    read_model.catch_up()
    assert read_model.app.current_position() > recorded.position + 6
    later = audit_chain.verify(
        read_model.app.recorder, read_model.reader, position=recorded.position, expected_hash=recorded.hash
    )
    assert (later.ok, later.hash, later.checked) == (True, recorded.hash, recorded.position)
    # Damage after the recorded head does not concern it; the full chain still catches it.
    Tamper(read_model.url).alter(recorded.position + 4)
    assert audit_chain.verify(
        read_model.app.recorder, read_model.reader, position=recorded.position, expected_hash=recorded.hash
    ).ok
    assert audit_chain.verify(read_model.app.recorder, read_model.reader).first_bad_position == recorded.position + 4


def test_wrong_hash_is_reported_when_it_differs_from_the_log(read_model: ReadModel) -> None:
    build_world(read_model.app)
    read_model.catch_up()
    wrong = "0" * 64
    result = audit_chain.verify(read_model.app.recorder, read_model.reader, position=4, expected_hash=wrong)
    assert (result.ok, result.reason, result.first_bad_position, result.expected_hash) == (
        False,
        "hash_mismatch",
        None,
        wrong,
    )
    assert result.hash == dict(chain_rows(read_model))[4]


def test_recorded_head_catches_tampering_that_a_rebuild_rechained(read_model: ReadModel) -> None:
    build_world(read_model.app)
    read_model.catch_up()
    with read_model.reader.connect() as conn:
        recorded = audit_chain.head(conn)
    Tamper(read_model.url).forge(3, b"ROC", b"RUC")
    read_model.rebuild()  # the recorded links now agree with the altered log
    assert audit_chain.verify(read_model.app.recorder, read_model.reader).ok
    result = audit_chain.verify(
        read_model.app.recorder, read_model.reader, position=recorded.position, expected_hash=recorded.hash
    )
    assert (result.ok, result.reason) == (False, "hash_mismatch")


def test_position_beyond_the_log_is_reported_not_in_the_log(read_model: ReadModel) -> None:
    build_world(read_model.app)
    read_model.catch_up()
    beyond = read_model.app.current_position() + 5
    result = audit_chain.verify(read_model.app.recorder, read_model.reader, position=beyond)
    assert (result.ok, result.reason, result.hash, result.expected_hash) == (False, "position_not_in_log", None, None)
    empty = audit_chain.verify(read_model.app.recorder, read_model.reader, position=0, expected_hash=GENESIS)
    assert (empty.ok, empty.checked) == (True, 0)


def test_events_after_the_chain_head_are_chained_on_the_fly_when_verifying(read_model: ReadModel) -> None:
    world = build_world(read_model.app)
    read_model.catch_up()
    world.submit()
    world.submit()
    last = read_model.app.current_position()
    read_model.catch_up()
    with read_model.reader.connect() as conn:
        final = audit_chain.link_at(conn, last)
        conn.execute(t.audit_chain.delete().where(t.audit_chain.c.position > last - 2))
        conn.execute(update(t.tracking).where(t.tracking.c.name == audit_chain.NAME).values(position=last - 2))
        conn.commit()
    assert final is not None
    lagging = audit_chain.verify(read_model.app.recorder, read_model.reader, position=last, expected_hash=final.hash)
    assert (lagging.ok, lagging.checked) == (True, last)


def test_chain_is_built_for_the_whole_log_when_added_to_a_projected_database(read_model: ReadModel) -> None:
    rng = random.Random(11)
    read_model.app.clock = Clock(rng)
    random_history(build_world(read_model.app), rng, steps=30)
    read_model.catch_up()
    before = dump(read_model)
    # The state right after migration 0003 on a caught-up database: projections at the end, the chain at 0.
    with read_model.writer.begin() as conn:
        conn.execute(t.audit_chain.delete())
        conn.execute(update(t.tracking).where(t.tracking.c.name == audit_chain.NAME).values(position=0))
    read_model.batch_size = 9
    assert read_model.catch_up() == read_model.app.current_position()
    assert dump(read_model) == before
    assert audit_chain.verify(read_model.app.recorder, read_model.reader).ok


def test_migration_adds_the_chain_tracked_from_position_zero(empty_sqlite_url: str) -> None:
    create_event_tables(empty_sqlite_url)
    upgrade(empty_sqlite_url, "0002")
    upgrade(empty_sqlite_url, "0003")
    assert current_revision(empty_sqlite_url) == "0003"
    app = open_application(empty_sqlite_url)
    model = ReadModel(app, empty_sqlite_url)
    try:
        assert model.positions() == {"directory": 0, "portfolio": 0, "audit": 0, audit_chain.NAME: 0}
        with model.reader.connect() as conn:
            assert audit_chain.head(conn) == Link(0, GENESIS)
            assert conn.execute(select(t.audit_chain)).all() == []
    finally:
        model.close()
        app.close()


def test_chain_covers_the_stored_bytes_when_events_are_compressed_and_encrypted(sqlite_url: str) -> None:
    from eventsourcing.cryptography import AESCipher

    create_event_tables(sqlite_url)
    upgrade(sqlite_url)
    env = StoreConfig.from_url(sqlite_url).event_store_env(create_tables=False) | {
        "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
        "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
        "CIPHER_KEY": AESCipher.create_key(16),
    }
    app = TrackerApplication(env)
    model = ReadModel(app, sqlite_url)
    try:
        build_world(app)
        model.catch_up()
        _, state = Tamper(sqlite_url).row(3)
        assert b"ROC" not in state
        assert not state.startswith(b"{")
        assert audit_chain.verify(app.recorder, model.reader).ok
        Tamper(sqlite_url).alter(2)
        result = audit_chain.verify(app.recorder, model.reader)
        assert (result.ok, result.first_bad_position, result.reason) == (False, 2, "altered")
    finally:
        model.close()
        app.close()
