"""The services of the process serving a request (set by the composition root on the Flask app)."""

from __future__ import annotations

from flask import current_app

from runtime.services import Services

# The key of the Flask app's extensions that holds the process's Services.
SERVICES = "tracker"


def services() -> Services:
    return current_app.extensions[SERVICES]  # type: ignore[no-any-return]
