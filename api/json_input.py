"""Strict JSON for untrusted input: bounded nesting, finite numbers only, and a clear error for everything else."""

from __future__ import annotations

import json
import math
import re
from typing import Any, ClassVar

import marshmallow as ma
from flask import Request
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.datastructures import CombinedMultiDict

from api.errors import ProblemError

MAX_DEPTH = 32
# Strings are skipped when measuring depth, so brackets inside them do not count.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
# A \udXXX escape without its pair decodes to a lone surrogate, which no store can encode as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class JSONInputError(ValueError):
    """The text is not strict JSON this service accepts."""


def _refuse_constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not a JSON number; send a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError(f"{text[:40]} is too large for a number")
    return value


def depth(data: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (measured without parsing it)."""
    deepest = level = 0
    for bracket in _BRACKET.findall(_STRING.sub(b'""', data)):
        level += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, level)
    return deepest


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON; refuses invalid UTF-8, nesting deeper than max_depth, NaN, Infinity and numbers that overflow."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if depth(raw) > max_depth:
        raise JSONInputError(f"JSON nested more than {max_depth} levels deep")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONInputError(f"the body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except JSONInputError:
        raise
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        raise JSONInputError(f"invalid JSON: {exc}") from None
    _refuse_lone_surrogates(value)
    return value


def _refuse_lone_surrogates(value: Any) -> None:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise JSONInputError("a string holds an unpaired UTF-16 surrogate escape")
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


class StrictFlaskParser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies with `loads`: a refused body is a 400 problem, never a 500.

    Query strings with control characters (a NUL, which PostgreSQL text cannot hold, among them) are refused 422.
    A schema given as a class is built once, not on every request: a marshmallow 4 schema keeps no state between
    loads, so one instance serves every thread.
    """

    __location_map__: ClassVar[dict[str, Any]] = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[type[ma.Schema], ma.Schema] = {}

    def _get_schema(self, argmap: Any, req: Request) -> ma.Schema:
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            schema = self._schemas.get(argmap)
            if schema is None:
                schema = self._schemas.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)

    def load_querystring(self, req: Request, schema: Any) -> Any:
        for name, value in req.args.items(multi=True):
            if _CONTROL.search(name) or _CONTROL.search(value):
                field = _CONTROL.sub("?", name)
                raise ProblemError(
                    422,
                    "The request has invalid fields.",
                    errors={field: ["must not contain control characters"]},
                )
        return super().load_querystring(req, schema)

    def load_multipart(self, req: Request, schema: Any) -> Any:
        """A multipart form's fields and files together (location "multipart"): one schema, one documented
        multipart/form-data body, where "form" and "files" would document two."""
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            if req.mimetype or req.content_length:
                raise ProblemError(
                    415,
                    f"The body must be JSON (Content-Type: application/json), not {req.mimetype or 'untyped data'}.",
                    headers={"Accept-Post": "application/json"},
                )
            return core.missing
        data = req.get_data(cache=True)
        if not data:
            return core.missing
        try:
            return loads(data)
        except JSONInputError as exc:
            raise ProblemError(400, f"The request body is not acceptable JSON: {exc}.") from None
