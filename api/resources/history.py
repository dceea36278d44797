"""History and analytics: per-innovation history, scores and stages; funnel, durations, score groups; audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from flask.views import MethodView

from access import policy
from api.auth import READERS, require, seen, viewer
from api.errors import ProblemError
from api.resources import (
    MIN_POSITION,
    PROJECTED,
    READ_ERRORS,
    ApiBlueprint,
    no_query,
    projected,
)
from api.schemas.history import (
    AuditHeadSchema,
    AuditPageSchema,
    AuditQuery,
    AuditVerificationSchema,
    AuditVerifyQuery,
    DistributionSchema,
    FacetsQuery,
    FacetsSchema,
    FunnelQuery,
    FunnelSchema,
    FunnelSeriesSchema,
    HistoryEventSchema,
    ScopeQuery,
    ScoreGroupsQuery,
    ScoreGroupsSchema,
    ScorePointSchema,
    ScoreSeriesQuery,
    ScoreSeriesSchema,
    SeriesQuery,
    StageDurationsSchema,
    StageIntervalSchema,
)
from projections import audit_chain
from projections.queries import analytics, audit, facets, innovations, series, timeline
from tracker.actors import READ_ALL_ROLES
from tracker.event_types import json_safe
from web.read_connection import read_connection
from web.services import services

blp = ApiBlueprint("history", __name__, url_prefix="/api/v1", description="History, analytics and audit")


@blp.route("/innovations/<uuid:innovation_id>/history")
class History(MethodView):
    @require(*READERS)
    @no_query
    @blp.response(200, HistoryEventSchema(many=True))
    @blp.errors(404, 401, 403, 422, 429, 503)
    def get(self, innovation_id: UUID) -> Any:
        """Every event of the innovation in order: position, version, type, time, actor and data.

        Providers and evaluators see what "Who sees what" lets them: assessments, assignments and notes may be left
        out, and the owner sees a closed stage's assessments with evaluators named "evaluator 1", "evaluator 2"."""
        inn = seen(innovation_id)  # 404 for unknown ids, ids of other aggregate types, and what the caller may not see
        who = viewer()
        return [
            {
                "position": r.position,
                "version": r.version,
                "type": r.type,
                "at": r.at,
                "actor": {"id": r.actor_id, "role": r.actor_role, "key": r.actor_key},
                "correlation_id": r.correlation_id,
                "data": json_safe(r.data),
            }
            for r in policy.visible_history(who, inn, services().app.history(innovation_id))
        ]


def _known(conn: Any, innovation_id: UUID) -> bool:
    """404 unless the innovation is projected and the caller may see it; returns whether its MPI is hidden."""
    found, mpi_hidden = innovations.visible(conn, innovation_id, policy.scope(viewer()))
    if not found:
        raise ProblemError(404, f"innovation {innovation_id} not found", rule="not_found.innovation")
    return mpi_hidden


@blp.route("/innovations/<uuid:innovation_id>/scores")
class Scores(MethodView):
    @require(*READERS)
    @no_query
    @projected
    @blp.response(200, ScorePointSchema(many=True), headers=PROJECTED)
    @blp.errors(404, *READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, innovation_id: UUID) -> Any:
        """The consolidated MPI after each change, oldest first (empty for an evaluator who has yet to assess at the
        current stage)."""
        conn = read_connection()
        if _known(conn, innovation_id):
            return []
        return timeline.score_history(conn, innovation_id)


@blp.route("/innovations/<uuid:innovation_id>/stages")
class Stages(MethodView):
    @require(*READERS)
    @no_query
    @projected
    @blp.response(200, StageIntervalSchema(many=True), headers=PROJECTED)
    @blp.errors(404, *READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, innovation_id: UUID) -> Any:
        """Stage intervals, oldest first; the current stage has no exited_at."""
        conn = read_connection()
        _known(conn, innovation_id)
        return timeline.stage_intervals(conn, innovation_id)


def _scope(query: dict[str, Any]) -> dict[str, Any]:
    """The analytics filters, and what the caller may see: no count includes an innovation hidden from them."""
    return {
        "ecosystem_id": query.get("ecosystem_id"),
        "country": query.get("country"),
        "theme": query.get("theme"),
        "organisation_id": query.get("organisation_id"),
        "visible": policy.scope(viewer()),
    }


@blp.route("/analytics/funnel")
class Funnel(MethodView):
    @require(*READERS)
    @projected
    @blp.arguments(FunnelQuery, location="query")
    @blp.response(200, FunnelSchema, headers=PROJECTED)
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """Innovations per stage and status, now or `as_of` an instant."""
        return analytics.funnel(read_connection(), as_of=query.get("as_of"), **_scope(query))


@blp.route("/analytics/facets")
class Facets(MethodView):
    @require(*READERS)
    @projected
    @blp.arguments(FacetsQuery, location="query")
    @blp.response(200, FacetsSchema, headers=PROJECTED)
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """The filters' choices with their counts: countries, themes, ecosystems and organisations, now or `as_of`.

        Counted over the innovations the caller may see. Each facet counts what the other filters keep; `facet`
        and `q` serve a type-ahead over one long list."""
        scope = _scope(query)
        return facets.facets(
            read_connection(),
            as_of=query.get("as_of"),
            q=query.get("q"),
            only=query.get("facet"),
            limit=query["limit"],
            **scope,
        )


