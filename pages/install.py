"""The pages on a Flask app: sign-in, each role's pages, and the analysts' dashboard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from access.signin import PASSWORD_MIN
from pages import (
    admin,
    audit,
    dashboard,
    directory,
    evaluation,
    home,
    i18n,
    imports,
    manager,
    provider,
    session,
    signin,
    vocabulary,
    webhooks,
)
from runtime.import_jobs import ImportJobs
from web.failure_counts import failure_counts
from web.services import SERVICES

# The pages' own policy: their scripts and styles come from this app only, and forms post only to it.
PAGES_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)


def _not_found(_: Any) -> tuple[str, int]:
    """A page that does not exist, or that the reader may not see: an HTML page, not the API's problem+json."""
    return render_template("signin/not_found.html"), 404


def error_page(error: HTTPException) -> tuple[str, int, dict[str, str]] | None:
    """The page for an address outside the API that no route answers (404), or that takes only forms (405): HTML in
    the reader's language, not the API's problem+json. None for any other error."""
    if isinstance(error, NotFound):
        return render_template("signin/not_found.html"), 404, {}
    if isinstance(error, MethodNotAllowed):
        message = _("This address only receives forms; open the page the form is on.")
        allowed = {k: v for k, v in error.get_headers() if k == "Allow"}
        return render_template("signin/message.html", message=message), 405, allowed
    return None


# The workbench's pages.
PAGES = (
    home.blp,
    dashboard.blp,
    signin.blp,
    evaluation.blp,
    manager.blp,
    provider.blp,
    admin.blp,
    audit.blp,
    directory.blp,
    imports.blp,
    webhooks.blp,
)


def _forbidden(_: Any) -> tuple[str, int]:
    return render_template("signin/forbidden.html"), 403


for _blueprint in PAGES:
    _blueprint.register_error_handler(404, _not_found)
    _blueprint.register_error_handler(403, _forbidden)


def install(app: Flask) -> tuple[Blueprint, ...]:
    """Register the pages; returns their blueprints (the API's limits leave them out)."""
    services = app.extensions[SERVICES]
    limit = services.settings.auth_failure_limit
    session.install(app, session.FailedSignIns(limit, FixedWindowRateLimiter(failure_counts(services))))
    i18n.install(app)
    import_jobs = app.extensions[imports.IMPORT_JOBS] = ImportJobs(services)

    @app.before_request
    def take_over_stopped_imports() -> None:
        """Any request may take over an import whose process stopped (it looks at most every CHECK_EVERY)."""
        import_jobs.resume_stopped()

    for blueprint in PAGES:
        app.register_blueprint(blueprint)
    app.jinja_env.globals["csrf_token"] = generate_csrf
    names = {blueprint.name for blueprint in PAGES}

    @app.context_processor
    def page_context() -> dict[str, Any]:
        role = current_user.role if current_user.is_authenticated else None
        return {
            "current_language": str(get_locale() or i18n.DEFAULT),
            "languages": i18n.LANGUAGES,
            "role_names": vocabulary.ROLE_NAMES,
            "actor_role_names": vocabulary.ACTOR_ROLE_NAMES,
            "stage_names": vocabulary.STAGE_NAMES,
            "status_names": vocabulary.STATUS_NAMES,
            "decision_names": vocabulary.DECISION_NAMES,
            "evidence_kind_names": vocabulary.EVIDENCE_KIND_NAMES,
            "job_states": vocabulary.JOB_STATES,
            "ecosystem_detail_names": vocabulary.ECOSYSTEM_DETAIL_NAMES,
            "navigation": home.navigation(role) if role else [],
            "password_min": PASSWORD_MIN,
            "return_path": signin.return_path,
        }

    @app.after_request
    def page_policy(response: Any) -> Any:
        if request.blueprint in names and "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = PAGES_CSP
        return response

    return PAGES
