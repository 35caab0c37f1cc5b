"""Fixed-window rate limits for the public subscription forms, counted in the database.

The counts live in their own table, not in the cache the public pages share: a cache culls or
evicts entries under load, and a crowd of requests for distinct page URLs would otherwise wipe
every count and reset every limit. A row is one (limit, key, window); the pruning task deletes
windows that have ended.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from notifications.models import RateLimitCounter

HOUR = 3600

# IPv6 clients are counted by /64: one customer usually holds at least that much and can pick
# any address inside it.
_IPV6_PREFIX = 64


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets

    @property
    def retry_after_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def _digest(scope: str, key: str) -> str:
    # Keyed, so the table holds no address in a form anyone could look up.
    return salted_hmac(f"notifications.ratelimit.{scope}", key, algorithm="sha256").hexdigest()


def hit(scope: str, key: str, *, limit: int, window: int = HOUR) -> Verdict:
    """Count one request for `key` and say whether it is within `limit` per `window` seconds."""
    now = timezone.now()
    epoch = int(now.timestamp())
    ends = dt.datetime.fromtimestamp((epoch // window + 1) * window, tz=dt.UTC)
    counter = RateLimitCounter.objects.filter(
        scope=scope, key=_digest(scope, key), window_ends_at=ends
    )
    with transaction.atomic():
        if not counter.update(count=F("count") + 1):
            try:
                with transaction.atomic():
                    RateLimitCounter.objects.create(
                        scope=scope, key=_digest(scope, key), window_ends_at=ends, count=1
                    )
            except IntegrityError:  # another request opened the window at the same moment
                counter.update(count=F("count") + 1)
        count = counter.values_list("count", flat=True).get()
    retry_after = max(1, math.ceil((ends - now).total_seconds()))
    return Verdict(allowed=count <= limit, retry_after=retry_after)


def counters_prune(*, now: dt.datetime | None = None) -> int:
    """Delete the counts of windows that have ended."""
    return RateLimitCounter.objects.filter(window_ends_at__lte=now or timezone.now()).delete()[0]


def client_address(request: HttpRequest) -> str:
    """The visitor's address: the peer's, or the one the trusted proxies put in X-Forwarded-For."""
    hops = settings.NOTIFY_TRUSTED_PROXY_HOPS
    if hops > 0:
        forwarded = [
            a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "")


def client_key(request: HttpRequest) -> str:
    """What one client is counted under: its IPv4 address, or its IPv6 /64 network."""
    address = client_address(request)
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{parsed}/{_IPV6_PREFIX}", strict=False))
    return str(parsed)
