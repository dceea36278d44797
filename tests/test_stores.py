"""TRACKER_DATABASE_URL selects the store."""

from __future__ import annotations

import pytest

from storage.config import StoreConfig, StoreConfigError


def test_sqlite_url_gives_relative_or_absolute_path() -> None:
    assert StoreConfig.from_url("sqlite:///var/tracker.db").path == "var/tracker.db"
    assert StoreConfig.from_url("sqlite:////tmp/x.db").path == "/tmp/x.db"  # noqa: S108


def test_postgres_url_gives_connection_settings_and_schema() -> None:
    config = StoreConfig.from_url("postgresql+psycopg://alice:s%40cret@db.example:6543/tracker?schema=pilot_1")
    assert (config.kind, config.user, config.password, config.host, config.port, config.dbname, config.schema) == (
        "postgresql",
        "alice",
        "s@cret",
        "db.example",
        6543,
        "tracker",
        "pilot_1",
    )
    env = config.event_store_env(create_tables=False)
    assert env["PERSISTENCE_MODULE"] == "storage.postgres:FailFastPostgresFactory"
    assert env["POSTGRES_ENABLE_DB_FUNCTIONS"] == "n"
    assert env["CREATE_TABLE"] == "n"
    assert env["POSTGRES_SCHEMA"] == "pilot_1"


@pytest.mark.parametrize(
    "url", ["mysql://x/y", "sqlite://", "postgresql://host", "postgresql://h/db?schema=Bad-Name", "sqlite://host/x.db"]
)
def test_store_url_is_refused_when_it_cannot_be_understood(url: str) -> None:
    with pytest.raises(StoreConfigError):
        StoreConfig.from_url(url)
