"""Operations: liveness, readiness with projection lag, metrics, and the local docs assets."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from api.errors import problem
from api.resources import ApiBlueprint
from web.observability import metrics_response
from web.services import services

blp = ApiBlueprint("ops", __name__, description="Health, readiness and metrics")
assets = Blueprint("docs_assets", __name__)
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
    except Exception as exc:
        return problem(503, f"store unavailable: {type(exc).__name__}", {"Retry-After": "2"})
    if not statuses:
        return problem(503, "read model not migrated: run 'tracker db upgrade'", {"Retry-After": "5"})
    return jsonify(
        status="ready",
        log_position=statuses[0].log_position,
        projections={s.name: {"position": s.position, "lag": s.lag} for s in statuses},
        lag=max(s.lag for s in statuses),
    )


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
    return metrics_response(lines)


@assets.get("/api/v1/docs/assets/<path:filename>")
def docs_assets(filename: str) -> Response:
    """Swagger UI's files, served from the installed package (no CDN)."""
    return send_from_directory(swagger_ui_path, filename, max_age=3600)
