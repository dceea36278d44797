"""HTTP resources: thin views that build a command, call the application and shape the answer."""

from __future__ import annotations

import http
from collections.abc import Callable
from functools import wraps
from typing import Any, ClassVar, TypeVar

from flask import make_response, request
from flask_smorest import Blueprint

from api.errors import ProblemError
from api.http import wait_for_projections, with_projection_position
from api.json_input import StrictFlaskParser

F = TypeVar("F", bound=Callable[..., Any])

READ_ERRORS = (400, 401, 403, 422, 429, 503)
WRITE_ERRORS = (400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503)

MIN_POSITION = {
    "in": "header",
    "name": "X-Min-Position",
    "required": False,
    "description": "Answer only once the read model has processed this log position (waits up to 5 s, then 503).",
    "schema": {"type": "integer", "minimum": 0},
}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "description": "The ETag (aggregate version) the change is based on.",
    "schema": {"type": "string"},
}
POSITION_HEADER = {"description": "Log position the read model had processed.", "schema": {"type": "integer"}}
VERSION_HEADER = {
    "description": "The version read, quoted: send it as If-Match to change it.",
    "schema": {"type": "string"},
}
EVENT_POSITION_HEADER = {"description": "Log position of the write's last event.", "schema": {"type": "integer"}}
# The headers of a write's answer, and of a read from projections.
WRITE_HEADERS = {
    "ETag": {"description": "The new version, quoted.", "schema": {"type": "string"}},
    "X-Event-Position": EVENT_POSITION_HEADER,
}
# A write that made a resource: the write's headers and the new resource's address.
CREATED_HEADERS = {
    **WRITE_HEADERS,
    "Location": {"description": "The new resource's address.", "schema": {"type": "string"}},
}
PROJECTED = {"X-Projection-Position": POSITION_HEADER}


class ApiBlueprint(Blueprint):
    # Let each schema's Meta.unknown (RAISE for inputs) decide, in every location including the query string.
    # JSON bodies are read strictly: bounded nesting, finite numbers, valid UTF-8 (else a 400 problem).
    ARGUMENTS_PARSER = StrictFlaskParser(unknown=None)
    # A form's fields and files in one schema, documented as one multipart/form-data body (StrictFlaskParser).
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING: ClassVar[dict[str, str]] = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_extra_parameters_doc)

    def doc(self, **kwargs: Any) -> Callable[[F], F]:
        """As Blueprint.doc, except that `parameters` add to the documented @arguments instead of replacing them."""
        extra = kwargs.pop("parameters", [])
        document = super().doc(**kwargs)

        def decorator(func: F) -> F:
            # Blueprint.doc documents through a wrapper that costs a call on every request: the view keeps the
            # documentation and goes without the wrapper (as in errors()).
            documented: Any = document(func)
            documented._apidoc["extra_parameters"] = [*documented._apidoc.get("extra_parameters", []), *extra]
            func._apidoc = documented._apidoc  # type: ignore[attr-defined]
            return func

        return decorator

    @staticmethod
    def _prepare_extra_parameters_doc(doc: dict[str, Any], doc_info: dict[str, Any], **_: Any) -> dict[str, Any]:
        extra = doc_info.get("extra_parameters")
        if extra:
            doc["parameters"] = [*doc.get("parameters", []), *extra]
        return doc

    def csv_too(self, rows: str) -> Callable[[F], F]:
        """Document that a list also answers `Accept: text/csv` (wants_csv): every matching row, with a header line
        and not paged, as a second content of the same 200 answer."""
        csv = {
            "schema": {"type": "string", "description": f"Every matching {rows} as CSV, with a header line; not paged."}
        }
        return self.doc(responses={200: {"content": {"text/csv": csv}}})

    def errors(self, *codes: int) -> Callable[[F], F]:
        """Document the problem+json answers an operation can give."""

        def decorator(func: F) -> F:
            # alt_response documents through a wrapper per code, and each wrapper costs a call on every request: the
            # view keeps the documentation and goes without the wrappers.
            documented: Any = func
            for code in codes:
                documented = self.alt_response(code, response=http.HTTPStatus(code).name)(documented)
            func._apidoc = documented._apidoc  # type: ignore[attr-defined]
            return func

        return decorator


def projected(func: F) -> F:
    """Read from projections: honour X-Min-Position and report X-Projection-Position."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        position = wait_for_projections()
        response = make_response(func(*args, **kwargs))
        return with_projection_position(response, position)

    return wrapper  # type: ignore[return-value]


def no_query(func: F) -> F:
    """The operation takes no query parameters: any is refused 422, as the schemas refuse unknown fields."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.args:
            raise ProblemError(
                422, "The request has invalid fields.", errors={name: ["Unknown field."] for name in request.args}
            )
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def wants_csv() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
