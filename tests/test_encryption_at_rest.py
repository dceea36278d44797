"""Encryption at rest: with TRACKER_CIPHER_KEY, stored event and snapshot payloads are compressed, then encrypted."""

from __future__ import annotations

import sqlite3
import zlib
from base64 import b64decode
from collections.abc import Iterator
from contextlib import closing
from uuid import UUID

import pytest
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.cryptography import AESCipher
from psycopg import sql

from bootstrap import build_application, upgrade_database
from runtime.settings import Settings
from storage.application import open_application
from storage.config import StoreConfig, StoreConfigError, check_cipher_key
from storage.schema import create_event_tables
from tests.api.conftest import Env, make_env, submit
from tracker.application import TrackerApplication

TITLE = "Zebra-striped apprenticeship ledger 7Q"
KEY = AESCipher.create_key(32)


def raw_payloads(url: str, purpose: str) -> list[bytes]:
    """Every stored payload of the events ('events') or snapshots ('snapshots') table, read with plain SQL."""
    config = StoreConfig.from_url(url)
    if config.kind == "sqlite":
        assert config.path is not None
        with closing(sqlite3.connect(config.path)) as conn:
            return [bytes(row[0]) for row in conn.execute(f"SELECT state FROM stored_{purpose}")]  # noqa: S608
    with config.connect() as conn:
        table = sql.Identifier(config.schema or "public", f"tracker_{purpose}")
        return [bytes(row[0]) for row in conn.execute(sql.SQL("SELECT state FROM {}").format(table))]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def encrypted(url: str) -> Iterator[Env]:
    environment = make_env(url, cipher_key=KEY)
    yield environment
    environment.app.extensions["tracker"].close()


def test_settings_choose_the_cryptography_cipher_and_zlib(url: str) -> None:
    services_app = build_application(Settings(database_url=url, cipher_key=KEY))
    try:
        assert isinstance(services_app.mapper.cipher, AESCipher)  # eventsourcing.cryptography, not pycryptodome
        assert type(services_app.mapper.cipher).__module__ == "eventsourcing.cryptography"
        assert isinstance(services_app.mapper.compressor, ZlibCompressor)
        assert services_app.mapper.cipher.key == b64decode(KEY)
    finally:
        services_app.close()


def test_raw_event_rows_hold_no_plaintext_and_the_api_and_projections_still_work(encrypted: Env, url: str) -> None:
    created = submit(encrypted, title=TITLE, summary="Ledger summary kept secret")
    iid = created["id"]

    payloads = raw_payloads(url, "events")
    assert len(payloads) > 5
    for state in payloads:
        assert TITLE.encode() not in state
        assert b"Ledger summary" not in state
        assert b'"title"' not in state
        with pytest.raises(zlib.error):  # encrypted after compression: not even a zlib stream
            zlib.decompress(state)

    # The read side decodes the same events: the projected detail, list and text search show the title.
    detail = encrypted.get(f"/api/v1/innovations/{iid}", encrypted.keys.analyst)
    assert detail.status_code == 200, detail.json
    assert detail.json["title"] == TITLE
    listed = encrypted.get("/api/v1/innovations", encrypted.keys.analyst, query_string={"q": "Zebra-striped"})
    assert [item["title"] for item in listed.json["items"]] == [TITLE]
    history = encrypted.get(f"/api/v1/innovations/{iid}/history", encrypted.keys.analyst)
    assert history.status_code == 200
    replayed = encrypted.get(f"/api/v1/innovations/{iid}", encrypted.keys.analyst, query_string={"version": 1})
    assert replayed.json["title"] == TITLE

    # A rebuild of every projection from position 0 decrypts the whole log again.
    read_model = encrypted.app.extensions["tracker"].read_model
    assert read_model.rebuild() == len(payloads)
    again = encrypted.get(f"/api/v1/innovations/{iid}", encrypted.keys.analyst)
    assert again.json["title"] == TITLE


