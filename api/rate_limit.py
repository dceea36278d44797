"""TRACKER_RATE_LIMIT: calls per key (per client address without one), through Flask-Limiter."""

from __future__ import annotations

import math
import time

from flask import Blueprint, Flask, Response, g, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from api.errors import problem

# A response's own Retry-After, and when it was read, while Flask-Limiter adds its headers (see install).
_OWN_RETRY_AFTER = "own_retry_after"


def install(app: Flask, rate_limit: str, unlimited: tuple[Blueprint, ...]) -> None:
    """TRACKER_RATE_LIMIT: calls per key (per address without one), with X-RateLimit-* headers and Retry-After.

    Flask-Limiter sets Retry-After on every response it adds its headers to: the time left in the limit's window, or
    the response's own Retry-After if that is later, rounded down. So a 503 that said "try again in 2 s" would say
    "in an hour" under a limit per hour, and a 200 would carry one too. The app's own Retry-After is therefore
    remembered before Flask-Limiter's headers go on, and put back after them (seconds rounded up); a response
    without one keeps none. (Flask runs after-request functions in the reverse order of their registration.)"""

    @app.after_request
    def put_back_retry_after(response: Response) -> Response:
        own, at = g.pop(_OWN_RETRY_AFTER, (None, 0.0))
        if own is None:
            response.headers.pop("Retry-After", None)
        elif own.isdigit():
            response.headers["Retry-After"] = str(max(1, math.ceil(at + int(own) - time.time())))
        else:
            response.headers["Retry-After"] = own
        return response

    limiter = Limiter(key_func=_client_key, app=app, default_limits=[rate_limit])
    for blueprint in unlimited:
        limiter.exempt(blueprint)

    @app.after_request
    def remember_retry_after(response: Response) -> Response:
        setattr(g, _OWN_RETRY_AFTER, (response.headers.get("Retry-After"), time.time()))
        return response

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded) -> Response:
        breached = limiter.current_limit
        # Rounded up: a client that waits exactly this long finds the window reset.
        retry_after = max(1, math.ceil(breached.reset_at - time.time())) if breached is not None else 60
        return problem(429, error.description, {"Retry-After": str(retry_after)})


def _client_key() -> str:
    header = request.headers.get("Authorization", "")
    return header[-24:] if header.startswith("Bearer ") else get_remote_address()
