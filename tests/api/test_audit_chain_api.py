"""The audit chain over HTTP and on the command line: head, verify, and tampering named by its first bad position."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete

from cli.main import main
from projections import tables
from tests.api.conftest import Env, make_env, submit
from tests.tamper import TAMPERINGS, Tamper


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_env(request: pytest.FixtureRequest) -> Iterator[Env]:
    environment = make_env(request.getfixturevalue(f"{request.param}_url"))
    yield environment
    environment.app.extensions["tracker"].close()


def url_of(env: Env) -> str:
    return env.app.extensions["tracker"].settings.database_url  # type: ignore[no-any-return]


def head(env: Env) -> dict[str, Any]:
    response = env.get("/api/v1/audit/head", env.keys.analyst)
    assert response.status_code == 200, response.json
    return response.json  # type: ignore[no-any-return]


def verify(env: Env, **query: Any) -> dict[str, Any]:
    response = env.get("/api/v1/audit/verify", env.keys.analyst, query_string=query)
    assert response.status_code == 200, response.json
    return response.json  # type: ignore[no-any-return]


def cli(env: Env, *args: str) -> Result:
    return CliRunner().invoke(main, ["audit", *args], env={"TRACKER_DATABASE_URL": url_of(env)})


def test_clean_log_verifies_over_http_and_on_the_command_line(store_env: Env) -> None:
    submit(store_env)
    recorded = head(store_env)
    position = store_env.app.extensions["tracker"].app.current_position()
    assert recorded["position"] == position
    assert len(recorded["hash"]) == 64
    answer = verify(store_env)
    assert answer == {
        "ok": True,
        "position": position,
        "hash": recorded["hash"],
        "expected_hash": recorded["hash"],
        "first_bad_position": None,
        "reason": None,
        "detail": f"the log matches its audit chain up to position {position} ({position} events checked)",
        "checked": position,
    }
    done = cli(store_env, "verify")
    assert done.exit_code == 0, done.output
    assert recorded["hash"] in done.output
    assert done.output.strip().splitlines()[-1].startswith("ok:")
    printed = cli(store_env, "head")
    assert printed.output.split() == [str(position), recorded["hash"]]


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_tampering_is_named_by_its_first_bad_position_over_http_and_on_the_command_line(
    store_env: Env, tampering: str
) -> None:
    submit(store_env)
    recorded = head(store_env)
    bad = Tamper(url_of(store_env)).apply(tampering, 6, 9)

    answer = verify(store_env)
    assert answer["ok"] is False
    assert answer["first_bad_position"] == bad
    assert answer["reason"] == ("missing" if tampering == "deleted" else "altered")
    assert f"at position {bad}" in answer["detail"]
    anchored = verify(store_env, position=recorded["position"], hash=recorded["hash"])
    assert (anchored["ok"], anchored["first_bad_position"], anchored["expected_hash"]) == (False, bad, recorded["hash"])

    done = cli(store_env, "verify")
    assert done.exit_code == 1
    assert f"first bad position: {bad}" in done.output
    anchored_cli = cli(store_env, "verify", "--position", str(recorded["position"]), "--hash", recorded["hash"])
    assert anchored_cli.exit_code == 1
    assert f"first bad position: {bad}" in anchored_cli.output
    assert cli(store_env, "verify", "--position", str(bad - 1)).exit_code == 0


def test_a_rebuild_refuses_to_make_the_chain_anew_over_altered_events_unless_forced(store_env: Env) -> None:
    """The chain is part of the read model, and a rebuild makes it from the stored events: over an altered event it
    would make a chain that verifies again, and the evidence would be gone."""
    submit(store_env, title="Open badges")
    bad = store_env.app.extensions["tracker"].app.current_position()
    env = {"TRACKER_DATABASE_URL": url_of(store_env)}
    clean = CliRunner().invoke(main, ["projections", "rebuild"], env=env)
    assert clean.exit_code == 0, clean.output
    Tamper(url_of(store_env)).forge(bad, b"Open badges", b"Open bodges")  # still decodes: a rebuild would take it
    refused = CliRunner().invoke(main, ["projections", "rebuild"], env=env)
    assert refused.exit_code == 1
    assert f"at position {bad}" in refused.output
    assert "--force" in refused.output
    still = cli(store_env, "verify")
    assert (still.exit_code, f"first bad position: {bad}" in still.output) == (1, True)
    forced = CliRunner().invoke(main, ["projections", "rebuild", "--force"], env=env)
    assert forced.exit_code == 0, forced.output
    assert "rebuilding anyway" in forced.output
    assert cli(store_env, "verify").exit_code == 0  # what --force warns of: only a published head shows it now


def test_a_rebuild_over_a_log_shorter_than_its_chain_says_so(store_env: Env) -> None:
    """The events restored from an older backup than the read model: the chain reaches beyond the log's end."""
    submit(store_env)
    services = store_env.app.extensions["tracker"]
    services.read_model.catch_up()  # the chain reaches the log's end
    env = {"TRACKER_DATABASE_URL": url_of(store_env)}
    last = services.app.current_position()
    Tamper(url_of(store_env)).delete(last)
    refused = CliRunner().invoke(main, ["projections", "rebuild"], env=env)
    assert refused.exit_code == 1
    assert f"the chain reaches position {last} and the log ends at {last - 1}" in refused.output


