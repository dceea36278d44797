"""The admin's imports: upload a CoVE JSON file or an Erasmus+ export, watch the import's progress, read its summary
(created, unchanged, refused rows with their reasons). The import runs in the background (runtime.import_jobs)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from importers.common import SOURCES, RowError, check_filters
from importers.erasmus import RowFilter
from pages.forms import ImportForm, refused_status
from pages.session import Page, role_required, signed_in
from pages.vocabulary import IMPORT_REASONS
from runtime.import_jobs import ImportJobs
from web.services import services
from web.uploads import saved_name

blp = Blueprint("imports_pages", __name__, template_folder="templates")

# The key of the Flask app's extensions that holds the ImportJobs.
IMPORT_JOBS = "tracker.import_jobs"


def jobs() -> ImportJobs:
    found: ImportJobs = current_app.extensions[IMPORT_JOBS]
    return found


@blp.before_request
def allow_large_uploads() -> None:
    """Real exports are about 90 MB: the upload takes the imports' limit, as the API's import endpoint does."""
    if request.endpoint == "imports_pages.imports" and request.method == "POST":
        request.max_content_length = services().settings.import_max_bytes


@blp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge) -> Page:
    """An upload over the imports' limit: the form again, the file's field saying the limit (not the API's problem)."""
    form = ImportForm(formdata=None)
    mib = services().settings.import_max_bytes / (1024 * 1024)
    form.file.errors = [_("The file is larger than the largest upload, %(size)s MiB.", size=format_decimal(mib))]
    return render_template("imports/imports.html", form=form, jobs=jobs().recent()), 413


@blp.route("/admin/imports", methods=["GET", "POST"])
@role_required("admin")
def imports() -> Page:
    form = ImportForm()

    def render(status: int = 200, **extra: object) -> Page:
        return render_template("imports/imports.html", form=form, jobs=jobs().recent(), **extra), status

    if request.method == "GET":
        return render()
    if not form.validate_on_submit():
        return render(refused_status(form))
    upload = form.file.data
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in SOURCES[form.source.data]:
        form.file.errors = [
            _("This kind of import takes %(suffixes)s files.", suffixes=", ".join(SOURCES[form.source.data]))
        ]
        return render(422)
    filters, refused_lines = [], []
    for line in (form.filters.data or "").splitlines():
        if line.strip():
            try:
                filters.append(RowFilter.parse(line))
            except ValueError:
                refused_lines.append(line.strip())
    if refused_lines:
        form.filters.errors = [
            _(
                "Write each filter as a column, = or ~, and a value, such as Coordinator's country=LT or "
                "Key Action~vocational (not: %(lines)s).",
                lines="; ".join(refused_lines),
            )
        ]
        return render(422)
    try:
        check_filters(form.source.data, filters)
    except RowError as refused:
        form.filters.errors = [reason({"code": refused.code, "values": refused.values}, str(refused))]
        return render(422)
    folder = Path(tempfile.mkdtemp(prefix="tracker-import-"))
    path = folder / saved_name(upload.filename, suffix)
    upload.save(path)
    job_id = jobs().start(
        person_id=signed_in().person.id,
        source=form.source.data,
        path=path,
        filename=Path(upload.filename or path.name).name,
        filters=filters,
        dry_run=bool(form.dry_run.data),
    )
    return redirect(url_for("imports_pages.job", job_id=job_id))


@blp.get("/admin/imports/<uuid:job_id>")
@role_required("admin")
def job(job_id: UUID) -> Page:
    found = jobs().get(job_id)
    if found is None:
        abort(404)
    if request.accept_mimetypes.best == "application/json":
        # What the job page's script polls for while the import runs.
        return jsonify({"state": found["state"], "percent": found["percent"]})
    return render_template("imports/job.html", job=found, reason=reason)


def reason(said: dict[str, Any] | None, english: str | None) -> str:
    """An importer's refusal ({"code", "values"}) in the reader's language; as the importer said it where the code
    is not known (a summary recorded before reasons had codes)."""
    template = IMPORT_REASONS.get((said or {}).get("code", ""))
    if template is None:
        return english or ""
    return str(template) % (said or {}).get("values", {})
