"""The pages on a Flask app."""

from __future__ import annotations

from flask import Blueprint, Flask

from pages import dashboard


def install(app: Flask) -> tuple[Blueprint, ...]:
    """Register the pages; returns their blueprints (the API's limits leave them out)."""
    blueprints = (dashboard.blp,)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    return blueprints
