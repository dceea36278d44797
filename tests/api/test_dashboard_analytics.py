"""The dashboard's analytics over HTTP: the filters' choices with counts (facets), and the funnel over time in one
read (funnel-series), checked against the list and the as-of funnel they stand for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from tests.api.conftest import SCORES, Env, submit
from tracker.actors import Actor


def portfolio(env: Env) -> dict[str, Any]:
    """Innovations of two organisations (two countries), two ecosystems, several themes, some past identification."""
    world, app = env.world, env.world.app
    ids = [submit(env, title=f"Idea {n}", themes=["badges", f"theme {n % 3}"])["id"] for n in range(6)]
    for iid in ids[:3]:
        world.to_stage(UUID(iid), "testing")
    stranger = Actor("stranger", "provider", world.eval_org_c)
    foreign = app.submit_innovation(
        actor=stranger, title="Foreign idea", summary="s", themes=["mobility"], organisation_id=world.eval_org_c
    ).aggregate_id
    world.to_stage(foreign, "testing")
    env.assess(ids[0], env.keys.evaluator_b, scores=SCORES, rationale="good")
    env.app.extensions["tracker"].read_model.catch_up()
    return {"ids": ids, "foreign": str(foreign)}


def listed_total(env: Env, key: str, **filters: str) -> int:
    answer = env.get("/api/v1/innovations", key, query_string={"page_size": 1, **filters})
    assert answer.status_code == 200
    return int(answer.json["total"])


def test_each_facet_value_counts_what_its_filter_would_list(env: Env) -> None:
    portfolio(env)
    key = env.keys.analyst
    facets = env.get("/api/v1/analytics/facets", key).json["facets"]
    assert set(facets) == {"country", "theme", "ecosystem", "organisation"}
    everything = listed_total(env, key)
    for facet, parameter in (
        ("country", "country"),
        ("theme", "theme"),
        ("ecosystem", "ecosystem_id"),
        ("organisation", "organisation_id"),
    ):
        items = facets[facet]["items"]
        assert items, facet
        assert facets[facet]["total"] == len(items), facet
        counts = [v["innovations"] for v in items]
        assert counts == sorted(counts, reverse=True), f"{facet}: most innovations first"
        for value in items:
            assert value["innovations"] == listed_total(env, key, **{parameter: value["key"]}), (facet, value)
    assert sum(v["innovations"] for v in facets["country"]["items"]) == everything
    labels = {v["label"] for v in facets["organisation"]["items"]}
    assert all(label.count("-") != 4 for label in labels), "organisations are named, not shown by id"


def test_a_facet_leaves_out_its_own_filter_and_keeps_the_others(env: Env) -> None:
    portfolio(env)
    key = env.keys.analyst
    everything = env.get("/api/v1/analytics/facets", key).json["facets"]
    country = everything["country"]["items"][0]["key"]
    chosen = env.get("/api/v1/analytics/facets", key, query_string={"country": country}).json["facets"]
    # The other countries stay on offer, with their own counts.
    assert chosen["country"] == everything["country"]
    # The other facets count only that country's innovations.
    assert sum(v["innovations"] for v in chosen["organisation"]["items"]) == listed_total(env, key, country=country)
    theme = env.get("/api/v1/analytics/facets", key, query_string={"country": country, "theme": "badges"}).json
    assert sum(v["innovations"] for v in theme["facets"]["organisation"]["items"]) == listed_total(
        env, key, country=country, theme="badges"
    )


def test_one_facet_with_q_and_limit_serves_a_type_ahead(env: Env) -> None:
    portfolio(env)
    key = env.keys.analyst
    themes = env.get("/api/v1/analytics/facets", key, query_string={"facet": "theme"}).json["facets"]
    assert set(themes) == {"theme"}
    assert {v["key"] for v in themes["theme"]["items"]} >= {"badges", "theme 0", "theme 1", "theme 2", "mobility"}
    found = env.get("/api/v1/analytics/facets", key, query_string={"facet": "theme", "q": "THEME "}).json
    assert {v["key"] for v in found["facets"]["theme"]["items"]} == {"theme 0", "theme 1", "theme 2"}
    one = env.get("/api/v1/analytics/facets", key, query_string={"facet": "theme", "limit": 1}).json
    assert [v["key"] for v in one["facets"]["theme"]["items"]] == ["badges"]
    assert one["facets"]["theme"]["total"] == themes["theme"]["total"]
    ecosystems = env.get("/api/v1/analytics/facets", key, query_string={"facet": "ecosystem"}).json
    acronym = ecosystems["facets"]["ecosystem"]["items"][0]["label"]
    typed = env.get("/api/v1/analytics/facets", key, query_string={"facet": "ecosystem", "q": acronym[1:].lower()})
    assert acronym in {v["label"] for v in typed.json["facets"]["ecosystem"]["items"]}
    nothing = env.get("/api/v1/analytics/facets", key, query_string={"facet": "organisation", "q": "no such name"})
    assert nothing.json["facets"]["organisation"] == {"items": [], "total": 0}
    refused = env.get("/api/v1/analytics/facets", key, query_string={"facet": "colour"})
    assert refused.status_code == 422


def test_facets_as_of_count_only_what_was_submitted_by_then(env: Env) -> None:
    portfolio(env)
    key = env.keys.analyst
    before = env.get("/api/v1/analytics/facets", key, query_string={"as_of": "2000-01-01T00:00:00Z"}).json
    assert all(before["facets"][f] == {"items": [], "total": 0} for f in before["facets"])
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (
        env.get("/api/v1/analytics/facets", key, query_string={"as_of": later}).json["facets"]
        == env.get("/api/v1/analytics/facets", key).json["facets"]
    )


def history_over_months(env: Env) -> None:
    """Innovations submitted and advanced over the second half of 2025, some at a month's very first instant."""
    world, app = env.world, env.world.app
    clock = [datetime(2025, 7, 1, tzinfo=UTC)]
    original = app.clock
    app.clock = lambda: clock[0]
    try:
        for n in range(4):
            clock[0] = datetime(2025, 7 + n, 1, tzinfo=UTC)  # exactly a boundary
            iid = UUID(submit(env, title=f"Idea of month {n + 1}", themes=["badges"] if n % 2 else ["mobility"])["id"])
            clock[0] = datetime(2025, 8 + n, 1, tzinfo=UTC) if n < 2 else datetime(2025, 8 + n, 14, 9, tzinfo=UTC)
            world.to_stage(iid, "testing" if n % 3 else "development")
        # One of another country (Germany), so that a country filter keeps only part of the portfolio.
        clock[0] = datetime(2025, 9, 20, tzinfo=UTC)
        stranger = Actor("stranger", "provider", world.eval_org_c)
        app.submit_innovation(
            actor=stranger, title="German idea", summary="s", themes=["mobility"], organisation_id=world.eval_org_c
        )
    finally:
        app.clock = original
    env.app.extensions["tracker"].read_model.catch_up()


