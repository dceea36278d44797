"""The composition root: builds the application, the read model, the services and the Flask app from settings.

`wsgi.py`, the `tracker` command, the workers, `bench/` and `soak/` all start here."""

from bootstrap.build import (
    build_application,
    build_read_model,
    build_services,
    open_application,
    open_event_log,
    upgrade_database,
)
from bootstrap.web import create_app

__all__ = [
    "build_application",
    "build_read_model",
    "build_services",
    "create_app",
    "open_application",
    "open_event_log",
    "upgrade_database",
]
