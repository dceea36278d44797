"""schemathesis over the served OpenAPI document, with a valid key, no key and an invalid key: no 500, and every
answer as documented (401 and 429 included)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import negated_parameters
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
)

from tests.api.conftest import make_env
from tests.api.test_hostile_imports import HOSTILE

# Examples generated per operation and per way of calling it; the run prints the number of cases actually tried.
EXAMPLES_PER_OPERATION = 60
# Without a valid key every answer is decided before the view runs, so fewer examples cover that path.
EXAMPLES_WITHOUT_ACCESS = 15
HYPOTHESIS = settings(
    max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
HYPOTHESIS_WITHOUT_ACCESS = settings(HYPOTHESIS, max_examples=EXAMPLES_WITHOUT_ACCESS)
# Well formed, but no such key: verified against the key table like any other token.
INVALID_KEY = "iet_0123456789abcdef_" + "x" * 43


def _without_coverage(loaded: BaseSchema) -> BaseSchema:
    """The schema without schemathesis's coverage phase, for the runs other than the administrator's.

    That phase sends every boundary and malformed value the document allows (most of a run's cases), and builds them
    when the tests are collected, in every test process. Without a valid key the answer is decided before any view
    reads the request (401 or 429, or 404 from the routing for a malformed id), which the examples and the fuzzing
    phase (valid and malformed values alike) show as well. A provider's or an evaluator's request is checked against
    the document as an administrator's is (the same schemas, before the policy): their run is about the policy's
    answers (403, 404), which need no boundary values. The run with the administrator's key keeps the phase, and
    covers the few operations that need no key."""
    loaded.config.phases.coverage.enabled = False
    return loaded


# The apps live for the whole module: schemathesis needs them when the tests are collected.
# With valid keys and without a key, the failed-authentication limit is off: every case reaches the key check, not
# the limit's 429.
_env = make_env(f"sqlite:///{tempfile.mkdtemp(prefix='tracker-schemathesis-')}/tracker.db", auth_failure_limit="")
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _env.app)
uncovered_schema = _without_coverage(schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _env.app))
# With an invalid key, the production default limit is on: the answers turn from 401 to 429, both documented.
_limited = make_env(f"sqlite:///{tempfile.mkdtemp(prefix='tracker-schemathesis-')}/tracker.db")
limited_schema = _without_coverage(schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _limited.app))
EVALUATOR_PATHS = ("/assessments", "/me/assignments")
# A documented 503 is not a failure (never_500 checks the real rule), and schema-valid input may still break a
# domain rule the schema cannot state (a date in the future, an end before a start): 422; or lack a key: 401.
EXCLUDED = [not_a_server_error, positive_data_acceptance]


def never_500(ctx: object, response: schemathesis.Response, case: schemathesis.Case) -> bool:
    """No input may produce a 500. (A documented 503, e.g. an unreachable X-Min-Position, is allowed.)"""
    if response.status_code == 500:
        raise AssertionError(f"500 from {case.method} {case.path}: {response.text[:500]}")
    return True


def _short_waits(case: schemathesis.Case) -> None:
    """An event feed read may hold an empty answer open for up to 30 s (`wait`): here a valid wait is cut to 50 ms,
    so the run does not sit out every generated wait (tests/api/test_event_feed.py covers waiting). Invalid values
    are sent as generated."""
    if case.path != "/api/v1/events" or not case.query or isinstance(case.query.get("wait"), bool):
        return
    try:
        wait = float(case.query.get("wait", 0))
    except (TypeError, ValueError):
        return
    if 0.05 < wait <= 30:
        case.query["wait"] = 0.05


def call(
    case: schemathesis.Case,
    headers: dict[str, str],
    tried: Callable[..., None],
    label: str,
    excluded: tuple[object, ...] = (),
) -> None:
    tried(label)
    _short_waits(case)
    case.call_and_validate(headers=headers, excluded_checks=[*EXCLUDED, *excluded], additional_checks=[never_500])


@schema.parametrize()
@HYPOTHESIS
def test_every_operation_conforms_to_the_document_when_called_with_a_valid_key(
    case: schemathesis.Case, tried: Callable[..., None]
) -> None:
    key = _env.keys.evaluator if case.path.endswith(EVALUATOR_PATHS) else _env.keys.admin
    # A case whose only fault is a malformed Authorization header is sent with the valid key instead, so its
    # acceptance proves nothing (the malformed header is tried by the tests without a key and with an invalid one).
    replaced = any(name.lower() == "authorization" for name, _ in negated_parameters(case.meta))
    excluded = (negative_data_rejection,) if replaced else ()
    call(case, {"Authorization": f"Bearer {key}"}, tried, "schemathesis, valid key", excluded)


@uncovered_schema.parametrize()
@HYPOTHESIS_WITHOUT_ACCESS
def test_every_operation_conforms_to_the_document_when_called_by_a_provider_or_an_evaluator(
    case: schemathesis.Case, tried: Callable[..., None]
) -> None:
    """The confidentiality policy's paths (404 for what is hidden, 403 for what the role may not do) conform too.
    A role that may not call an operation gets 403 before its headers are checked, so a missing If-Match is not
    looked for."""
    key = _env.keys.evaluator if case.path.endswith(EVALUATOR_PATHS) else _env.keys.provider
    call(
        case,
        {"Authorization": f"Bearer {key}"},
        tried,
        "schemathesis, provider or evaluator key",
        excluded=(missing_required_header,),
    )


@uncovered_schema.parametrize()
@HYPOTHESIS_WITHOUT_ACCESS
def test_every_operation_conforms_to_the_document_when_called_without_a_key(
    case: schemathesis.Case, tried: Callable[..., None]
) -> None:
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    call(case, {}, tried, "schemathesis, no key")


@limited_schema.parametrize()
@HYPOTHESIS_WITHOUT_ACCESS
def test_every_operation_conforms_to_the_document_when_called_with_an_invalid_key(
    case: schemathesis.Case, tried: Callable[..., None]
) -> None:
    # missing_required_header demands 401 for a request without Authorization; a client over the limit gets 429 first.
    call(
        case,
        {"Authorization": f"Bearer {INVALID_KEY}"},
        tried,
        "schemathesis, invalid key (failed-auth limit on)",
        excluded=(missing_required_header,),
    )


IMPORTS = schema["/api/v1/imports"]["POST"]


@pytest.mark.parametrize("case_name", sorted(HOSTILE))
def test_the_imports_operation_conforms_to_the_document_with_hostile_files(
    case_name: str, tried: Callable[..., None]
) -> None:
    source, _, content, _ = HOSTILE[case_name]
    case = IMPORTS.Case(body={"source": source, "file": content}, media_type="multipart/form-data")
    call(case, {"Authorization": f"Bearer {_env.keys.admin}"}, tried, "schemathesis, hostile import files")
