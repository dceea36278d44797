"""Imports over HTTP: upload a CoVE JSON file or an Erasmus+ export (CSV or XLSX), get the import's summary."""

from __future__ import annotations

import tempfile
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

from flask import request
from flask.views import MethodView
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from api.auth import principal, require
from api.errors import ProblemError
from api.resources import WRITE_ERRORS, ApiBlueprint
from api.schemas.common import Input
from importers.common import PROBLEMS_LISTED, SOURCES, ImportStopped, RowError, check_filters
from importers.cove import import_cove
from importers.erasmus import RowFilter, import_erasmus
from storage.errors import STORE_ERRORS
from tracker.actors import Actor
from web.observability import request_id
from web.services import services
from web.uploads import saved_name

blp = ApiBlueprint("imports", __name__, url_prefix="/api/v1", description="Imports of public EU data")


class ImportUpload(Input):
    """The upload: a multipart/form-data body with the file, its source and, for Erasmus+, filters."""

    file = Upload(required=True)
    source = fields.Str(required=True, validate=validate.OneOf(list(SOURCES)))
    dry_run = fields.Bool(
        load_default=False,
        metadata={"description": "Check every record and answer what importing the file would do; write nothing."},
    )
    filter = fields.List(
        fields.Str(validate=validate.Length(min=3, max=300)),
        validate=validate.Length(max=20),
        metadata={"description": "Erasmus+ only: 'COLUMN=VALUE' or 'COLUMN~TEXT'; every filter must match."},
    )


class ProblemRowSchema(Schema):
    row = fields.Int(required=True, metadata={"description": "The record's number: 1 is the first after the header."})
    project = fields.Str(metadata={"description": "The record's project identifier, where it has one."})
    reason = fields.Str(required=True, metadata={"description": "Why the row was refused, in English."})
    code = fields.Str(metadata={"description": "The reason's code (importers.common.REASONS), stable for scripts."})
    values = fields.Dict(
        keys=fields.Str(), values=fields.Str(), metadata={"description": "The values the reason names, by name."}
    )


class DifferenceSchema(Schema):
    row = fields.Int(required=True)
    project_identifier = fields.Str(required=True)
    fields_ = fields.List(
        fields.Str(),
        required=True,
        data_key="fields",
        attribute="fields",
        metadata={"description": "The ecosystem's details (as GET /ecosystems/{id} names them) that differ."},
    )
    values = fields.Dict(
        keys=fields.Str(),
        values=fields.List(fields.Str(allow_none=True)),
        metadata={"description": "For each detail that differs: [what is stored, what the file says], as text."},
    )


class ImportSummarySchema(Schema):
    source = fields.Str(required=True)
    dry_run = fields.Bool(required=True, metadata={"description": "A check: nothing was written."})
    rows = fields.Int(required=True)
    created = fields.Int(required=True)
    completed = fields.Int(
        required=True, metadata={"description": "Ecosystems imported before that gained members from this file."}
    )
    unchanged = fields.Int(required=True)
    rejected = fields.Int(required=True)
    skipped = fields.Int(required=True, metadata={"description": "Rows left out by the filters."})
    organisations_created = fields.Int(required=True)
    organisations_existing = fields.Int(required=True)
    memberships_created = fields.Int(required=True)
    problems = fields.List(
        fields.Nested(ProblemRowSchema),
        required=True,
        metadata={
            "description": f"The first {PROBLEMS_LISTED:,} rejected records; problems_not_listed counts the rest."
        },
    )
    problems_not_listed = fields.Int(required=True)
    differences = fields.List(
        fields.Nested(DifferenceSchema),
        required=True,
        metadata={
            "description": "Records of ecosystems imported before whose details differ from what is stored; what is "
            "stored stays (an import never revises an ecosystem)."
        },
    )
    changed_nothing = fields.Bool(required=True)
    seconds = fields.Float(required=True)


def _sniffed(source: str, stream: IO[bytes]) -> str:
    """The format of a file uploaded without a suffix: a zip is a workbook, anything else the source's text."""
    start = stream.read(4)
    stream.seek(0)
    if source == "cove":
        return ".json"
    return ".xlsx" if start == b"PK\x03\x04" else ".csv"


@blp.before_request
def allow_large_uploads() -> None:
    """Real exports are about 90 MB; only this endpoint accepts more than the API's 1 MiB."""
    request.max_content_length = services().settings.import_max_bytes


@blp.route("/imports")
class Imports(MethodView):
    @require("admin")
    @blp.arguments(ImportUpload, location="multipart")
    @blp.response(200, ImportSummarySchema)
    @blp.errors(*WRITE_ERRORS)
    def post(self, form: dict[str, Any]) -> Any:
        """Import an uploaded file (admin): idempotent, and bad rows are reported while the rest are imported."""
        upload = form["file"]
        source = form["source"]
        suffix = Path(upload.filename or "").suffix.lower() or _sniffed(source, upload.stream)
        if suffix not in SOURCES[source]:
            raise ProblemError(
                422,
                f"source={source} takes {', '.join(SOURCES[source])} files",
                errors={"file": ["wrong file type"]},
            )
        try:
            filters = [RowFilter.parse(f) for f in form.get("filter", [])]
            check_filters(source, filters)
        except ValueError as exc:  # RowError is one
            raise ProblemError(422, str(exc), errors={"filter": [str(exc)]}) from None
        who = principal()
        actor = Actor(f"importer:{who.person_id}", "importer", key=who.key_id)
        app = services().app
        with tempfile.TemporaryDirectory(prefix="tracker-import-") as tmp:
            path = Path(tmp) / saved_name(upload.filename, suffix)
            upload.save(path)
            name = f"{Path(upload.filename or 'upload').name}@{request_id()}"
            try:
                dry_run = form["dry_run"]
                if source == "cove":
                    summary = import_cove(app, path, actor=actor, source_name=name, dry_run=dry_run)
                else:
                    summary = import_erasmus(app, path, actor=actor, filters=filters, source_name=name, dry_run=dry_run)
            except RowError as exc:  # the file as a whole, or the filters (a column it lacks)
                part = "filter" if exc.code == "filter_column" else "file"
                raise ProblemError(422, str(exc), errors={part: [str(exc)]}) from None
            except ImportStopped as stopped:
                with suppress(*STORE_ERRORS):  # the store may still be failing: the summary is answered all the same
                    services().after_write(app.current_position())
                summary = stopped.summary.as_dict()
                raise ProblemError(503, str(stopped), headers={"Retry-After": "2"}, summary=summary) from None
        position = app.current_position()
        services().after_write(position)
        return summary.as_dict(), 200, {"X-Event-Position": str(position)}
