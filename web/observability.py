"""Structured JSON logs with the request id, and Prometheus metrics."""

from __future__ import annotations

import os
import re
import time
import uuid
from typing import Any

import structlog
from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("tracker_http_requests_total", "HTTP requests", ["method", "endpoint", "status"], registry=REGISTRY)
LATENCY = Histogram(
    "tracker_http_request_seconds",
    "HTTP request latency",
    ["method", "endpoint"],
    registry=REGISTRY,
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def request_id() -> str:
    """The request's id: the caller's X-Request-ID when it is sane, else one made for it; the response echoes it and
    the events the request causes carry it as their correlation id."""
    found: str | None = g.get("request_id")
    if found is None:
        supplied = request.headers.get("X-Request-ID", "")
        found = g.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
    return found


def install(app: Flask) -> None:
    log = structlog.get_logger("tracker.http")

    @app.before_request
    def start() -> None:
        request_id()
        g.started = time.perf_counter()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    def finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        LATENCY.labels(request.method, endpoint).observe(elapsed)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        principal = g.get("principal")
        log.info(
            "request",
            method=request.method,
            path=_logged_path(),
            status=response.status_code,
            duration_ms=round(elapsed * 1000, 2),
            # The person's id and the key's id, never a name: logs outlive an erasure.
            person=str(principal.person_id) if principal is not None else None,
            key=principal.key_id if principal is not None else None,
        )
        structlog.contextvars.clear_contextvars()
        return response


# Path parts that are secrets (an invitation's single-use token): logged as the route's placeholder, since logs are
# read by more people than may use the link.
SECRET_PARTS = frozenset({"token"})


def _logged_path() -> str:
    """The request's path as the log keeps it: with each secret part replaced by its name (`/invitations/<token>`)."""
    values = request.view_args or {}
    if request.url_rule is None or not SECRET_PARTS & values.keys():
        return request.path
    path = request.path
    for name in SECRET_PARTS & values.keys():
        path = path.replace(str(values[name]), f"<{name}>")
    return path


def metrics_response(extra: Any = None) -> Response:
    """Prometheus text; aggregated across gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    if extra:
        body += extra.encode()
    # content_type, not mimetype: CONTENT_TYPE_LATEST names its charset already, and mimetype would add a second.
    return Response(body, content_type=CONTENT_TYPE_LATEST)
