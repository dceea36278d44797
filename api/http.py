"""HTTP concurrency and consistency: ETag/If-Match, event positions, read-your-writes."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, g, request

from api.errors import ProblemError
from tracker.application import Receipt
from web.read_connection import read_afresh, read_connection
from web.services import services

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,12})"?$')


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
    current = services()
    position = receipt.position if receipt.position is not None else current.app.current_position()
    current.after_write(position)
    headers = {"ETag": etag(receipt.version), "X-Event-Position": str(position)}
    if location:
        headers["Location"] = location
    return body, status, headers


def wait_for_projections() -> int:
    """Honour X-Min-Position (up to the configured wait); returns the projection position to report."""
    current = services()
    raw = request.headers.get("X-Min-Position")
    if raw is None:
        current.read_your_writes()
        # On the connection the query will use: on SQLite in the same snapshot, on PostgreSQL just before it, so
        # the position reported is never ahead of what the query saw.
        return current.read_model.position(read_connection())
    if not raw.strip().isdigit() or len(raw.strip()) > 18:
        raise ProblemError(400, "X-Min-Position must be a non-negative integer log position.")
    wanted = int(raw)
    catch_up = current.settings.inline_projections
    if current.read_model.wait_for(wanted, timeout=0, catch_up=catch_up):
        return current.read_model.position(read_afresh())
    head = current.app.current_position()
    if wanted > head:
        # A position no write has reached yet: waiting would only hold a thread for the whole timeout.
        raise ProblemError(
            422,
            f"X-Min-Position {wanted} is beyond the end of the event log, which is at position {head}.",
            errors={"X-Min-Position": [f"must be at most {head}, the log's last position"]},
        )
    if not current.waiters.acquire(blocking=False):
        raise ProblemError(
            503, "Too many reads are waiting for the read model; retry shortly.", headers={"Retry-After": "1"}
        )
    try:
        reached = current.read_model.wait_for(wanted, timeout=current.settings.read_wait_timeout, catch_up=catch_up)
    finally:
        current.waiters.release()
    if not reached:
        raise ProblemError(
            503, f"The read model has not reached position {wanted} yet; retry shortly.", headers={"Retry-After": "1"}
        )
    return current.read_model.position(read_afresh())


def with_projection_position(response: Response, position: int) -> Response:
    response.headers["X-Projection-Position"] = str(position)
    return response
