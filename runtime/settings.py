"""Settings come from the environment only (TRACKER_*)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from limits import parse_many

from outbox.mail import SMTPConfig
from outbox.timing import MAX_SEND_TIMEOUT, least_lease
from storage.config import DEFAULT_DATABASE_URL, StoreConfig, check_cipher_key

# Failed authentications (401) one client address may make per window before it is answered 429.
AUTH_FAILURE_LIMIT = "20/minute"
# The host names the app answers for (a request naming another is refused 400): enough for `make run`.
TRUSTED_HOSTS = ("localhost", "127.0.0.1", "::1")
_OFF = ("", "0", "off", "no", "false")
_ON = ("1", "on", "yes", "true")
# A claim longer than this would leave a send held by a dead worker for more than a day.
MAX_LEASE_SECONDS = 86_400.0


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
    auth_failure_limit: str = AUTH_FAILURE_LIMIT
    # Reverse proxies in front of the app whose X-Forwarded-For is trusted to name the client (0: none).
    trusted_proxies: int = 0
    log_level: str = "INFO"
    # Host names requests may name (Flask's TRUSTED_HOSTS; ".example.org" admits its subdomains); empty: any.
    trusted_hosts: tuple[str, ...] = TRUSTED_HOSTS
    # Strict-Transport-Security on every answer: the app is served over HTTPS only.
    hsts: bool = False
    # Reads one process lets wait for X-Min-Position at once; more are answered 503 at once. By default one fewer
    # than the worker's threads, so one thread is always free for health checks and writes.
    read_waiters: int = 3
    # /readyz says not ready when the read model is this many events behind the log, or its oldest unprojected
    # event has waited this many seconds.
    ready_max_lag: int = 10_000
    ready_max_lag_seconds: float = 30.0
    import_max_bytes: int = 200 * 1024 * 1024
    # Base64 AES key: with it, stored event and snapshot payloads are compressed and encrypted (AES-GCM).
    cipher_key: str | None = field(default=None, repr=False)
    # The pages' session cookie: sent over HTTPS only, and ended after this many minutes without a request.
    secure_cookies: bool = False
    session_idle_minutes: int = 30
    # Where people reach the pages: links in invitations (and e-mails) start with it.
    base_url: str = "http://127.0.0.1:8000"
    # Signs the pages' session cookies; without it, one made at first start and kept in the database is used.
    secret_key: str | None = field(default=None, repr=False)
    # Run the outbox (webhooks and e-mail) in a thread of the web process; off when `tracker outbox run` does.
    inline_outbox: bool = True
    # Webhook endpoints may be http:// and reach private, loopback and link-local addresses (tests, closed networks).
    webhooks_allow_private: bool = False
    # Where e-mail is sent: smtp://[user:password@]host[:port][?starttls=1] or smtps://…; without it, e-mails wait
    # in the outbox (listed for admins) and are sent once it is set.
    smtp_url: str | None = field(default=None, repr=False)
    smtp_from: str = "Innovation Ecosystem Tracker <tracker@localhost>"
    # How long a send claimed by an outbox worker is left to it before another may send it again (a worker killed
    # mid-send is covered after this long).
    outbox_lease_seconds: float = 30.0
    # How long one send may take: a webhook's connection and its answer, each; an e-mail's conversation with the
    # SMTP server, twice this in all. The lease must leave room for a lane's last send and its record.
    outbox_send_timeout: float = 10.0
    # Concurrent commands of one process store their events in shared transactions (storage.group_commit).
    group_commit: bool = True

    def __post_init__(self) -> None:
        # A malformed key or limit stops the process at start-up, not at its first write or request.
        if self.cipher_key:
            check_cipher_key(self.cipher_key)
        for name in ("rate_limit", "auth_failure_limit"):
            value = getattr(self, name)
            try:
                if value and not parse_many(value):
                    raise ValueError(value)
            except ValueError:
                raise ValueError(f"TRACKER_{name.upper()}: {value!r} is not a limit such as '20/minute'") from None
        if self.trusted_proxies < 0:
            raise ValueError("TRACKER_TRUSTED_PROXIES must be 0 or more")
        if self.read_waiters < 1:
            raise ValueError("TRACKER_READ_WAITERS must be 1 or more")
        if self.session_idle_minutes < 1:
            raise ValueError("TRACKER_SESSION_IDLE_MINUTES must be 1 or more")
        if self.secret_key is not None and len(self.secret_key) < 32:
            raise ValueError("TRACKER_SECRET_KEY must be at least 32 characters")
        if not 0 < self.outbox_send_timeout <= MAX_SEND_TIMEOUT:
            raise ValueError(f"TRACKER_OUTBOX_SEND_TIMEOUT must be above 0 and at most {MAX_SEND_TIMEOUT:g} seconds")
        least = least_lease(self.outbox_send_timeout).total_seconds()
        if self.outbox_lease_seconds > MAX_LEASE_SECONDS:
            raise ValueError(f"TRACKER_OUTBOX_LEASE_SECONDS must be at most {MAX_LEASE_SECONDS:g} (a day)")
        if self.outbox_lease_seconds < least:
            raise ValueError(
                f"TRACKER_OUTBOX_LEASE_SECONDS must be at least {least:g} with a send timeout of "
                f"{self.outbox_send_timeout:g} s: a lane's last send may take twice the timeout, and is recorded after"
            )
        if self.smtp_url:
            SMTPConfig.from_url(self.smtp_url, self.smtp_from)
        if self.ready_max_lag < 0 or self.ready_max_lag_seconds <= 0:
            raise ValueError("TRACKER_READY_MAX_LAG must be 0 or more, and TRACKER_READY_MAX_LAG_SECONDS above 0")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        url = env.get("TRACKER_DATABASE_URL", DEFAULT_DATABASE_URL)
        kind = StoreConfig.from_url(url).kind
        inline_default = "0" if kind == "postgresql" else "1"
        return cls(
            database_url=url,
            inline_projections=_on(env, "TRACKER_INLINE_PROJECTIONS", inline_default),
            read_wait_timeout=number_setting(env, "TRACKER_READ_WAIT_TIMEOUT", "5", float),
            pool_size=number_setting(env, "TRACKER_POOL_SIZE", "5", int),
            projection_batch_size=number_setting(env, "TRACKER_PROJECTION_BATCH_SIZE", "1000", int),
            rate_limit=env.get("TRACKER_RATE_LIMIT", "").strip(),
            rate_limit_storage=env.get("TRACKER_RATE_LIMIT_STORAGE", "memory://"),
            auth_failure_limit=_limit(env.get("TRACKER_AUTH_FAILURE_LIMIT", AUTH_FAILURE_LIMIT)),
            trusted_proxies=number_setting(env, "TRACKER_TRUSTED_PROXIES", "0", int),
            log_level=env.get("TRACKER_LOG_LEVEL", "INFO").upper(),
            trusted_hosts=_hosts(env.get("TRACKER_TRUSTED_HOSTS", ",".join(TRUSTED_HOSTS))),
            hsts=_on(env, "TRACKER_HSTS", "") or _on(env, "TRACKER_SECURE_COOKIES", ""),
            read_waiters=number_setting(env, "TRACKER_READ_WAITERS", str(_waiters(env)), int),
            ready_max_lag=number_setting(env, "TRACKER_READY_MAX_LAG", "10000", int),
            ready_max_lag_seconds=number_setting(env, "TRACKER_READY_MAX_LAG_SECONDS", "30", float),
            import_max_bytes=number_setting(env, "TRACKER_IMPORT_MAX_BYTES", str(200 * 1024 * 1024), int),
            cipher_key=env.get("TRACKER_CIPHER_KEY", "").strip() or None,
            secure_cookies=_on(env, "TRACKER_SECURE_COOKIES", ""),
            session_idle_minutes=number_setting(env, "TRACKER_SESSION_IDLE_MINUTES", "30", int),
            secret_key=env.get("TRACKER_SECRET_KEY", "").strip() or None,
            base_url=env.get("TRACKER_BASE_URL", "http://127.0.0.1:8000").strip().rstrip("/"),
            inline_outbox=_on(env, "TRACKER_INLINE_OUTBOX", inline_default),
            webhooks_allow_private=_on(env, "TRACKER_WEBHOOKS_ALLOW_PRIVATE", ""),
            smtp_url=env.get("TRACKER_SMTP_URL", "").strip() or None,
            smtp_from=env.get("TRACKER_SMTP_FROM", "").strip() or Settings.smtp_from,
            outbox_lease_seconds=number_setting(env, "TRACKER_OUTBOX_LEASE_SECONDS", "30", float),
            outbox_send_timeout=number_setting(env, "TRACKER_OUTBOX_SEND_TIMEOUT", "10", float),
            group_commit=_on(env, "TRACKER_GROUP_COMMIT", "1"),
        )


def number_setting(env: Mapping[str, str], name: str, default: str, kind: type[int] | type[float]) -> Any:
    """A whole or decimal number from the environment; one that is not stops start-up with a message naming it
    (a ValueError, as every malformed setting)."""
    value = env.get(name, default)
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or not math.isfinite(number):
        wanted = "a whole number" if kind is int else "a number"
        raise ValueError(f"{name} must be {wanted}, not {value!r}")
    return number


def _limit(value: str) -> str:
    return "" if value.strip().lower() in _OFF else value.strip()


def _on(env: Mapping[str, str], name: str, default: str) -> bool:
    """A switch: 1, on, yes or true; 0, off, no, false or empty. Anything else stops start-up with its name."""
    value = env.get(name, default).strip().lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    raise ValueError(f"{name} must be 1 or 0 (on or off), not {env.get(name)!r}")


def _hosts(value: str) -> tuple[str, ...]:
    """A comma-separated list of host names; "*" admits any."""
    hosts = tuple(h.strip() for h in value.split(",") if h.strip())
    return () if "*" in hosts else hosts


def _waiters(env: Mapping[str, str]) -> int:
    """One fewer than gunicorn's threads per worker (TRACKER_THREADS), and at least one."""
    return max(1, int(number_setting(env, "TRACKER_THREADS", "4", int)) - 1)
