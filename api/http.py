"""HTTP concurrency and consistency: ETag/If-Match, event positions, read-your-writes, request ids."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Response, current_app, g, request

from api.errors import ProblemError
from api.read_connection import read_afresh, read_connection
from tracker.application import Receipt

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,12})"?$')


def request_id() -> str:
    """The caller's X-Request-ID when it is sane, else a fresh one; becomes the correlation id."""
    supplied = request.headers.get("X-Request-ID", "")
    return supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex


def expected_version(*, required: bool) -> int | None:
    """The version pinned by If-Match: 428 when required and missing, 412 when unparseable."""
    header = request.headers.get("If-Match")
    g.if_match = header
    if header is None:
        if required:
            raise ProblemError(428, "Send If-Match with the ETag of the version you read.")
        return None
    header = header.strip()
    if header == "*":
        g.if_match = None  # "*" matches any current version: no pin, server-side retry
        return None
    match = _ETAG.match(header)
    if match is None:
        raise ProblemError(412, "If-Match does not match the current version.")
    return int(match.group(1))


def etag(version: int) -> str:
    return f'"{version}"'


def written(
    receipt: Receipt, body: dict[str, Any], status: int = 200, location: str | None = None
) -> tuple[Any, int, dict[str, str]]:
    """A write's answer: body, ETag of the new version and the log position of its last event."""
    services = current_app.extensions["tracker"]
    position = receipt.position if receipt.position is not None else services.app.current_position()
    services.after_write(position)
    headers = {"ETag": etag(receipt.version), "X-Event-Position": str(position)}
    if location:
        headers["Location"] = location
    return body, status, headers


def wait_for_projections() -> int:
    """Honour X-Min-Position (up to the configured wait); returns the projection position to report."""
    services = current_app.extensions["tracker"]
    raw = request.headers.get("X-Min-Position")
    if raw is None:
        services.read_your_writes()
        # On the connection the query will use: on SQLite in the same snapshot, on PostgreSQL just before it, so
        # the position reported is never ahead of what the query saw.
        return services.read_model.position(read_connection())
    if not raw.strip().isdigit() or len(raw.strip()) > 18:
        raise ProblemError(400, "X-Min-Position must be a non-negative integer log position.")
    wanted = int(raw)
    if not services.read_model.wait_for(
        wanted, timeout=services.settings.read_wait_timeout, catch_up=services.settings.inline_projections
    ):
        raise ProblemError(
            503, f"The read model has not reached position {wanted} yet; retry shortly.", headers={"Retry-After": "1"}
        )
    return services.read_model.position(read_afresh())


def with_projection_position(response: Response, position: int) -> Response:
    response.headers["X-Projection-Position"] = str(position)
    return response
