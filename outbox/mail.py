"""Sending e-mail through SMTP (TRACKER_SMTP_URL): `smtp://[user:password@]host[:port][?starttls=1]`, or
`smtps://…` for TLS from the first byte. STARTTLS is used whenever the server offers it, and required where the URL
asks for it; credentials are sent only over TLS unless the host is this machine."""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from outbox.timing import TIMEOUT


@dataclass(frozen=True)
class Message:
    """An e-mail as rendered for one person: subject, plain text and HTML."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class SMTPConfig:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool  # required
    username: str | None
    password: str | None
    sender: str

    @classmethod
    def from_url(cls, url: str, sender: str) -> SMTPConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"TRACKER_SMTP_URL: {parts.scheme or url!r} is not an smtp:// or smtps:// URL with a host")
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes", "on")
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 587 if starttls else 25),
            implicit_tls=implicit,
            starttls=starttls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=sender,
        )


class Mailer:
    """Sends one message per call, on a connection of its own (the sender's threads call it concurrently)."""

    def __init__(self, config: SMTPConfig, *, timeout: float = TIMEOUT) -> None:
        self.config = config
        self.timeout = timeout

    def send(self, to: str, message: Message) -> None:
        """Send one message. The connection takes at most `timeout`, and the whole conversation with the server at
        most twice that: a server that answers each step just in time would otherwise hold the send past its claim
        in the outbox (outbox.sending.least_lease), and another worker would send it again."""
        c = self.config
        email = EmailMessage()
        email["From"] = c.sender
        email["To"] = to
        # A header is one line: a title stored with a line break in it would otherwise make the message unsendable.
        email["Subject"] = " ".join(message.subject.split())
        email["Message-ID"] = make_msgid(domain=c.sender.rpartition("@")[2] or None)
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        context = ssl.create_default_context()
        started = time.monotonic()
        if c.implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(c.host, c.port, timeout=self.timeout)
        deadline = threading.Timer(max(0.0, 2 * self.timeout - (time.monotonic() - started)), _cut, args=(client,))
        deadline.start()
        # The timer is cancelled after the client's exit, so that it bounds the closing QUIT too.
        with _cancelled(deadline), client:
            client.ehlo()
            secure = c.implicit_tls
            if not secure and (c.starttls or client.has_extn("starttls")):
                client.starttls(context=context)
                client.ehlo()
                secure = True
            if c.username:
                if not secure and c.host not in ("localhost", "127.0.0.1", "::1"):
                    raise smtplib.SMTPException("refusing to send SMTP credentials without TLS")
                client.login(c.username, c.password or "")
            # The one address as the envelope's recipient: not whatever a header parser reads into the To line.
            client.send_message(email, to_addrs=[to])


def _cut(client: smtplib.SMTP) -> None:
    """End a conversation that ran out of time: the blocked read or write raises."""
    sock = client.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def _cancelled(timer: threading.Timer) -> Iterator[None]:
    try:
        yield
    finally:
        timer.cancel()
