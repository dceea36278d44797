"""The JSON API on a Flask app: its OpenAPI document, the problem+json error map, its limits and its resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, request
from werkzeug.exceptions import HTTPException

from api import docs, rate_limit
from api.auth_failures import AuthFailureLimit
from api.errors import ProblemApi, problem, register_error_handlers
from api.resources import evaluation, feed, history, imports, innovations, ops, organisations, people, webhooks
from runtime.services import Services
from web.failure_counts import failure_counts, storage_options

# The addresses the API answers; what no route answers elsewhere is the pages' to say (`install`'s `other_errors`).
API_PATHS = ("/api/", "/healthz", "/readyz", "/metrics")
# An HTML answer for an error at an address outside the API, or None to answer it as the API does.
OtherErrors = Callable[[HTTPException], Any]


def for_the_api(path: str) -> bool:
    return path.startswith(API_PATHS)


class TrackerApi(docs.SwaggerPage, ProblemApi):
    """The API: problem+json errors, and docs under a strict Content-Security-Policy."""

    other_errors: OtherErrors | None = None

    def handle_http_exception(self, error: HTTPException) -> Any:
        if self.other_errors is not None and not for_the_api(request.path):
            answer = self.other_errors(error)
            if answer is not None:
                return answer
        return super().handle_http_exception(error)


def install(
    app: Flask, services: Services, exempt: tuple[Blueprint, ...] = (), other_errors: OtherErrors | None = None
) -> None:
    """Serve the API under /api/v1 (and /healthz, /readyz, /metrics); `exempt` blueprints are left out of its limits.
    `other_errors` answers an HTTP error (an unknown address, a method not allowed) outside those paths."""
    settings = services.settings
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
    api = TrackerApi(app)
    api.other_errors = other_errors
    register_error_handlers(app)
    unlimited = (ops.blp, docs.assets, *exempt)
    if settings.auth_failure_limit:
        # Before the per-key limit, so an address over its failures is refused before any other limit counts it.
        AuthFailureLimit(
            settings.auth_failure_limit, failure_counts(services), frozenset(b.name for b in unlimited)
        ).install(app)
    if settings.rate_limit:
        rate_limit.install(app, settings.rate_limit, unlimited)
    app.register_blueprint(docs.assets)
    for blueprint in (
        ops.blp,
        organisations.blp,
        innovations.blp,
        evaluation.blp,
        people.blp,
        history.blp,
        imports.blp,
        feed.blp,
        webhooks.blp,
    ):
        api.register_blueprint(blueprint)
    feed.document(api.spec)

    @app.errorhandler(404)
    def not_found(error: HTTPException) -> Any:
        if other_errors is not None and not for_the_api(request.path):
            answer = other_errors(error)
            if answer is not None:
                return answer
        return problem(404, "No such resource.")
