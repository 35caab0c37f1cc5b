"""The public cache: every public page, API answer, feed and badge is served from Django's cache
until something public changes.

One number, the public version, names the current state of everything visitors can see. Every
write that changes it (the services, and any save or delete of a public model) bumps it after
its transaction commits, so the next request renders afresh; cached entries of older versions
are simply never asked for again and expire on their own. A cached answer carries an ETag, so a
conditional request is answered 304 with no body, and public `Cache-Control` lets a CDN or a
reverse proxy absorb a crowd.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.http import http_date, parse_etags, quote_etag

from statuspage.version import public_version

GZIP_MIN_BYTES = 1024
_COMPRESSIBLE = ("text/", "application/json", "application/xml", "application/atom+xml",
                 "application/rss+xml", "image/svg+xml")  # fmt: skip
ENTRY_TTL = 24 * 3600

# Paths served from the cache: exact paths and prefixes of the public site.
_EXACT = {"/", "/history", "/history.atom", "/history.rss", "/badge.svg", "/live"}
_PREFIXES = ("/api/v2/", "/incidents/", "/badge/", "/components/")


def live_token() -> str:
    """Names what the home page shows: the public version and the page's date."""
    return f"{public_version()}.{timezone.localdate().isoformat()}"


def is_cacheable_path(path: str) -> bool:
    # Response-time charts follow the checker's rollups, which do not move the public version;
    # they carry their own short Cache-Control instead.
    if path.endswith("/response-time.svg"):
        return False
    return path in _EXACT or path.startswith(_PREFIXES)


def _entry_key(request: HttpRequest, version: int) -> str:
    # The page's date is part of the key: uptime bars and the past days move at midnight
    # even when nothing else changes.
    variant = "htmx" if request.headers.get("HX-Request") else "full"
    raw = f"{request.get_full_path()}|{variant}|{timezone.localdate().isoformat()}"
    digest = hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()
    return f"statuspage:page:{version}:{digest}"


def _accepts_gzip(request: HttpRequest) -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "")


def _etag_matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    wanted = parse_etags(header)
    return "*" in wanted or any(tag.removeprefix("W/") == etag for tag in wanted)


def public_cache_control() -> str:
    max_age = settings.PUBLIC_CACHE_MAX_AGE
    return f"public, max-age={max_age}, stale-while-revalidate={max_age * 4}"


def _from_entry(request: HttpRequest, entry: dict) -> HttpResponse:
    headers: dict[str, str] = dict(entry["headers"])
    body: bytes = entry["body"]
    if entry.get("gzip") is not None:
        headers["Vary"] = "Accept-Encoding"
        if _accepts_gzip(request):
            # Another representation, so another strong ETag.
            body = entry["gzip"]
            headers["Content-Encoding"] = "gzip"
            headers["ETag"] = headers["ETag"][:-1] + '-gzip"'
    if _etag_matches(request, headers["ETag"]):
        response: HttpResponse = HttpResponseNotModified()
        for name in ("ETag", "Last-Modified", "Cache-Control", "Vary",
                     "Access-Control-Allow-Origin"):  # fmt: skip
            if name in headers:
                response[name] = headers[name]
        return response
    response = HttpResponse(b"" if request.method == "HEAD" else body, status=entry["status"])
    for name, value in headers.items():
        response[name] = value
    response["Content-Length"] = str(len(body))
    return response


class _LocalEntries:
    """A small per-process copy of recent entries, so a hit costs one read of the version
    from the shared cache and no unpickling of the page."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.entries: OrderedDict[str, dict] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: dict) -> None:
        with self.lock:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


class PublicCacheMiddleware:
    """Serve public GET and HEAD requests from the cache; fill it on a miss."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.local = _LocalEntries()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD") or not is_cacheable_path(request.path):
            return self.get_response(request)
        version = public_version()
        key = _entry_key(request, version)
        entry = self.local.get(key)
        if entry is None:
            entry = cache.get(key)
            if entry is not None:
                self.local.put(key, entry)
        if entry is not None:
            return _from_entry(request, entry)

        # Render as a plain GET so the stored answer is complete; then answer this request.
        method = request.method
        conditional = request.META.pop("HTTP_IF_NONE_MATCH", None)
        request.method = "GET"
        response = self.get_response(request)
        request.method = method
        if conditional is not None:
            request.META["HTTP_IF_NONE_MATCH"] = conditional
        if response.status_code != 200 or response.streaming or response.cookies:
            return response
        entry = self._store(key, response, version)
        return _from_entry(request, entry)

    def _store(self, key: str, response: HttpResponse, version: int) -> dict:
        body = response.content
        headers = {name: value for name, value in response.items()
                   if name not in ("Content-Length", "Set-Cookie")}  # fmt: skip
        headers["ETag"] = quote_etag(hashlib.blake2b(body, digest_size=16).hexdigest())
        headers["Last-Modified"] = http_date(version / 1e9)
        headers.setdefault("Cache-Control", public_cache_control())
        entry = {"status": response.status_code, "headers": headers, "body": body, "gzip": None}
        content_type = headers.get("Content-Type", "")
        if len(body) >= GZIP_MIN_BYTES and content_type.startswith(_COMPRESSIBLE):
            # Compressed once here, not once per request.
            entry["gzip"] = gzip.compress(body, compresslevel=5, mtime=0)
        cache.set(key, entry, timeout=ENTRY_TTL)
        self.local.put(key, entry)
        return entry
