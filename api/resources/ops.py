"""Operations: liveness, readiness with projection lag, and metrics."""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Response, jsonify

from api.errors import problem
from api.resources import ApiBlueprint
from projections.read_model import ProjectionStatus
from web.observability import metrics_response
from web.services import services

blp = ApiBlueprint("ops", __name__, description="Health, readiness and metrics")
PUBLIC = {"security": []}


@blp.route("/healthz")
@blp.response(200, description="The process is up.")
@blp.doc(**PUBLIC)
def healthz() -> Response:
    """Liveness: the process is up."""
    return jsonify(status="ok")


@blp.route("/readyz")
@blp.response(200, description="The store is reachable; projection positions and lag.")
@blp.errors(503)
@blp.doc(**PUBLIC)
def readyz() -> Any:
    """The store is reachable; reports the projections' lag behind the log."""
    try:
        statuses = services().read_model.status()
        if not statuses:
            return problem(503, "read model not migrated: run 'tracker db upgrade'", {"Retry-After": "5"})
        # A process whose code is for another schema than the store's projects nothing (check_schema).
        mismatch = services().read_model.schema_problem()
        behind = _behind(statuses)
    except Exception as exc:
        return problem(503, f"store unavailable: {type(exc).__name__}", {"Retry-After": "2"})
    if mismatch is not None and services().projection is not None:
        # This process projects its own writes: its reads would miss them.
        return problem(503, mismatch, {"Retry-After": "5"})
    lags: dict[str, Any] = {
        "log_position": statuses[0].log_position,
        "projections": {s.name: {"position": s.position, "lag": s.lag} for s in statuses},
        "lag": max(s.lag for s in statuses),
    }
    outbox = services().outbox
    if outbox is not None:
        try:
            found = outbox.stats()
        except Exception as exc:
            return problem(503, f"store unavailable: {type(exc).__name__}", {"Retry-After": "2"})
        # The outbox's lag is reported, not held against readiness: a receiver that is down must not take the API
        # out of service.
        lags["outbox"] = {
            "position": found["position"],
            "lag": found["lag"],
            "pending_deliveries": found["deliveries"]["pending"],
            "oldest_undelivered_seconds": found["oldest_undelivered_seconds"],
        }
    if mismatch is not None:
        # Reported, as the outbox's lag is: another process (of the schema's release) projects.
        lags["schema"] = mismatch
    if behind is not None:
        return problem(503, f"the read model is behind the event log: {behind}", {"Retry-After": "5"}, **lags)
    return jsonify(status="ready", **lags)


def _behind(statuses: list[ProjectionStatus]) -> str | None:
    """Why the read side is too far behind to serve (TRACKER_READY_MAX_LAG and _SECONDS), or None."""
    settings = services().settings
    lag = max(s.lag for s in statuses)
    if lag > settings.ready_max_lag:
        return f"{lag} events behind (at most {settings.ready_max_lag})"
    if lag == 0:
        return None
    waited = services().read_model.oldest_unprojected_age()
    if waited is not None and waited > settings.ready_max_lag_seconds:
        return f"an event has waited {waited:.0f} s to be projected (at most {settings.ready_max_lag_seconds:g} s)"
    return None


@blp.route("/metrics")
@blp.response(200, description="Prometheus text format.", content_type="text/plain")
@blp.doc(**PUBLIC)
def metrics() -> Response:
    """Prometheus text format."""
    lines = ""
    try:
        for s in services().read_model.status():
            lines += f'tracker_projection_lag_events{{projection="{s.name}"}} {s.lag}\n'
    except Exception:  # noqa: S110 - metrics must answer even when the store is down
        pass
    with contextlib.suppress(Exception):  # as above
        lines += _outbox_metrics()
    return metrics_response(lines)


def _outbox_metrics() -> str:
    """The outbox as Prometheus gauges: deliveries and e-mails by outcome, the queue's depth, the oldest undelivered
    age and the lag behind the log. Read from the database, so every worker reports the same."""
    outbox = services().outbox
    if outbox is None:
        return ""
    found = outbox.stats()
    lines = [
        "# HELP tracker_webhook_deliveries Webhook deliveries by status (pending is the queue's depth).",
        "# TYPE tracker_webhook_deliveries gauge",
        *(f'tracker_webhook_deliveries{{status="{k}"}} {v}' for k, v in found["deliveries"].items()),
        "# HELP tracker_outbox_emails E-mails in the outbox by status.",
        "# TYPE tracker_outbox_emails gauge",
        *(f'tracker_outbox_emails{{status="{k}"}} {v}' for k, v in found["emails"].items()),
        "# HELP tracker_outbox_oldest_undelivered_seconds Age of the oldest delivery not yet made (0: none waits).",
        "# TYPE tracker_outbox_oldest_undelivered_seconds gauge",
        f"tracker_outbox_oldest_undelivered_seconds {found['oldest_undelivered_seconds'] or 0}",
        "# HELP tracker_outbox_lag_events Events stored but not yet derived into the outbox.",
        "# TYPE tracker_outbox_lag_events gauge",
        f"tracker_outbox_lag_events {found['lag']}",
    ]
    return "\n".join(lines) + "\n"
