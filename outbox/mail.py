"""Sending e-mail through SMTP (TRACKER_SMTP_URL): `smtp://[user:password@]host[:port][?starttls=1]`, or
`smtps://…` for TLS from the first byte. STARTTLS is used whenever the server offers it, and required where the URL
asks for it; credentials are sent only over TLS unless the host is this machine."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

TIMEOUT = 10.0


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

    def __init__(self, config: SMTPConfig) -> None:
        self.config = config

    def send(self, to: str, message: Message) -> None:
        c = self.config
        email = EmailMessage()
        email["From"] = c.sender
        email["To"] = to
        email["Subject"] = message.subject
        email["Message-ID"] = make_msgid(domain=c.sender.rpartition("@")[2] or None)
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        context = ssl.create_default_context()
        if c.implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=TIMEOUT, context=context)
        else:
            client = smtplib.SMTP(c.host, c.port, timeout=TIMEOUT)
        with client:
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
            client.send_message(email)
