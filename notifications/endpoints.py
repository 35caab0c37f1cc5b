"""Where webhooks signed up on the public page may point: http or https URLs whose host resolves
to public internet addresses only. The sign-up form refuses what the URL alone gives away (a
private address, a local name); the workers resolve the name and check every address on each
connection.

Without this rule anyone could make our workers POST to the site's own network (the database's
host, a cloud metadata service, an admin panel on 127.0.0.1). The check at connection time looks
at the very address the socket then connects to, so a name that resolved to a public address on
sign-up and to a private one later (DNS rebinding) is still refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class EndpointRefused(Exception):
    """A URL we will not send to; the message is meant for the person who entered it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def private_addresses_allowed() -> bool:
    return settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """True for a globally routable unicast address: not loopback, private, link-local, shared
    (carrier-grade NAT), multicast, reserved, documentation or unspecified."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public_address(embedded):
            return False
    return address.is_global and not address.is_multicast and not address.is_reserved


def _parse_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def refusal(host: str, addresses: Iterable[IPAddress]) -> str | None:
    """Why we will not connect to `host` at these addresses, or None when every one is public.

    One non-public address among several is enough to refuse: a name with a public and a
    private record would otherwise reach the private one whenever the public one fails.
    """
    if private_addresses_allowed():
        return None
    for address in addresses:
        if not is_public_address(address):
            return (
                f"{host} points to a private, local or reserved network address ({address}). "
                "We only send webhooks to addresses on the public internet."
            )
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` resolves to, in the resolver's order; socket.gaierror if none."""
    literal = _parse_address(host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = _parse_address(str(sockaddr[0]))
        if address is not None and address not in addresses:
            addresses.append(address)
    if not addresses:
        raise socket.gaierror(f"{host} has no usable address")
    return addresses


# Names that never lead to the public internet: single labels (resolved through a local search
# domain), and the special-use names of RFC 6761 (localhost, invalid, test), RFC 6762 (local),
# RFC 8375 (home.arpa) and ICANN's private-use "internal".
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".invalid", ".test")


def is_local_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return "." not in name or name == "localhost" or name.endswith(_LOCAL_SUFFIXES)


def check_signup_url(url: str) -> None:
    """Refuse a URL entered on the sign-up page, with a message saying why (EndpointRefused).

    Only what the URL itself shows is checked here (a web request does no network I/O): the
    scheme, an address written as such, a name that can only be local. Host names are looked up
    by the worker that sends the challenge, which refuses non-public addresses at connection.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise EndpointRefused("Use an http:// or https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused(
            "Leave the user name and password out of the URL: check our signature instead."
        )
    host = parts.hostname
    if not host:
        raise EndpointRefused("The URL needs a host name, like https://example.com/hooks/status.")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise EndpointRefused("The port in this URL is not a number between 1 and 65535.") from None
    if private_addresses_allowed():
        return
    literal = _parse_address(host)
    if literal is not None:
        reason = refusal(host, [literal])
        if reason is not None:
            raise EndpointRefused(reason)
        return
    if is_local_name(host):
        raise EndpointRefused(
            f"{host} is a name on a local network. "
            "We only send webhooks to addresses on the public internet."
        )


class AddressRefused(httpcore.ConnectError):
    """Raised instead of connecting to a non-public address."""


class PublicOnlyBackend(httpcore.SyncBackend):
    """httpcore's network backend, resolving names itself and connecting only to public
    addresses: the address checked is the address connected to."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port)
        except OSError as error:
            raise httpcore.ConnectError(f"Could not resolve {host}: {error}") from None
        reason = refusal(host, addresses)
        if reason is not None:
            raise AddressRefused(reason)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        assert last_error is not None
        raise last_error


class PublicOnlyTransport(httpx.HTTPTransport):
    """httpx's transport over PublicOnlyBackend. TLS still checks the certificate against the
    URL's host name; only the TCP connection goes to the checked address. No proxy is used."""

    def __init__(self) -> None:
        super().__init__(trust_env=False)
        # HTTPTransport builds its pool without a way to pass a network backend; this is
        # the same pool with ours.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=PublicOnlyBackend(),
        )
