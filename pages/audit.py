"""The analysts' audit pages: who did what and when, filtered by person, event type and date; and the audit chain:
its head to record elsewhere, and a check of the event log against a head recorded earlier."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from flask import Blueprint, render_template, request

from pages.session import Page, caught_up, role_required
from pages.vocabulary import CHAIN_REASONS, EVENT_NAMES
from projections import audit_chain
from projections.queries.audit import audit_trail
from projections.queries.innovations import titles
from tracker.actors import READ_ALL_ROLES
from web.services import services

blp = Blueprint("audit", __name__, template_folder="templates")

PAGE_SIZE = 50


def _day(name: str, *, end: bool = False) -> datetime | None:
    """A date from the query (`YYYY-MM-DD`) as the instant its day starts in UTC (for `end`, the next day's start)."""
    try:
        day = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    return datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=UTC)


def _people() -> list[Any]:
    found, _ = services().people.list(caught_up(), page_size=10_000)
    return found


@blp.get("/audit")
@role_required(*READ_ALL_ROLES)
def trail() -> Page:
    person = request.args.get("person") or None
    event_type = request.args.get("type") or None
    if event_type not in (None, *EVENT_NAMES):
        event_type = None
    try:
        after = int(request.args["after"]) if request.args.get("after") else None
    except ValueError:
        after = None
    since, until = _day("since"), _day("until", end=True)
    conn = caught_up()
    found = audit_trail(
        conn, actor=person, event_type=event_type, since=since, until=until, after=after, limit=PAGE_SIZE
    )
    # Each innovation's link names it: fifty links all reading "innovation" tell a screen-reader user nothing.
    innovation_ids = {UUID(str(i["aggregate_id"])) for i in found["items"] if i["aggregate_type"] == "Innovation"}
    people = _people()
    names = {str(p.id): p.display_name for p in people}
    return render_template(
        "audit/trail.html",
        found=found,
        people=people,
        names=names,
        event_names=EVENT_NAMES,
        titles={str(k): v for k, v in titles(conn, innovation_ids).items()},
        reversed_days=since is not None and until is not None and since >= until,
        filters={
            "person": person or "",
            "type": event_type or "",
            "since": request.args.get("since", "") if since else "",
            "until": request.args.get("until", "") if until else "",
        },
    )


@blp.get("/audit/chain")
@role_required(*READ_ALL_ROLES)
def chain() -> Page:
    """The chain's head; with `position` and `hash` in the query, the log checked against that earlier head."""
    svc = services()
    head = audit_chain.head(caught_up())
    result = None
    error = None
    raw_position, raw_hash = request.args.get("position", "").strip(), request.args.get("hash", "").strip().lower()
    if raw_position or raw_hash:
        if not raw_position.isdigit() or len(raw_hash) != 64 or any(c not in "0123456789abcdef" for c in raw_hash):
            error = True
        else:
            result = audit_chain.verify(
                svc.app.recorder, svc.read_model.reader, position=int(raw_position), expected_hash=raw_hash
            )
    return render_template(
        "audit/chain.html",
        head=head,
        result=result,
        error=error,
        reasons=CHAIN_REASONS,
        asked={"position": raw_position, "hash": raw_hash},
    ), (422 if error else 200)