def test_snapshots_are_encrypted_too(encrypted: Env, url: str) -> None:
    created = submit(encrypted, title=TITLE)
    app: TrackerApplication = encrypted.app.extensions["tracker"].app
    iid = UUID(created["id"])
    app.take_snapshot(iid)
    snapshots = raw_payloads(url, "snapshots")
    assert len(snapshots) == 1
    assert TITLE.encode() not in snapshots[0]
    with pytest.raises(zlib.error):
        zlib.decompress(snapshots[0])
    assert app.repository.get(iid).title == TITLE  # rebuilt from the decrypted snapshot


def test_without_a_key_the_raw_table_shows_the_title(url: str) -> None:
    """The control for the tests above: the same reading of the raw table does find a plaintext title."""
    environment = make_env(url)
    try:
        submit(environment, title=TITLE)
        assert any(TITLE.encode() in state for state in raw_payloads(url, "events"))
    finally:
        environment.app.extensions["tracker"].close()


def test_a_wrong_or_missing_key_fails_at_start_up_and_says_why(encrypted: Env, url: str) -> None:
    submit(encrypted, title=TITLE)
    with pytest.raises(StoreConfigError, match="not the key the events were written with"):
        build_application(Settings(database_url=url, cipher_key=AESCipher.create_key(32)))
    with pytest.raises(StoreConfigError, match="written encrypted, so set TRACKER_CIPHER_KEY"):
        build_application(Settings(database_url=url))
    build_application(Settings(database_url=url, cipher_key=KEY)).close()


def test_a_key_on_a_store_written_in_plaintext_fails_at_start_up(url: str) -> None:
    environment = make_env(url)
    try:
        submit(environment, title=TITLE)
        with pytest.raises(StoreConfigError, match="written without encryption"):
            build_application(Settings(database_url=url, cipher_key=KEY))
    finally:
        environment.app.extensions["tracker"].close()


def test_an_empty_or_uncreated_store_starts_with_a_key(empty_sqlite_url: str) -> None:
    settings = Settings(database_url=empty_sqlite_url, cipher_key=KEY)
    build_application(settings).close()  # no tables yet: nothing to check
    upgrade_database(settings)
    build_application(settings).close()


def test_on_an_empty_store_the_first_process_decides_and_no_other_writes_beside_it(url: str) -> None:
    """The newest event tells nothing on an empty store: a process without a key, then one with it (or the other
    way round, or another key), would have written plaintext and encrypted events side by side."""
    plain = build_application(Settings(database_url=url))
    try:
        assert plain.current_position() in (0, None)
        with pytest.raises(StoreConfigError, match=r"kept without encryption .* so TRACKER_CIPHER_KEY must not"):
            build_application(Settings(database_url=url, cipher_key=KEY))
    finally:
        plain.close()


def test_a_store_first_opened_with_a_key_takes_only_that_key(empty_sqlite_url: str) -> None:
    settings = Settings(database_url=empty_sqlite_url, cipher_key=KEY)
    upgrade_database(settings)  # an upgrade given the key records it: a command without it is refused from now on
    with pytest.raises(StoreConfigError, match="kept encrypted: set TRACKER_CIPHER_KEY"):
        build_application(Settings(database_url=empty_sqlite_url))
    with pytest.raises(StoreConfigError, match="is not the store's key"):
        build_application(Settings(database_url=empty_sqlite_url, cipher_key=AESCipher.create_key(32)))
    build_application(settings).close()
    path = StoreConfig.from_url(empty_sqlite_url).path
    assert path is not None
    with closing(sqlite3.connect(path)) as conn:
        ((recorded,),) = conn.execute("SELECT value FROM tracker_store").fetchall()
    assert recorded.startswith("sha256:")
    assert KEY not in recorded  # a fingerprint, never the key


