"""Failed authentications per client address: counted on each 401; once over the limit, every call from that address
is refused with 429 until the window passes.

The check runs before the key is looked at, so a guess that would succeed is refused too. It talks to the `limits`
storage directly: Redis when configured, else the tracker's own database (access.attempts), so every worker shares
the count. One storage read per limit for every call, and one write per limit for a 401; as a Flask-Limiter
application limit the same check costs 0.3–0.9 ms of CPU on every request.

When the storage cannot be reached (Redis down, or not answering within web.failure_counts.STORAGE_TIMEOUT), the
check lets the call through and logs the error: the limit slows guessing, it is not what keeps a key secret, and an
outage of the shared counter should not stop every call to the API. Flask-Limiter's TRACKER_RATE_LIMIT does the same
(api.install, RATELIMIT_SWALLOW_ERRORS).
"""

from __future__ import annotations

import math
import time

import structlog
from flask import Flask, Response, request
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from api.errors import problem
from web.read_connection import recover

SCOPE = "auth-failures"
MESSAGE = "Too many failed authentication attempts from this address; wait for Retry-After seconds."
# While the storage is down, one log line per this many seconds, counting the calls since the last one.
LOG_EVERY = 10.0

log = structlog.get_logger("tracker.auth_failures")


class AuthFailureLimit:
    def __init__(self, limit: str, storage: Storage, exempt: frozenset[str]) -> None:
        self.items: list[RateLimitItem] = parse_many(limit)
        self.strategy = FixedWindowRateLimiter(storage)
        self.exempt = exempt
        self._logged_at = -LOG_EVERY
        self._unlogged = 0

    def install(self, app: Flask) -> None:
        app.before_request(self.check)
        app.after_request(self.count)

    def _applies(self) -> bool:
        """Calls to the API's routes: not the exempt blueprints, static files, or paths no route matches (a 404 or
        405 stays a 404 or 405, as under Flask-Limiter)."""
        endpoint = request.endpoint
        return endpoint is not None and endpoint.rsplit(".", 1)[-1] != "static" and request.blueprint not in self.exempt

    def check(self) -> Response | None:
        """Refuse the call if its address is over any of the limits."""
        if not self._applies():
            return None
        address = get_remote_address()
        try:
            over = [item for item in self.items if not self.strategy.test(item, SCOPE, address)]
            if not over:
                return None
            reset = max(self.strategy.get_window_stats(item, SCOPE, address).reset_time for item in over)
        except StorageError as error:
            self._storage_failed(error)
            return None
        return problem(429, MESSAGE, {"Retry-After": str(max(1, math.ceil(reset - time.time())))})

    def count(self, response: Response) -> Response:
        if response.status_code == 401 and self._applies():
            address = get_remote_address()
            try:
                for item in self.items:
                    self.strategy.hit(item, SCOPE, address)
            except StorageError as error:
                self._storage_failed(error)
        return response

    def _storage_failed(self, error: StorageError) -> None:
        """Log that calls go unchecked, once per LOG_EVERY seconds rather than once per call; the request's read
        connection, which the counts may have failed on, is made usable again for the rest of the request."""
        recover()
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY:
            log.error("auth_failure_limit_unchecked", error=repr(error.storage_error), calls=self._unlogged)
            self._logged_at, self._unlogged = now, 0
