"""The analysts' dashboard: one page whose script reads the public JSON API with the pages' session.

The script's messages are written once, in pages/static/dashboard.js, as `_("...")` calls: `make messages` extracts
them into the catalogues, and this page hands the script their translations in the reader's language, with the
domain's names from the same vocabulary as the other pages."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from babel.messages.extract import extract
from flask import Blueprint, Response, render_template, send_from_directory
from flask_babel import get_locale, gettext

from pages import vocabulary
from pages.session import role_required
from tracker.actors import READ_ALL_ROLES
from tracker.stages import STAGES, STATUSES

STATIC = Path(__file__).resolve().parent / "static"
SCRIPT = STATIC / "dashboard.js"
# Chart.js ships inside the chartkick package; the app serves it itself (no CDN at run time).
CHART_JS_DIR = Path(str(files("chartkick"))) / "django" / "static" / "chartkick"

blp = Blueprint("dashboard", __name__)


@cache
def script_messages() -> tuple[str, ...]:
    """The messages of dashboard.js, as `make messages` extracts them (pages/babel.cfg)."""
    with SCRIPT.open("rb") as script:
        found = extract("javascript", script, keywords={"_": None})
        return tuple(dict.fromkeys(message for _, message, _, _ in found if isinstance(message, str)))


def words() -> dict[str, Any]:
    """What the script writes, in the reader's language."""

    def names(table: dict[str, Any]) -> dict[str, str]:
        return {key: str(name) for key, name in table.items()}

    return {
        "language": str(get_locale()),
        # The domain's order (the names below are keyed, and JSON keys are sorted).
        "stage_order": list(STAGES),
        "status_order": list(STATUSES),
        "messages": {message: gettext(message) for message in script_messages()},
        "stages": names(vocabulary.STAGE_NAMES),
        "statuses": names(vocabulary.STATUS_NAMES),
        "evidence": names(vocabulary.EVIDENCE_KIND_NAMES),
        "member_roles": names(vocabulary.MEMBER_ROLE_NAMES),
        "roles": names(vocabulary.ACTOR_ROLE_NAMES),
        "events": names(vocabulary.EVENT_NAMES),
        "details": names(vocabulary.DETAIL_NAMES),
    }


@blp.get("/dashboard")
@role_required(*READ_ALL_ROLES)
def index() -> str:
    return render_template("dashboard/index.html", words=words())


@blp.get("/dashboard/<path:filename>")
def assets(filename: str) -> Response:
    return send_from_directory(STATIC, filename, max_age=300)


@blp.get("/dashboard/vendor/chart.js")
def chart_js() -> Response:
    return send_from_directory(CHART_JS_DIR, "Chart.bundle.js", max_age=86400, mimetype="text/javascript")
