"""The Flask app: the services, what every answer shares, the pages and the JSON API."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import api.install
import pages.emails
import pages.install
from bootstrap.build import build_services
from runtime.settings import Settings
from web import observability, read_connection, security
from web.services import SERVICES

MAX_BODY_BYTES = 1024 * 1024


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask("tracker")
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if settings.trusted_proxies:  # the client address (for per-client limits and logs) comes from X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
    services = app.extensions[SERVICES] = build_services(settings)
    security.install(app, trusted_hosts=settings.trusted_hosts, hsts=settings.hsts)
    observability.install(app)
    read_connection.install(app)
    blueprints = pages.install.install(app)
    api.install.install(app, services, exempt=blueprints, other_errors=pages.install.error_page)
    if services.outbox is not None:
        services.outbox.sender.render = pages.emails.renderer(app, settings.base_url)
    services.start_following()
    return app
