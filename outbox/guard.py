"""The webhook SSRF guard: endpoints are `https` URLs of public addresses, checked on the address actually connected
to, after DNS, so a name that resolves to an internal address (or is re-pointed at one later) is never reached.

`allow_private` (TRACKER_WEBHOOKS_ALLOW_PRIVATE=1) lifts both rules, for tests and closed networks."""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from tracker.errors import ValidationError

Resolver = Callable[[str, int], list[str]]


class RefusedAddressError(ValidationError):
    """The URL names, or resolves to, an address webhooks may not reach."""

    rule = "webhook.address"


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6), as DNS answers now."""
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def is_public(address: str) -> bool:
    """Whether an address is one on the public internet (not private, loopback, link-local, multicast, reserved or
    unspecified; an IPv4 address inside IPv6 is judged as IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo is not None:
            return False  # a tunnel to addresses of its own choosing
        if ip.is_site_local:
            return False  # fec0::/10: deprecated, and still routed inside some sites
        # An IPv4 address inside IPv6 (mapped, or 6to4) is judged as the IPv4 address it reaches.
        ip = ip.ipv4_mapped or ip.sixtofour or ip
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


# What a request line may carry of a URL's path and query: printable ASCII, no space.
_SENDABLE = re.compile(r"[!-~]*")


def parse(url: str, *, allow_private: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of an endpoint URL, refusing anything but https unless private addresses are allowed."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname  # a bracketed host that is not an IPv6 address raises only when it is read
    except ValueError:
        raise RefusedAddressError("url", "is not a valid URL (check the brackets around an IPv6 address)") from None
    if parts.scheme not in ("https", "http") or not hostname:
        raise RefusedAddressError("url", "must be an https URL with a host name")
    if parts.scheme != "https" and not allow_private:
        raise RefusedAddressError("url", "must use https")
    if parts.username or parts.password:
        raise RefusedAddressError("url", "must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RefusedAddressError("url", "has an invalid port") from None
    if not _SENDABLE.fullmatch(path_of(url)):
        # Else every delivery would fail where the request is written, and the endpoint end up disabled.
        raise RefusedAddressError(
            "url", "must have its path and query percent-encoded: no spaces or other characters outside ASCII"
        )
    return parts.scheme, hostname, port


def allowed_addresses(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> list[str]:
    """The addresses a delivery to `url` may connect to; RefusedAddressError when there are none.

    A name with any non-public address among its answers is refused as a whole: which answer a client uses is not
    the guard's to choose."""
    _scheme, host, port = parse(url, allow_private=allow_private)
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise RefusedAddressError("url", f"the host name {host!r} does not resolve ({exc})") from None
    if not addresses:
        raise RefusedAddressError("url", f"the host name {host!r} does not resolve")
    if not allow_private:
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            raise RefusedAddressError(
                "url",
                f"resolves to an address that is not public ({', '.join(refused)}); webhooks reach public "
                "addresses only",
            )
    return addresses


def check_url(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> None:
    """Refuse (RefusedAddressError) an endpoint URL a delivery could not be sent to."""
    allowed_addresses(url, allow_private=allow_private, resolver=resolver)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to one address already checked, whatever the host name resolves to by then."""

    def __init__(self, host: str, port: int, address: str, timeout: float, allow_private: bool) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address
        self._allow_private = allow_private

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        _check_peer(self.sock, self._allow_private)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to one address already checked, verifying the certificate against the host name."""

    def __init__(
        self, host: str, port: int, address: str, timeout: float, allow_private: bool, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._allow_private = allow_private
        self._context = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        _check_peer(raw, self._allow_private)
        # Requests on a kept-alive connection are not held back waiting for the receiver's delayed ACK.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def _check_peer(sock: socket.socket, allow_private: bool) -> None:
    peer = sock.getpeername()[0]
    if not allow_private and not is_public(peer):
        sock.close()
        raise RefusedAddressError("url", f"connected to {peer}, which is not a public address")


def path_of(url: str) -> str:
    """What a request to `url` asks for: its path and query."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def connection(
    url: str, *, timeout: float, allow_private: bool, resolver: Resolver = resolve
) -> tuple[http.client.HTTPConnection, str]:
    """A connection for one delivery to `url`, pinned to an address the guard allowed, and the request's path."""
    scheme, host, port = parse(url, allow_private=allow_private)
    address = allowed_addresses(url, allow_private=allow_private, resolver=resolver)[0]
    path = path_of(url)
    conn: Any
    if scheme == "https":
        conn = _PinnedHTTPSConnection(host, port, address, timeout, allow_private, ssl.create_default_context())
    else:
        conn = _PinnedHTTPConnection(host, port, address, timeout, allow_private)
    return conn, path