def test_a_store_upgraded_by_an_earlier_release_is_checked_by_its_newest_event_alone(sqlite_url: str) -> None:
    path = StoreConfig.from_url(sqlite_url).path
    assert path is not None
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DROP TABLE tracker_store")
    build_application(Settings(database_url=sqlite_url)).close()
    build_application(Settings(database_url=sqlite_url, cipher_key=KEY)).close()  # empty: nothing to tell
    upgrade_database(Settings(database_url=sqlite_url))  # makes the table; the next process to start records
    build_application(Settings(database_url=sqlite_url, cipher_key=KEY)).close()
    with pytest.raises(StoreConfigError, match="kept encrypted"):
        build_application(Settings(database_url=sqlite_url))


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("not base64!", "not valid base64"),
        ("c2hvcnQ=", "decodes to 5 bytes"),
        ("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZW", "not valid base64"),  # 32-byte key, padding cut off
        ("MDEyMzQ1Njc4OWFiY2RlZg==MDEyMzQ1Njc4OWFiY2RlZg==", "not valid base64"),  # two keys run together
        ("ä" * 44, "not valid base64"),
        ("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm", "decodes to 48 bytes"),
    ],
    ids=["punctuation", "too-short", "truncated", "two-keys", "non-ascii", "too-long"],
)
def test_a_malformed_key_is_a_configuration_error_at_start_up(sqlite_url: str, key: str, reason: str) -> None:
    environ = {"TRACKER_DATABASE_URL": sqlite_url, "TRACKER_CIPHER_KEY": key}
    with pytest.raises(StoreConfigError, match=reason) as raised:
        Settings.from_env(environ)
    assert "AESCipher.create_key(32)" in str(raised.value)  # says how to make a good one
    with pytest.raises(StoreConfigError, match=reason):
        Settings(database_url=sqlite_url, cipher_key=key)
    with pytest.raises(StoreConfigError, match=reason):
        open_application("memory://", cipher_key=key)


@pytest.mark.parametrize("size", [16, 24, 32])
def test_every_aes_key_size_is_accepted(size: int) -> None:
    key = AESCipher.create_key(size)
    assert len(check_cipher_key(key)) == size
    assert Settings.from_env({"TRACKER_DATABASE_URL": "memory://", "TRACKER_CIPHER_KEY": key}).cipher_key == key
    assert Settings.from_env({"TRACKER_DATABASE_URL": "memory://", "TRACKER_CIPHER_KEY": " "}).cipher_key is None


def test_event_store_env_adds_cipher_and_compressor_only_with_a_key() -> None:
    config = StoreConfig(kind="memory")
    assert not {"CIPHER_KEY", "CIPHER_TOPIC", "COMPRESSOR_TOPIC"} & set(config.event_store_env(create_tables=True))
    env = config.event_store_env(create_tables=True, cipher_key=KEY)
    assert env["CIPHER_TOPIC"] == "eventsourcing.cryptography:AESCipher"
    assert env["COMPRESSOR_TOPIC"] == "eventsourcing.compressor:ZlibCompressor"
    assert env["CIPHER_KEY"] == KEY


def test_the_process_environment_key_reaches_every_entry_point_with_the_same_cipher(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """eventsourcing reads TRACKER_CIPHER_KEY from os.environ itself; it must get the same cipher, not its default."""
    monkeypatch.setenv("TRACKER_CIPHER_KEY", KEY)
    create_event_tables(sqlite_url)  # as 'tracker db upgrade' does, with no key passed
    app = open_application(sqlite_url)
    try:
        assert isinstance(app.mapper.cipher, AESCipher)
        assert isinstance(app.mapper.compressor, ZlibCompressor)
    finally:
        app.close()
    assert Settings.from_env().cipher_key == KEY

    # A key given explicitly outranks the process environment's.
    other = AESCipher.create_key(32)
    app = open_application(sqlite_url, cipher_key=other)
    try:
        assert app.mapper.cipher is not None
        assert app.mapper.cipher.key == b64decode(other)
    finally:
        app.close()
