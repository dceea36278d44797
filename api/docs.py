"""The interactive docs page (Swagger UI), served from the installed package under a strict Content-Security-Policy.

flask-smorest's page starts Swagger UI from an inline script; this one starts it from a file the API serves."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, make_response, render_template_string, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

STATIC = Path(__file__).resolve().parent / "static"
# Swagger UI sets style attributes on its elements, and shows images inline.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'"
)
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{{ title }}</title>
  <link href="{{ assets }}swagger-ui.css" rel="stylesheet" type="text/css">
</head>
<body>
  <div id="swagger-ui-container" data-spec-url="{{ spec_url }}"></div>
  <script src="{{ assets }}swagger-ui-standalone-preset.js"></script>
  <script src="{{ assets }}swagger-ui-bundle.js"></script>
  <script src="{{ start }}"></script>
</body>
</html>
"""

assets = Blueprint("docs_assets", __name__)


@assets.get("/api/v1/docs/assets/<path:filename>")
def docs_assets(filename: str) -> Response:
    """Swagger UI's files, served from the installed package (no CDN)."""
    return send_from_directory(swagger_ui_path, filename, max_age=3600)


@assets.get("/api/v1/docs/start.js")
def docs_start() -> Response:
    return send_from_directory(STATIC, "docs-start.js", max_age=300, mimetype="text/javascript")


class SwaggerPage:
    """Mixed into the Api: its Swagger UI page."""

    def _openapi_swagger_ui(self) -> Response:
        title = getattr(getattr(self, "spec", None), "title", "API")
        html = render_template_string(
            PAGE,
            title=title,
            assets=current_app.config["OPENAPI_SWAGGER_UI_URL"],
            spec_url=url_for("api-docs.openapi_json"),
            start=url_for("docs_assets.docs_start"),
        )
        response = make_response(html)
        response.headers["Content-Security-Policy"] = DOCS_CSP
        return response