def test_verify_says_what_the_chain_does_not_cover_yet(store_env: Env) -> None:
    submit(store_env)
    services = store_env.app.extensions["tracker"]
    services.read_model.catch_up()
    logged = services.app.current_position()
    chained = logged - 2
    # As a rebuild cut short leaves it: the chain stops before the log's end.
    with services.read_model.writer.begin() as tx:
        tx.execute(delete(tables.audit_chain).where(tables.audit_chain.c.position > chained))
    done = cli(store_env, "verify")
    assert done.exit_code == 0, done.output
    assert f"does not cover positions {chained + 1} to {logged}" in done.output


def test_head_recorded_before_more_writes_still_verifies_later(store_env: Env) -> None:
    recorded = head(store_env)
    for _ in range(3):
        submit(store_env)
    assert head(store_env)["position"] > recorded["position"]
    later = verify(store_env, position=recorded["position"], hash=recorded["hash"])
    assert (later["ok"], later["hash"], later["checked"]) == (True, recorded["hash"], recorded["position"])
    done = cli(store_env, "verify", "--position", str(recorded["position"]), "--hash", recorded["hash"].upper())
    assert done.exit_code == 0, done.output


def test_wrong_hash_is_reported_when_it_does_not_match_the_log(store_env: Env) -> None:
    recorded = head(store_env)
    wrong = "f" * 64
    answer = verify(store_env, position=recorded["position"], hash=wrong)
    assert (answer["ok"], answer["reason"], answer["hash"], answer["expected_hash"]) == (
        False,
        "hash_mismatch",
        recorded["hash"],
        wrong,
    )
    assert answer["first_bad_position"] is None
    done = cli(store_env, "verify", "--position", str(recorded["position"]), "--hash", wrong)
    assert done.exit_code == 1
    assert "hash_mismatch" in done.output


@pytest.mark.parametrize(
    "query",
    [
        "position=abc",
        "position=-1",
        "position=1.5",
        "position=99999999999999999999999",
        "position=3&hash=xyz",
        f"position=3&hash={'a' * 63}",
        f"hash={'a' * 64}",
        "colour=blue",
    ],
)
def test_bad_query_is_a_422_problem_when_verifying(env: Env, query: str) -> None:
    response = env.get(f"/api/v1/audit/verify?{query}", env.keys.analyst)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert response.json["errors"]


def test_position_beyond_the_log_is_not_ok(env: Env) -> None:
    answer = verify(env, position=10_000)
    assert (answer["ok"], answer["reason"], answer["hash"]) == (False, "position_not_in_log", None)


def test_command_line_refuses_a_malformed_hash_or_a_hash_without_position(env: Env) -> None:
    assert cli(env, "verify", "--position", "3", "--hash", "xyz").exit_code == 2
    assert cli(env, "verify", "--hash", "a" * 64).exit_code == 2


def test_audit_chain_endpoints_are_documented_with_their_errors(env: Env) -> None:
    spec = env.get("/api/v1/openapi.json").json
    for path in ("/api/v1/audit/head", "/api/v1/audit/verify"):
        responses = spec["paths"][path]["get"]["responses"]
        assert {"200", "401", "403"} <= set(responses)
        forbidden = spec["components"]["responses"][responses["403"]["$ref"].rsplit("/", 1)[-1]]
        assert "application/problem+json" in forbidden["content"]
    assert "422" in spec["paths"]["/api/v1/audit/verify"]["get"]["responses"]
    parameters = {p["name"] for p in spec["paths"]["/api/v1/audit/verify"]["get"]["parameters"]}
    assert {"position", "hash"} <= parameters


def test_command_line_names_a_tampered_newest_event_that_no_longer_decodes(store_env: Env) -> None:
    submit(store_env)
    services = store_env.app.extensions["tracker"]
    services.read_your_writes()  # the chain links the event before it is altered
    newest = services.app.current_position()
    Tamper(url_of(store_env)).alter(newest)
    done = cli(store_env, "verify")
    assert done.exit_code == 1, done.output
    assert f"first bad position: {newest}" in done.output
    assert "FAILED (altered)" in done.output
