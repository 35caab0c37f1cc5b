"""What every probe shares: the spec it reads, the outcome it returns, the context it borrows
(TLS contexts, HTTP clients, a per-batch cache of upstream pages) and plain-English errors.

A failure is told twice. Its public wording is ours alone (our phrases, status codes, numbers
we measured), because incident bodies quote it and they are Markdown mailed to subscribers.
Its detail adds what the other side said (a reason phrase, a JSON value, an upstream page's
names, an exception's text) and stays with staff: results, state changes, the admin.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import errno
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from checker.models import Check, Level, normalize_upstream_url, parse_status_codes

# The most of a response body a probe reads; what lies beyond is not searched.
MAX_BODY_BYTES = 1_000_000
# The longest Retry-After honoured: a provider may ban for a day; longer asks are capped.
MAX_RETRY_AFTER_SECONDS = 86400


def user_agent() -> str:
    """Polite clients say who they are and where to complain."""
    return f"statuspage-checker/1.0 (+{settings.SITE_URL})"


@dataclass(frozen=True)
class ProbeSpec:
    """Everything a probe needs, copied from a `Check` so that no ORM call happens in async code."""

    check_id: int
    kind: str
    host: str
    timeout: float
    url: str = ""
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    expected_status_codes: tuple[tuple[int, int], ...] = ((200, 299),)
    expected_status_text: str = "200-299"
    body_contains: str = ""
    json_conditions: tuple[dict[str, Any], ...] = ()
    follow_redirects: bool = True
    tls_verify: bool = True
    degraded_latency_ms: int | None = None
    port: int | None = None
    tls_days_left_threshold: int = 14
    upstream_url: str = ""
    upstream_component: str = ""

    @classmethod
    def from_check(cls, check: Check) -> ProbeSpec:
        return cls(
            check_id=check.pk,
            kind=check.kind,
            host=check.target_host,
            timeout=float(check.timeout_seconds),
            url=check.url.strip(),
            method=check.method,
            headers=tuple((str(k), str(v)) for k, v in (check.request_headers or {}).items()),
            body=check.request_body,
            expected_status_codes=tuple(parse_status_codes(check.expected_status_codes)),
            expected_status_text=check.expected_status_codes,
            body_contains=check.body_contains,
            json_conditions=tuple(check.json_conditions or ()),
            follow_redirects=check.follow_redirects,
            tls_verify=check.tls_verify,
            degraded_latency_ms=check.degraded_latency_ms,
            port=check.port,
            tls_days_left_threshold=check.tls_days_left_threshold,
            upstream_url=normalize_upstream_url(check.upstream_url) if check.upstream_url else "",
            upstream_component=check.upstream_component.strip(),
        )


@dataclass(frozen=True)
class Outcome:
    """What one probe learnt.

    An inconclusive outcome says nothing about the target (we were asked to back off, the
    upstream page could not be read): it is shown to staff but never counts as a failure.
    """

    level: int
    latency_ms: int | None = None
    # The detail, for staff; it may quote the target.
    error: str = ""
    # The public wording: nothing the target sent.
    public: str = ""
    observed_status: str = ""
    inconclusive: bool = False
    rate_limited: bool = False
    retry_after: float | None = None
    check_id: int = 0
    at: dt.datetime | None = None

    # The public wording comes first and the detail only by name, so that a probe quoting the
    # target has to say so.
    @classmethod
    def up(cls, latency_ms: int | None, **extra: Any) -> Outcome:
        return cls(level=Level.UP, latency_ms=latency_ms, **extra)

    @classmethod
    def down(
        cls, public: str, latency_ms: int | None = None, *, detail: str = "", **extra: Any
    ) -> Outcome:
        return cls(
            level=Level.DOWN, latency_ms=latency_ms, public=public, error=detail or public, **extra
        )

    @classmethod
    def degraded(
        cls, public: str, latency_ms: int | None = None, *, detail: str = "", **extra: Any
    ) -> Outcome:
        return cls(
            level=Level.DEGRADED,
            latency_ms=latency_ms,
            public=public,
            error=detail or public,
            **extra,
        )

    @classmethod
    def unknown(cls, public: str, *, detail: str = "", **extra: Any) -> Outcome:
        return cls(
            level=Level.UP, public=public, error=detail or public, inconclusive=True, **extra
        )

    @classmethod
    def failed(cls, failure: Failure, latency_ms: int | None = None, **extra: Any) -> Outcome:
        """Down, for a request that did not complete."""
        return cls.down(failure.public, latency_ms, detail=failure.detail, **extra)


@dataclass(frozen=True)
class Failure:
    """Why a request did not complete: in our words, and with the exception's own text."""

    public: str
    detail: str


