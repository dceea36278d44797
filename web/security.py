"""What every answer carries for the browser's safety, and what every request is held to before it is read.

- Headers on every answer, pages, JSON, CSV and errors alike: no MIME sniffing, no referrer leaving the site, no
  framing (X-Frame-Options and the CSP's frame-ancestors), a Content-Security-Policy where the answer sets none,
  `Cache-Control: no-store` on answers to a request that carried credentials, and Strict-Transport-Security when
  the app is served over HTTPS only.
- A body sent without Content-Length (chunked) is held to the same limit as one with it: over the limit is 413,
  never a body cut short and accepted.
- The Host header must name one of the trusted hosts (Flask's TRUSTED_HOSTS): 400 otherwise, so no answer (a
  redirect's Location among them) is built from a host the client made up.
"""

from __future__ import annotations

import tempfile
from typing import IO

from flask import Flask, Request, Response, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property

# For answers that set no policy of their own: they load nothing, and nothing may frame them.
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
# A chunked body is held in memory up to this size, then in a temporary file.
_SPOOL_BYTES = 1024 * 1024
_CHUNK = 64 * 1024


class BoundedRequest(Request):
    """A request whose streamed (chunked) body is refused with 413 once it passes max_content_length."""

    @cached_property
    def stream(self) -> IO[bytes]:  # type: ignore[override]
        limit = self.max_content_length
        if self.content_length is not None or limit is None or not self.environ.get("wsgi.input_terminated"):
            return super().stream
        # werkzeug stops reading a chunked body at the limit and hands on what it read: read one byte more.
        raw: IO[bytes] = self.environ["wsgi.input"]
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - the request owns it
        size = 0
        while chunk := raw.read(min(_CHUNK, limit + 1 - size)):
            size += len(chunk)
            if size > limit:
                spool.close()
                raise RequestEntityTooLarge()
            spool.write(chunk)
        spool.seek(0)
        self._spool = spool
        return spool  # type: ignore[return-value]

    def close(self) -> None:
        spool = self.__dict__.get("_spool")
        if spool is not None:
            spool.close()
        super().close()


def install(app: Flask, *, trusted_hosts: tuple[str, ...], hsts: bool) -> None:
    app.request_class = BoundedRequest
    app.config["TRUSTED_HOSTS"] = list(trusted_hosts) or None

    @app.after_request
    def secure(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        policy = headers.get("Content-Security-Policy")
        if policy is None:
            headers["Content-Security-Policy"] = DEFAULT_CSP
        elif "frame-ancestors" not in policy:
            headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'"
        if _carries_credentials() and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        if hsts:
            headers["Strict-Transport-Security"] = HSTS
        return response


def _carries_credentials() -> bool:
    return "Authorization" in request.headers or "Cookie" in request.headers
