"""An erased person's name and address are gone from the store's files, not only from what the tracker reads: the
old row versions a database keeps (PostgreSQL's pages and indexes, SQLite's write-ahead log and a page's free
space) are scrubbed by the erasure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, event, text

from access.keys import KeyStore
from access.people import PeopleStore
from access.signin import SignIn
from projections.engine import make_engine
from storage.config import StoreConfig

NAME = b"Zyxwvuta Qwertyname"
ADDRESS = b"zyxwvuta.qwertyname@example.org"
KEY_NAME = b"zyxwvuta-laptop"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def engines(sql_url: str) -> Iterator[tuple[Engine, Engine]]:
    reader, writer = make_engine(sql_url), make_engine(sql_url, writer=True)
    if writer.dialect.name == "sqlite":
        # As a SQLite built without SQLITE_SECURE_DELETE leaves a deleted row's bytes in its page (Debian's build
        # overwrites them by default, so the test turns that off).
        @event.listens_for(writer, "connect")
        def insecure(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA secure_delete = OFF")

    yield reader, writer
    reader.dispose()
    writer.dispose()


def _people_around(people: PeopleStore, label: str) -> None:
    for n in range(12):
        people.create(actor_id="admin", name=f"{label} {n}", email=f"{label.lower()}{n}@example.org", role="analyst")


def _erase_the_named_person(reader: Engine, writer: Engine) -> PeopleStore:
    """A person with a password, an invitation and a key among others, then erased while other connections are open
    (a reader that has read the person, as a request would have)."""
    people = PeopleStore(reader, writer)
    _people_around(people, "Before")
    person = people.create(actor_id="admin", name=NAME.decode(), email=ADDRESS.decode(), role="analyst")
    people.update(person.id, {"name": NAME.decode() + " Jr"}, actor_id="admin")  # an older version of the row, too
    signin = SignIn(people, FAST)
    signin.set_password(person.id, "correct horse battery staple", actor_id="admin")
    signin.invite(person.id, actor_id="admin")
    KeyStore(reader, writer).create_for(person_id=person.id, name=KEY_NAME.decode())
    _people_around(people, "After")
    if writer.dialect.name == "sqlite":
        # Written long before, as in a store that has served a while: the rows are in the database file itself.
        with writer.connect() as conn:
            conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with reader.connect() as conn:  # a pooled reader that has seen the row stays open
        assert conn.execute(text("SELECT count(*) FROM people")).scalar_one() == 25
        conn.commit()  # its read is over, as a request's is when it answers
        people.erase(person.id, actor_id="admin")
        assert people.get(person.id).erased
    return people


def _sqlite_bytes(url: str) -> dict[str, bytes]:
    path = Path(StoreConfig.from_url(url).path)
    found = {}
    for suffix in ("", "-wal", "-journal"):
        file = path.with_name(path.name + suffix)
        if file.exists():
            found[file.name] = file.read_bytes()
    return found


def _postgres_pages(engine: Engine, tables: tuple[str, ...]) -> dict[str, bytes]:
    """The raw pages of each table and of its indexes (pageinspect), dead row versions included."""
    found = {}
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        for table in tables:
            indexes = conn.scalars(
                text("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = CAST(:t AS regclass)"),
                {"t": table},
            )
            relations = [table, *indexes]
            for relation in relations:
                blocks = conn.execute(
                    text("SELECT pg_relation_size(CAST(:r AS regclass)) / 8192"), {"r": relation}
                ).scalar_one()
                found[relation] = b"".join(
                    bytes(
                        conn.execute(
                            text("SELECT get_raw_page(CAST(:r AS text), CAST(:b AS integer))"),
                            {"r": relation, "b": block},
                        ).scalar_one()
                    )
                    for block in range(blocks)
                )
    return found


def test_an_erased_name_and_address_are_left_in_none_of_the_stores_files(
    sql_url: str, engines: tuple[Engine, Engine]
) -> None:
    reader, writer = engines
    _erase_the_named_person(reader, writer)
    if writer.dialect.name == "sqlite":
        files = _sqlite_bytes(sql_url)
    else:
        files = _postgres_pages(writer, ("people", "api_keys"))
    assert files
    for name, content in files.items():
        for secret in (NAME, ADDRESS, KEY_NAME):
            assert secret not in content, f"{secret!r} is still in {name}"
    # The others are as they were.
    with reader.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM people WHERE name IS NOT NULL")).scalar_one() == 24


def test_an_erasure_that_cannot_scrub_at_once_says_so_and_still_erases(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader holding an older snapshot keeps the write-ahead log from being emptied: the erasure waits a little,
    then says so; the person is erased all the same, and a later erasure scrubs what is left."""
    import access.people

    monkeypatch.setattr(access.people, "SCRUB_WAIT_S", 0)
    reader, writer = make_engine(sqlite_url), make_engine(sqlite_url, writer=True)
    try:
        people = PeopleStore(reader, writer)
        person = people.create(actor_id="admin", name=NAME.decode(), email=ADDRESS.decode(), role="analyst")
        other = people.create(actor_id="admin", name="Other Person", email="other@example.org", role="analyst")
        with reader.connect() as holding:
            # Its transaction (begun by its first statement) reads a snapshot from before the erasure.
            holding.execute(text("SELECT count(*) FROM people")).scalar_one()
            messages: list[dict[str, Any]] = []
            monkeypatch.setattr(access.people.log, "warning", lambda event, **kw: messages.append({event: kw}))
            people.erase(person.id, actor_id="admin")
            holding.commit()
        assert people.get(person.id).erased
        assert [next(iter(m)) for m in messages] == ["erasure_not_scrubbed"]
        assert any(ADDRESS in content for content in _sqlite_bytes(sqlite_url).values())
        people.erase(other.id, actor_id="admin")
        assert not any(ADDRESS in content for content in _sqlite_bytes(sqlite_url).values())
    finally:
        reader.dispose()
        writer.dispose()
