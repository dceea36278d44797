"""A real receiver of webhook deliveries: an HTTP server on the loopback interface that records every delivery and
answers as its user tells it (tests, the soak and the benchmarks)."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int = 200  # how it was answered
    at: float = field(default_factory=time.time)  # when it arrived (wall clock)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers 200 unless `answers` holds (status, headers, delay) for the next ones."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str], float]] = field(default_factory=list)
    default: tuple[int, dict[str, str], float] = (200, {}, 0.0)
    # Chooses each answer instead, when given, from the delivery's webhook-id (the soak's occasional failures).
    choose: Callable[[str], tuple[int, dict[str, str], float]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, webhook_id: str) -> tuple[int, dict[str, str], float]:
        with self.lock:
            if self.answers:
                return self.answers.pop(0)
            return self.choose(webhook_id) if self.choose is not None else self.default

    def ids(self) -> list[str]:
        """The webhook-id of every delivery received, in order of arrival, however it was answered."""
        with self.lock:
            return [r.headers["webhook-id"] for r in self.received]

    def accepted(self) -> set[str]:
        """The webhook-ids of the deliveries it answered with a 2xx."""
        with self.lock:
            return {r.headers["webhook-id"] for r in self.received if 200 <= r.status < 300}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A sender that went away mid-request (a killed worker) is expected; anything else is printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        # Keeps connections open between deliveries, as a production receiver would.
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # The answer's headers and body go in two writes: without this, each waits on the client's delayed ACK.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:
                # The sender went away mid-request (a killed worker): no delivery was made.
                self.close_connection = True
                return
            status, headers, delay = receiver.answer(self.headers.get("webhook-id", ""))
            if delay:
                time.sleep(delay)
            with receiver.lock:
                receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body, status))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks/tracker"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
