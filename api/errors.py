"""The one error map: every error becomes RFC 9457 application/problem+json."""

from __future__ import annotations

import http
from typing import Any

import structlog
from eventsourcing.persistence import InterfaceError, OperationalError, PersistenceError
from flask import Flask, Response, g, json
from flask_babel import lazy_gettext as _l
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from sqlalchemy.exc import DBAPIError as SQLAlchemyDBAPIError
from sqlalchemy.exc import OperationalError as SQLAlchemyOperationalError
from sqlalchemy.exc import PendingRollbackError
from werkzeug.exceptions import HTTPException

from api.schemas.common import ProblemSchema
from tracker.errors import DomainError, NotFoundError, ValidationError, VersionConflictError

PROBLEM = "application/problem+json"
log = structlog.get_logger("tracker.errors")


class ProblemError(Exception):
    """Raised by views to end the request with a problem (never build bodies in views)."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


# The problems' titles in the reader's language (Flask-Babel: their setting, else Accept-Language; the catalogues
# are the pages'). The detail stays in English: it names fields and rules for whoever debugs the call.
TITLES = {
    400: _l("Bad Request"),
    401: _l("Unauthorized"),
    403: _l("Forbidden"),
    404: _l("Not Found"),
    405: _l("Method Not Allowed"),
    409: _l("Conflict"),
    412: _l("Precondition Failed"),
    413: _l("Request Entity Too Large"),
    415: _l("Unsupported Media Type"),
    422: _l("Unprocessable Entity"),
    428: _l("Precondition Required"),
    429: _l("Too Many Requests"),
    500: _l("Internal Server Error"),
    503: _l("Service Unavailable"),
}


def title(status: int) -> str:
    known = TITLES.get(status)
    return str(known) if known is not None else http.HTTPStatus(status).phrase


def problem(
    status: int, detail: str | None = None, headers: dict[str, str] | None = None, **extensions: Any
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title(status), "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extensions.items() if v is not None})
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow messages ({location: {field: [...]}}) as {"field.sub": [...]}."""
    if isinstance(messages, list):
        return {prefix or "_schema": [str(m) for m in messages if not isinstance(m, (dict, list))]} | {
            k: v for m in messages if isinstance(m, (dict, list)) for k, v in flatten(m, prefix).items()
        }
    if not isinstance(messages, dict):
        return {prefix or "_schema": [str(messages)]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        flat.update(flatten(value, name))
    return flat


class ProblemApi(Api):
    """flask-smorest Api whose errors (and their documentation) are problem+json."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # every operation lists its own error statuses

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Response:  # type: ignore[override]
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        data = getattr(error, "data", None) or {}
        headers.update(data.get("headers") or {})
        code = error.code or 500
        messages = data.get("errors") or data.get("messages")
        if messages is not None:
            located = messages
            if isinstance(messages, dict) and set(messages) <= {
                "json",
                "query",
                "headers",
                "form",
                "files",
                "view_args",
            }:
                located = {k: v for loc in messages.values() for k, v in (loc.items() if isinstance(loc, dict) else [])}
            return problem(
                code, data.get("message") or "The request has invalid fields.", headers, errors=flatten(located)
            )
        detail = data.get("message") or error.description
        return problem(code, detail, headers)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ProblemError)
    def on_problem(error: ProblemError) -> Response:
        return problem(error.status, error.detail, error.headers, **error.extensions)

    @app.errorhandler(DomainError)
    def on_domain_error(error: DomainError) -> Response:
        if isinstance(error, NotFoundError):
            return problem(404, error.message, rule=error.rule)
        if isinstance(error, ValidationError):
            return problem(422, error.message, rule=error.rule, errors={error.field: [error.field_message]})
        if isinstance(error, VersionConflictError):
            status = 412 if getattr(g, "if_match", None) is not None else 409
            return problem(status, error.message, rule=error.rule)
        return problem(409, error.message, rule=error.rule)

    @app.errorhandler(PersistenceError)
    @app.errorhandler(SQLAlchemyOperationalError)
    @app.errorhandler(PendingRollbackError)
    def on_store_unavailable(error: Exception) -> Response:
        # PendingRollbackError: the connection was lost earlier in the request and its failure handled there.
        unavailable = (OperationalError, InterfaceError, SQLAlchemyOperationalError, PendingRollbackError)
        if isinstance(error, unavailable) or _is_disconnect(error):
            log.warning("store_unavailable", error=str(error)[:500])
            return problem(503, "The store is unavailable; try again shortly.", {"Retry-After": "2"})
        log.error("store_error", error=str(error)[:500])
        return problem(503, "The store could not complete the request.", {"Retry-After": "2"})

    @app.errorhandler(Exception)
    def on_unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):  # flask-smorest's handler covers these; keep a safe fallback
            return problem(error.code or 500, error.description)
        if isinstance(error, SQLAlchemyDBAPIError) and _is_disconnect(error):
            return problem(503, "The store is unavailable; try again shortly.", {"Retry-After": "2"})
        log.exception("unhandled_error")
        return problem(500, "An unexpected error occurred; it has been logged.")


def _is_disconnect(error: Exception) -> bool:
    text = str(error).lower()
    return any(s in text for s in ("connection", "database is locked", "server closed", "timeout", "could not connect"))
