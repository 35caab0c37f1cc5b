"""Fixed-window rate limits in Django's cache, for the public subscription forms."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

HOUR = 3600


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets

    @property
    def retry_after_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def hit(scope: str, key: str, *, limit: int, window: int = HOUR) -> Verdict:
    """Count one request for `key` and say whether it is within `limit` per `window` seconds."""
    now = time.time()
    bucket = int(now // window)
    digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
    cache_key = f"notifications:ratelimit:{scope}:{digest}:{bucket}"
    if cache.add(cache_key, 1, timeout=window):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, timeout=window)
            count = 1
    return Verdict(allowed=count <= limit, retry_after=int((bucket + 1) * window - now) + 1)


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
