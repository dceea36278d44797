"""Real receivers for what leaves the tracker: the webhook receiver (bench.receiver), and an SMTP server (aiosmtpd)
that keeps the e-mails it is sent."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from bench.receiver import Received, Receiver, webhook_receiver

__all__ = ["Mailbox", "Received", "Receiver", "smtp_server", "webhook_receiver"]


@dataclass
class Mailbox:
    url: str = ""
    messages: list[EmailMessage] = field(default_factory=list)
    # Each message's envelope recipients (RCPT TO), in the same order.
    recipients: list[list[str]] = field(default_factory=list)
    # Addresses (lower case) the server refuses at RCPT, quoting them back as mail servers do.
    refused: set[str] = field(default_factory=set)


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox()

    class Handler:
        async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any) -> str:
            if address.lower() in box.refused:
                return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            box.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
            box.recipients.append(list(envelope.rcpt_tos))
            return "250 OK"

    # The controller checks its server by connecting to the port it was given, so it needs a real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        box.url = f"smtp://127.0.0.1:{port}"
        yield box
    finally:
        controller.stop()