def test_each_point_of_the_series_is_the_funnel_as_of_it(env: Env) -> None:
    history_over_months(env)
    key = env.keys.analyst
    for query in ({}, {"theme": "badges"}, {"country": "LT"}):
        answer = env.get(
            "/api/v1/analytics/funnel-series", key, query_string={"from": "2025-06-01", "to": "2026-01-31", **query}
        )
        assert answer.status_code == 200, answer.json
        points = answer.json["points"]
        assert [datetime.fromisoformat(p["at"]) for p in points] == [
            datetime(2025 + (m > 12), (m - 1) % 12 + 1, 1, tzinfo=UTC) for m in range(6, 14)
        ]
        for point in points:
            as_of = env.get("/api/v1/analytics/funnel", key, query_string={"as_of": point["at"], **query}).json
            assert point["stages"] == as_of["stages"], (query, point["at"])
            assert point["statuses"] == as_of["statuses"], (query, point["at"])
        if not query:
            assert [sum(p["stages"].values()) for p in points] == [0, 1, 2, 3, 5, 5, 5, 5]
            assert points[-1]["stages"]["development"] == 2
        if query == {"country": "LT"}:
            assert [sum(p["stages"].values()) for p in points] == [0, 1, 2, 3, 4, 4, 4, 4]
    yearly = env.get("/api/v1/analytics/funnel-series", key, query_string={"from": "2020-01-01", "step": "year"})
    assert [p["at"][:10] for p in yearly.json["points"]][:2] == ["2020-01-01", "2021-01-01"]
    default = env.get("/api/v1/analytics/funnel-series", key).json["points"]
    assert default[0]["at"][:10] == "2025-07-01", "by default the series starts at the first submission's month"


