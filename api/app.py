"""The Flask app factory."""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Blueprint, Flask, Response, g
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from api import dashboard, observability, read_connection
from api.auth_failures import AuthFailureLimit, storage_options
from api.bootstrap import build_services
from api.errors import ProblemApi, problem, register_error_handlers
from api.resources import history, imports, innovations, ops, organisations
from api.settings import Settings

MAX_BODY_BYTES = 1024 * 1024
# A response's own Retry-After, and when it was read, while Flask-Limiter adds its headers (see _install_rate_limit).
_OWN_RETRY_AFTER = "own_retry_after"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask("tracker")
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_TITLE="Innovation Ecosystem Tracker",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {"description": "Event-sourced record of VET innovations from idea to mainstream practice."},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
        RATELIMIT_DEFAULT=settings.rate_limit or None,
        RATELIMIT_STORAGE_URI=settings.rate_limit_storage,
        # An unreachable storage lets calls through (logged) instead of failing every one (see api.auth_failures).
        RATELIMIT_STORAGE_OPTIONS=storage_options(settings.rate_limit_storage),
        RATELIMIT_SWALLOW_ERRORS=True,
        # X-RateLimit-* headers describe TRACKER_RATE_LIMIT; Retry-After stays the app's own (see _install_rate_limit).
        RATELIMIT_HEADERS_ENABLED=bool(settings.rate_limit),
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if settings.trusted_proxies:  # the client address (for per-client limits and logs) comes from X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
    services = app.extensions["tracker"] = build_services(settings)
    services.start_inline_projections()
    observability.install(app)
    read_connection.install(app)
    api = ProblemApi(app)
    register_error_handlers(app)
    unlimited = (ops.blp, ops.assets, dashboard.blp)
    if settings.auth_failure_limit:
        # Before the per-key limit, so an address over its failures is refused before any other limit counts it.
        AuthFailureLimit(
            settings.auth_failure_limit, settings.rate_limit_storage, frozenset(b.name for b in unlimited)
        ).install(app)
    if settings.rate_limit:
        _install_rate_limit(app, settings, unlimited)
    app.register_blueprint(ops.assets)
    app.register_blueprint(dashboard.blp)
    for blueprint in (ops.blp, organisations.blp, innovations.blp, history.blp, imports.blp):
        api.register_blueprint(blueprint)

    @app.errorhandler(404)
    def not_found(_: Any) -> Any:
        return problem(404, "No such resource.")

    return app


def _install_rate_limit(app: Flask, settings: Settings, unlimited: tuple[Blueprint, ...]) -> None:
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

    limiter = Limiter(key_func=_client_key, app=app, default_limits=[settings.rate_limit])
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
    from flask import request

    header = request.headers.get("Authorization", "")
    return header[-24:] if header.startswith("Bearer ") else get_remote_address()
