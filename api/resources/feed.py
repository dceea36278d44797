"""The event feed: the log in order with each event's payload, for systems that follow the tracker."""

from __future__ import annotations

import time
from typing import Any

from flask import Response, jsonify, make_response, request
from flask.views import MethodView

from api.auth import require
from api.errors import ProblemError
from api.resources import READ_ERRORS, ApiBlueprint
from api.schemas.feed import FeedPageSchema, FeedQuery, data_schemas
from tracker import event_types
from tracker.actors import READ_ALL_ROLES
from web.services import services

blp = ApiBlueprint("feed", __name__, url_prefix="/api/v1", description="The event feed")

IMMUTABLE = "public, max-age=31536000, immutable"
PAGE_HEADERS = {
    "Cache-Control": {
        "description": f"`{IMMUTABLE}` on a full page (it never changes); `no-cache` on the last page.",
        "schema": {"type": "string"},
    },
    "ETag": {
        "description": "On the last page: answer If-None-Match with 304 while it is unchanged.",
        "schema": {"type": "string"},
    },
}


def document(spec: Any) -> None:
    """Add each event type's payload to the OpenAPI document."""
    for name, schema in data_schemas().items():
        spec.components.schema(name, schema)


@blp.route("/events")
class Events(MethodView):
    @require(*READ_ALL_ROLES)
    @blp.arguments(FeedQuery, location="query")
    @blp.response(200, FeedPageSchema, headers=PAGE_HEADERS)
    @blp.alt_response(304, description="The last page has not changed since the ETag given in If-None-Match.")
    @blp.errors(*READ_ERRORS)
    def get(self, query: dict[str, Any]) -> Any:
        """The event log in order after a position: each event's type, actor (ids only) and payload.

        A full page never changes and may be cached for good. The last page carries an ETag; with `wait`, an empty
        answer is held open until an event arrives (no database connection is held while waiting)."""
        after, limit, names, wait = query["after"], query["limit"], query.get("types", ()), query["wait"]
        head, records = _read(after, limit, names, wait)
        items = [event_types.feed_item(r) for r in records]
        if len(items) == limit:
            # Cached apart for each key: the feed is not for every caller.
            return _page(items, items[-1]["position"], {"Cache-Control": IMMUTABLE, "Vary": "Authorization"})
        # Every event up to the head read before the page was looked at: with `types`, the next read starts past the
        # events that did not match, instead of looking at them again.
        next_after = max([after, head, *(i["position"] for i in items[-1:])])
        etag = f'"{next_after}.{len(items)}"'
        headers = {"Cache-Control": "no-cache", "ETag": etag, "Vary": "Authorization"}
        if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            answer = make_response("", 304)
            answer.headers.update(headers)
            return answer
        return _page(items, next_after, headers)


def _page(items: list[dict[str, Any]], next_after: int, headers: dict[str, str]) -> Response:
    # The items are already JSON (event_types.feed_item); dumping them through the schema again would only cost time.
    answer = jsonify(items=items, next_after=next_after)
    answer.headers.update(headers)
    return answer


def _read(after: int, limit: int, names: Any, wait: float) -> tuple[int, list[Any]]:
    """The log's head, read first, and the page after `after`; when the page is empty and `wait` is given, both are
    read again as the log grows, until `wait` ends.

    While it waits the request holds no connection (see runtime.log_watch); at most TRACKER_READ_WAITERS requests
    of a process wait at once, and one more is answered at once."""
    svc = services()
    deadline = time.monotonic() + wait
    head = svc.app.current_position()
    if after > head:
        # No answer of the feed names a position past the log's end: a cursor there is mistyped, or was kept from a
        # log since restored from a backup. Waiting for the log to pass it would skip the events in between.
        raise ProblemError(
            422,
            f"after {after} is beyond the end of the event log, which is at position {head}.",
            errors={"after": [f"must be at most {head}, the log's last position"]},
        )
    records = svc.app.read_log(after, limit, names)
    if records or wait <= 0 or not svc.waiters.acquire(blocking=False):
        return head, records
    try:
        while not records:
            left = deadline - time.monotonic()
            if left <= 0 or not svc.log_watch.wait_beyond(max(head, after), left):
                break
            head = svc.app.current_position()
            records = svc.app.read_log(after, limit, names)
        return head, records
    finally:
        svc.waiters.release()
