"""The composition root: builds the application, the read model, the services and the Flask app from settings.

`wsgi.py`, the `tracker` command, the workers, `bench/` and `soak/` all start here. `create_app` is imported from
bootstrap.web only when it is asked for: the Flask app, the API and the pages take longer to import than the rest of
the tracker together, and the command line and the projection worker serve no pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bootstrap.build import (
    build_application,
    build_read_model,
    build_services,
    open_application,
    open_event_log,
    upgrade_database,
)

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from bootstrap.web import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
