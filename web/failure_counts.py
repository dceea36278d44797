"""Where failed authentications are counted, shared by the JSON API (failed keys) and the pages (failed sign-ins):
Redis when the limits are stored there, else the tracker's own database (access.attempts); either way every worker
shares the count."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from limits.storage import Storage, storage_from_string

from access.attempts import DatabaseCounts
from runtime.services import Services
from web.read_connection import read_connection

# Seconds a Redis storage may take to connect or answer before a call goes through unchecked (api.auth_failures).
STORAGE_TIMEOUT = 0.5


def storage_options(storage_uri: str) -> dict[str, Any]:
    """Timeouts for a Redis storage, which otherwise waits for an unanswering server for as long as the socket does.

    Set in the URL (`?socket_timeout=2`), a value there wins."""
    if not urlsplit(storage_uri).scheme.startswith("redis"):
        return {}
    return {"socket_timeout": STORAGE_TIMEOUT, "socket_connect_timeout": STORAGE_TIMEOUT}


def shared_storage(storage_uri: str) -> Storage:
    """The `limits` storage at `storage_uri` (Redis), with its timeouts."""
    return storage_from_string(storage_uri, wrap_exceptions=True, **storage_options(storage_uri))


def failure_counts(services: Services) -> Storage:
    uri = services.settings.rate_limit_storage
    if urlsplit(uri).scheme.startswith("redis"):
        return shared_storage(uri)
    read_model = services.read_model
    return DatabaseCounts(read_connection, read_model.writer, read_model.write_lock)