def test_each_point_of_the_score_series_is_the_score_groups_as_of_it(env: Env) -> None:
    history_over_months(env)
    key = env.keys.analyst
    for group_by in ("theme", "country", "organisation"):
        query = {"group_by": group_by, "from": "2025-06-01", "to": "2026-01-31", "top": 1}
        answer = env.get("/api/v1/analytics/score-series", key, query_string=query)
        assert answer.status_code == 200, answer.json
        points = answer.json["points"]
        assert len(points) == 8
        assert any(point["groups"] for point in points), "nothing was scored"
        for point in points:
            then = env.get(
                "/api/v1/analytics/scores", key, query_string={"group_by": group_by, "as_of": point["at"], "top": 1}
            ).json
            items = {item["key"]: item for item in then["items"]}
            assert [g["key"] for g in point["groups"]] == then["largest"], (group_by, point["at"])
            for group in point["groups"]:
                assert group["innovations"] == items[group["key"]]["innovations"]
                assert group["mean_mpi"] == items[group["key"]]["mean_mpi"]
            assert point["others"] == then["others"], (group_by, point["at"])
    organisations = env.get("/api/v1/analytics/score-series", key, query_string={"group_by": "organisation"}).json
    named = [g["label"] for point in organisations["points"] for g in point["groups"]]
    assert "Kauno technologijos mokymo centras" in named


def test_the_score_series_refuses_what_it_cannot_answer(env: Env) -> None:
    key = env.keys.analyst
    path = "/api/v1/analytics/score-series"
    assert env.get(path, key).status_code == 422, "group_by is required"
    assert env.get(path, key, query_string={"group_by": "stage"}).status_code == 422
    assert env.get(path, key, query_string={"group_by": "theme", "top": 0}).status_code == 422
    backwards = env.get(path, key, query_string={"group_by": "theme", "from": "2024-02-01", "to": "2024-01-01"})
    assert backwards.status_code == 422
    assert env.get(path, key, query_string={"group_by": "theme", "from": "1900-01-01"}).status_code == 422
    assert env.get(path, env.keys.provider, query_string={"group_by": "theme"}).status_code == 403
    assert env.get(path, env.keys.evaluator, query_string={"group_by": "theme"}).status_code == 403


def test_the_series_refuses_what_it_cannot_answer(env: Env) -> None:
    key = env.keys.analyst
    backwards = env.get("/api/v1/analytics/funnel-series", key, query_string={"from": "2024-02-01", "to": "2024-01-01"})
    assert backwards.status_code == 422
    too_long = env.get("/api/v1/analytics/funnel-series", key, query_string={"from": "1900-01-01"})
    assert too_long.status_code == 422
    assert "at most 1200 points" in too_long.json["detail"]
    assert env.get("/api/v1/analytics/funnel-series", env.keys.provider).status_code == 403
    empty = env.get("/api/v1/analytics/funnel-series", key)
    assert empty.status_code == 200
    assert empty.json["step"] == "month"
