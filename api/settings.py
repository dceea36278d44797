"""Settings come from the environment only (TRACKER_*)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from tracker.stores import DEFAULT_DATABASE_URL, StoreConfig


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Run projection catch-up inside the web process after writes (SQLite); off when a worker runs them.
    inline_projections: bool = True
    read_wait_timeout: float = 5.0
    pool_size: int = 5
    projection_batch_size: int = 1000
    rate_limit: str = ""
    rate_limit_storage: str = "memory://"
    log_level: str = "INFO"
    import_max_bytes: int = 200 * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        url = env.get("TRACKER_DATABASE_URL", DEFAULT_DATABASE_URL)
        kind = StoreConfig.from_url(url).kind
        inline_default = "0" if kind == "postgresql" else "1"
        return cls(
            database_url=url,
            inline_projections=env.get("TRACKER_INLINE_PROJECTIONS", inline_default) not in ("0", "false", "no"),
            read_wait_timeout=float(env.get("TRACKER_READ_WAIT_TIMEOUT", "5")),
            pool_size=int(env.get("TRACKER_POOL_SIZE", "5")),
            projection_batch_size=int(env.get("TRACKER_PROJECTION_BATCH_SIZE", "1000")),
            rate_limit=env.get("TRACKER_RATE_LIMIT", "").strip(),
            rate_limit_storage=env.get("TRACKER_RATE_LIMIT_STORAGE", "memory://"),
            log_level=env.get("TRACKER_LOG_LEVEL", "INFO").upper(),
            import_max_bytes=int(env.get("TRACKER_IMPORT_MAX_BYTES", str(200 * 1024 * 1024))),
        )
