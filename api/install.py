"""The JSON API on a Flask app: its OpenAPI document, the problem+json error map, its limits and its resources."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask

from api import rate_limit
from api.auth_failures import AuthFailureLimit, storage_options
from api.errors import ProblemApi, problem, register_error_handlers
from api.resources import history, imports, innovations, ops, organisations
from runtime.settings import Settings


def install(app: Flask, settings: Settings, exempt: tuple[Blueprint, ...] = ()) -> None:
    """Serve the API under /api/v1 (and /healthz, /readyz, /metrics); `exempt` blueprints are left out of its limits."""
    app.config.update(
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
        # X-RateLimit-* headers describe TRACKER_RATE_LIMIT; Retry-After stays the app's own (see api.rate_limit).
        RATELIMIT_HEADERS_ENABLED=bool(settings.rate_limit),
    )
    api = ProblemApi(app)
    register_error_handlers(app)
    unlimited = (ops.blp, ops.assets, *exempt)
    if settings.auth_failure_limit:
        # Before the per-key limit, so an address over its failures is refused before any other limit counts it.
        AuthFailureLimit(
            settings.auth_failure_limit, settings.rate_limit_storage, frozenset(b.name for b in unlimited)
        ).install(app)
    if settings.rate_limit:
        rate_limit.install(app, settings.rate_limit, unlimited)
    app.register_blueprint(ops.assets)
    for blueprint in (ops.blp, organisations.blp, innovations.blp, history.blp, imports.blp):
        api.register_blueprint(blueprint)

    @app.errorhandler(404)
    def not_found(_: Any) -> Any:
        return problem(404, "No such resource.")