@blp.route("/analytics/funnel-series")
class FunnelSeries(MethodView):
    @require(*READ_ALL_ROLES)
    @projected
    @blp.arguments(SeriesQuery, location="query")
    @blp.response(200, FunnelSeriesSchema, headers=PROJECTED)
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """The funnel at the start of each month (quarter, year) from `from` to `to`, in one read.

        For those who read the whole portfolio (admins, managers, analysts); others ask /analytics/funnel as of
        each instant, which applies what they may see then. At most 1,200 points."""
        scope = _scope(query)
        scope.pop("visible")
        return _series(query, lambda conn, **span: series.funnel_series(conn, **span, **scope))


def _series(query: dict[str, Any], compute: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A series over the query's span: from the first submission's day and until today unless given; a span of
    too many points is refused; each point's instant in UTC."""
    conn = read_connection()
    today = datetime.now(UTC).date()
    start = query.get("start") or series.first_day(conn) or today
    end = query.get("end") or today
    try:
        found = compute(conn, start=start, end=end, step=query["step"])
    except ValueError as error:
        raise ProblemError(422, str(error), errors={"from": [str(error)]}) from None
    for point in found["points"]:
        point["at"] = point["at"].replace(tzinfo=UTC)
    return found


@blp.route("/analytics/score-series")
class ScoreSeries(MethodView):
    @require(*READ_ALL_ROLES)
    @projected
    @blp.arguments(ScoreSeriesQuery, location="query")
    @blp.response(200, ScoreSeriesSchema, headers=PROJECTED)
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """The mean MPI of the largest groups by theme, country, ecosystem or organisation at the start of each
        month (quarter, year) from `from` to `to`, and of the rest together, in one read.

        For those who read the whole portfolio (admins, managers, analysts); the medians, and what others may see,
        come from /analytics/scores as of each instant. At most 1,200 points."""
        group_by, top = query["group_by"], query["top"]
        return _series(query, lambda conn, **span: series.score_series(conn, group_by=group_by, top=top, **span))


@blp.route("/analytics/mpi-distribution")
class MpiDistribution(MethodView):
    @require(*READERS)
    @projected
    @blp.arguments(FunnelQuery, location="query")
    @blp.response(200, DistributionSchema, headers=PROJECTED)
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """How the consolidated MPIs spread: scored innovations per band of ten points, now or `as_of`."""
        return analytics.mpi_distribution(read_connection(), as_of=query.get("as_of"), **_scope(query))


@blp.route("/analytics/stage-durations")
class StageDurations(MethodView):
    @require(*READERS)
    @projected
    @blp.arguments(ScopeQuery, location="query")
    @blp.response(200, StageDurationsSchema, headers=PROJECTED)
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """Median and 90th percentile days per stage, over completed stays."""
        return analytics.stage_durations(read_connection(), **_scope(query))


@blp.route("/analytics/scores")
class ScoreGroups(MethodView):
    @require(*READERS)
    @projected
    @blp.arguments(ScoreGroupsQuery, location="query")
    @blp.response(200, ScoreGroupsSchema, headers=PROJECTED)
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """Mean and median consolidated MPI by theme, country, ecosystem or organisation, now or `as_of`."""
        return analytics.score_groups(
            read_connection(),
            group_by=query["group_by"],
            as_of=query.get("as_of"),
            visible=policy.scope(viewer()),
            top=query.get("top"),
        )


@blp.route("/audit")
class Audit(MethodView):
    @require(*READ_ALL_ROLES)
    @projected
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, AuditPageSchema, headers=PROJECTED)
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """Who did what, when: events filtered by actor, aggregate, type and time, paged by log position."""
        return audit.audit_trail(read_connection(), **query)


@blp.route("/audit/head")
class AuditHead(MethodView):
    @require(*READ_ALL_ROLES)
    @no_query
    @projected
    @blp.response(200, AuditHeadSchema, headers=PROJECTED)
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self) -> Any:
        """The audit chain's head: record it outside the system, and verify the log against it later."""
        head = audit_chain.head(read_connection())
        return {"position": head.position, "hash": head.hash}


@blp.route("/audit/verify")
class AuditVerify(MethodView):
    @require(*READ_ALL_ROLES)
    @projected
    @blp.arguments(AuditVerifyQuery, location="query")
    @blp.response(200, AuditVerificationSchema, headers=PROJECTED)
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """Recompute the audit chain from the stored events up to a position and say whether the log still matches."""
        s = services()
        result = audit_chain.verify(
            s.app.recorder, s.read_model.reader, position=query.get("position"), expected_hash=query.get("hash")
        )
        return {
            "ok": result.ok,
            "position": result.position,
            "hash": result.hash,
            "expected_hash": result.expected_hash,
            "first_bad_position": result.first_bad_position,
            "reason": result.reason,
            "detail": result.detail,
            "checked": result.checked,
        }
