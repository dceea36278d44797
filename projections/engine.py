"""SQLAlchemy engines for the read model, on the same database as the event store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

from storage.config import StoreConfig

SQLITE_BUSY_TIMEOUT_S = 30


def sqlalchemy_url(config: StoreConfig) -> str:
    if config.kind == "sqlite":
        return f"sqlite:///{config.path}"
    if config.kind == "postgresql":
        from sqlalchemy.engine import URL

        return URL.create(
            "postgresql+psycopg",
            username=config.user,
            password=config.password or None,
            host=config.host,
            port=config.port,
            database=config.dbname,
        ).render_as_string(hide_password=False)
    raise ValueError("the read model needs SQLite or PostgreSQL (memory:// has no SQL)")


def make_engine(url: str, *, writer: bool = False, pool_size: int = 5) -> Engine:
    """An engine for reads, or for the projection writer (SQLite: BEGIN IMMEDIATE takes the write lock up front)."""
    config = StoreConfig.from_url(url)
    kwargs: dict[str, Any] = {}
    if config.kind == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    else:
        # JIT compilation costs more than it saves on the read model's short queries (a list read under the
        # confidentiality policy is estimated costly enough to trigger it, and compiling takes longer than running).
        options = "-c jit=off" + (f" -csearch_path={config.schema}" if config.schema else "")
        kwargs["connect_args"] = {"options": options, "connect_timeout": 5}
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    engine = create_engine(sqlalchemy_url(config), **kwargs)
    if config.kind == "sqlite":
        _configure_sqlite(engine, immediate=writer)
    return engine


def _configure_sqlite(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin hook issue BEGIN itself (pysqlite's own handling is not transactional enough).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
