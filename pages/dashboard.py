"""The analysts' dashboard: one static page that talks only to the public JSON API."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from flask import Blueprint, Response, send_from_directory

STATIC = Path(__file__).resolve().parent / "static"
# Chart.js ships inside the chartkick package; the app serves it itself (no CDN at run time).
CHART_JS_DIR = Path(str(files("chartkick"))) / "django" / "static" / "chartkick"

blp = Blueprint("dashboard", __name__)


@blp.get("/dashboard")
def index() -> Response:
    response = send_from_directory(STATIC, "dashboard.html", max_age=0)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'"
    )
    return response


@blp.get("/dashboard/<path:filename>")
def assets(filename: str) -> Response:
    return send_from_directory(STATIC, filename, max_age=300)


@blp.get("/dashboard/vendor/chart.js")
def chart_js() -> Response:
    return send_from_directory(CHART_JS_DIR, "Chart.bundle.js", max_age=86400, mimetype="text/javascript")
