"""The load's HTTP client: one keep-alive connection, and an entry in the ledger for every write it sends."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from soak.ledger import EVENTS, ITEM_FIELDS, Ledger, Write
from soak.portfolio import Innovation, Portfolio


@dataclass(frozen=True)
class Key:
    token: str
    name: str  # the id of the key's person: the actor id on every event it causes


@dataclass(frozen=True)
class Cast:
    """The keys the load uses, and the organisation that adopts innovations."""

    provider: Key
    site_provider: Key
    site: str
    evaluators: tuple[Key, ...]
    analyst: Key
    manager: Key


def _etag_version(value: str | None) -> int | None:
    text = (value or "").strip().removeprefix("W/").strip('"')
    return int(text) if text.isdigit() else None


class HttpClient:
    """One HTTP client: keep-alive connection, the ledger entry of each write, and reads of the API."""

    def __init__(
        self,
        base: str,
        cast: Cast,
        ledger: Ledger,
        portfolio: Portfolio,
        *,
        timeout: float = 20.0,
        keep_alive: bool = True,
    ) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cast, self.ledger, self.portfolio = cast, ledger, portfolio
        self.timeout, self.keep_alive = timeout, keep_alive
        self.conn: http.client.HTTPConnection | None = None
        self.position = 0

    # ---- transport -------------------------------------------------------------------------

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send(
        self, method: str, path: str, key: Key, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int | None, dict[str, str], Any, str]:
        """One request; (None, {}, None, id) when no answer came back."""
        request_id = uuid.uuid4().hex
        sent = {"Authorization": f"Bearer {key.token}", "X-Request-ID": request_id, **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        if not self.keep_alive:
            sent["Connection"] = "close"
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
            response = self.conn.getresponse()
            payload = response.read()
            if response.will_close or not self.keep_alive:
                self.close()
        except (OSError, http.client.HTTPException):
            self.close()
            time.sleep(0.1)  # no server answered: back off a little, as a real client would
            return None, {}, None, request_id
        answer = {k.lower(): v for k, v in response.getheaders()}
        try:
            data = json.loads(payload) if payload else None
        except ValueError:
            data = None
        return response.status, answer, data, request_id

    def write(
        self,
        kind: str,
        method: str,
        path: str,
        key: Key,
        body: Any,
        *,
        target: Innovation | None = None,
        if_match: int | None = None,
        event_type: str | None = None,
    ) -> tuple[int | None, Any]:
        headers = {"If-Match": f'"{if_match}"'} if if_match is not None else {}
        sent_at = time.time()
        status, answer, data, request_id = self.send(method, path, key, body, headers)
        answered_at = time.time()
        body_ = data if isinstance(data, dict) else {}
        ok = status is not None and 200 <= status < 300
        raw_position = answer.get("x-event-position", "")
        position = int(raw_position) if raw_position.isdigit() else None
        item = body_.get(ITEM_FIELDS[kind]) if ok and kind in ITEM_FIELDS else None
        self.ledger.add(
            Write(
                request_id=request_id,
                kind=kind,
                actor=key.name,
                sent_at=sent_at,
                answered_at=answered_at,
                status=status,
                aggregate_id=target.id if target else (str(body_["id"]) if ok and "id" in body_ else None),
                version=_etag_version(answer.get("etag")) if ok else None,
                position=position if ok else None,
                event_type=event_type or EVENTS.get(kind),
                item_id=str(item) if item is not None else None,
                if_match=if_match,
                detail=None if ok else str(body_.get("detail", ""))[:300] or None,
            )
        )
        if position is not None:
            self.position = max(self.position, position)
        if status == 503:
            time.sleep(0.2)  # the store is away: pause as a client honouring Retry-After would, if less long
        if ok and target is not None:
            self.portfolio.observe(target, data)
        return status, data

    def refresh(self, target: Innovation) -> None:
        """Read the innovation again (after a 412): its version, stage and status."""
        status, _, data, _ = self.send(
            "GET",
            f"/api/v1/innovations/{target.id}",
            self.cast.analyst,
            headers={"X-Min-Position": str(self.position)},
        )
        self.ledger.read(status)
        if status == 200:
            self.portfolio.observe(target, data)

    # ---- probes (used while PostgreSQL is down and to confirm recovery) ---------------------

    def probe_read(self) -> int | None:
        status, _, _, _ = self.send("GET", "/api/v1/innovations?page_size=1", self.cast.analyst)
        self.ledger.read(status)
        return status