@dataclass
class ProbeContext:
    """Shared by the probes of one batch: TLS contexts and HTTP clients are costly to build,
    and an upstream page followed by several checks is fetched once."""

    max_connections: int = 100
    _clients: dict[bool, httpx.AsyncClient] = field(default_factory=dict)
    _ssl: dict[bool, ssl.SSLContext] = field(default_factory=dict)
    upstream_pages: dict[str, Any] = field(default_factory=dict)
    # Upstream pages read before, by URL: (ETag, document), for conditional requests; and the
    # pages this batch read afresh, to remember for the next one.
    known_pages: dict[str, tuple[str, Any]] = field(default_factory=dict)
    fresh_pages: dict[str, tuple[str, Any]] = field(default_factory=dict)

    def ssl_context(self, *, verify: bool) -> ssl.SSLContext:
        if verify not in self._ssl:
            context = ssl.create_default_context()
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._ssl[verify] = context
        return self._ssl[verify]

    def http_client(self, *, verify: bool) -> httpx.AsyncClient:
        if verify not in self._clients:
            self._clients[verify] = httpx.AsyncClient(
                verify=self.ssl_context(verify=verify),
                headers={"User-Agent": user_agent()},
                limits=httpx.Limits(
                    max_connections=self.max_connections,
                    max_keepalive_connections=self.max_connections,
                    keepalive_expiry=30,
                ),
                trust_env=False,
            )
        return self._clients[verify]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def milliseconds(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), capped at a day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def describe_error(exc: BaseException, *, timeout: float) -> Failure:
    """A failure in words a visitor understands, e.g. "connection refused", and for staff with
    what the exception said when our words leave something out."""
    if isinstance(exc, TimeoutError | httpx.ReadTimeout | httpx.WriteTimeout | httpx.PoolTimeout):
        return _ours(f"no response within {timeout:g} s")
    if isinstance(exc, httpx.ConnectTimeout):
        return _ours("connection timed out")
    if isinstance(exc, httpx.TooManyRedirects):
        return _ours("too many redirects (a redirect loop?)")
    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            public = "TLS certificate not valid"
            return Failure(public, f"{public}: {cause.verify_message or cause.reason}")
        if isinstance(cause, ssl.SSLError):
            return Failure("TLS handshake failed", f"TLS handshake failed: {cause.reason or cause}")
        if isinstance(cause, ConnectionRefusedError):
            return _ours("connection refused")
        if isinstance(cause, ConnectionResetError):
            return _ours("connection reset by the server")
        if isinstance(cause, socket.gaierror):
            return _ours("host name not found")
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return _ours("host unreachable")
    if isinstance(exc, httpx.RemoteProtocolError):
        text = str(exc)
        if "without sending" in text or "disconnected" in text:
            return _ours("the server closed the connection without answering")
        public = "the server's answer is not valid HTTP"
        return Failure(public, f"{public}: {text}")
    if isinstance(exc, httpx.DecodingError):
        public = "the response body could not be decoded"
        return Failure(public, f"{public}: {exc}")
    if isinstance(exc, httpx.HTTPError | OSError):
        return Failure("the request failed", str(exc) or exc.__class__.__name__)
    return Failure("the request failed", f"{exc.__class__.__name__}: {exc}")


def _ours(words: str) -> Failure:
    return Failure(words, words)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
