"""Which views are public, and the cache that serves them when no published copy does.

A view declares itself public with `@public_page(...)`: it answers the same to every visitor,
reads no session and sets no cookie. Declared views are what the publisher
(`website.publishing`) renders into the published site and what the fast path serves; the
declaration also says which query parameters the view reads, so that any other parameter
(`/?utm_source=x`, `/?cb=<random>`) names the same page.

`PublicCacheMiddleware` covers the rest of the time: before the first publication, and for a
public URL the publication does not hold yet (an incident created a second ago). It keeps each
rendered answer in the cache under the public version, and fails open: when the cache backend is
down, it renders.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, QueryDict
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.http import http_date

from statuspage.version import public_version
from website.conditional import encoded_etag, etag_for, etag_matches

logger = logging.getLogger(__name__)

GZIP_MIN_BYTES = 1024
COMPRESSIBLE = ("text/", "application/json", "application/xml", "application/atom+xml",
                "application/rss+xml", "image/svg+xml")  # fmt: skip
ENTRY_TTL = 24 * 3600
STAMP_SEPARATOR = "\x1f"
# Set on the request by the publisher, so this middleware lets the render through.
PUBLISHING_META_KEY = "statuspage.publishing"
# Set beside it when the publisher renders a view's standby answer (see `standby_page`).
STANDBY_META_KEY = "statuspage.standby"


@dataclass(frozen=True)
class Variant:
    """One concrete answer of a public view: its URL arguments and query, and a fingerprint of
    what it shows when that is cheaper to know than the page (None: render it every time)."""

    kwargs: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    fingerprint: str | None = None
    # What the answer shows besides its subject and that the view's `restamp` can bring up to
    # date in the previous body without rendering it again (a document's page object).
    stamp: str | None = None

    @property
    def published_fingerprint(self) -> str | None:
        """What the publication records: the fingerprint, with the stamp when there is one."""
        if self.fingerprint is None or self.stamp is None:
            return self.fingerprint
        return f"{self.fingerprint}{STAMP_SEPARATOR}{self.stamp}"


@dataclass(frozen=True)
class PublicSpec:
    params: tuple[str, ...] = ()
    variants: Callable[[], Iterable[Variant]] | None = None
    until_missing: bool = False
    documents: Callable[[list[Variant]], Iterable[tuple[Variant, bytes]]] | None = None
    restamp: Callable[[], Callable[[bytes], bytes | None]] | None = None
    # Published only to stand in while the view cannot answer (see `standby_page`).
    standby: bool = False


View = TypeVar("View", bound=Callable[..., Any])


def public_page(
    *,
    params: Iterable[str] = (),
    variants: Callable[[], Iterable[Variant]] | None = None,
    until_missing: bool = False,
    documents: Callable[[list[Variant]], Iterable[tuple[Variant, bytes]]] | None = None,
    restamp: Callable[[], Callable[[bytes], bytes | None]] | None = None,
) -> Callable[[View], View]:
    """Declare a view public: cached, published and served by the fast path.

    `params` are the query parameters it reads; `variants` lists every answer to publish (by
    default the one answer of a view without URL arguments); with `until_missing` the list
    ends at the first variant that answers 404 (pages of a history); `documents` builds the
    bodies of many variants at once, byte for byte what the view answers for each, for views
    with thousands of variants; `restamp` gives, once per publication, a function that brings
    a previous body whose variant changed only in its `stamp` up to date (None: render it).
    """
    spec = PublicSpec(
        params=tuple(params),
        variants=variants,
        until_missing=until_missing,
        documents=documents,
        restamp=restamp,
    )
    return _declaring(spec)


def _declaring(spec: PublicSpec) -> Callable[[View], View]:
    def declare(view: View) -> View:
        view.public_spec = spec  # type: ignore[attr-defined]  # read back by the publisher
        return view

    return declare


def standby_page(
    *,
    params: Iterable[str] = (),
    variants: Callable[[], Iterable[Variant]] | None = None,
) -> Callable[[View], View]:
    """Declare a view whose answer the publication keeps a standby copy of, served only while
    the database cannot be reached (`statuspage.unavailable`): a sign-up page, a chart.

    The view answers every request itself as before, and is neither cached nor served by the
    fast path. The publisher renders each variant with `is_standby_render(request)` true, so a
    page can put a notice where a form that cannot work without the database would be.
    """
    return _declaring(PublicSpec(params=tuple(params), variants=variants, standby=True))


def is_standby_render(request: HttpRequest) -> bool:
    """True while the publisher renders the standby copy of a `standby_page` view."""
    return STANDBY_META_KEY in request.META


def public_spec_of(view: object) -> PublicSpec | None:
    spec = getattr(view, "public_spec", None)
    return spec if isinstance(spec, PublicSpec) else None


def public_spec_for_path(path: str) -> PublicSpec | None:
    """The declaration of the public view at `path`, when the publication and the cache serve
    it (None for a standby page: it answers for itself)."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    spec = public_spec_of(match.func)
    return None if spec is None or spec.standby else spec


def canonical_query(query: QueryDict | dict[str, str], params: Iterable[str]) -> str:
    """The query string as the page sees it: only the parameters it reads, in a fixed order."""
    kept = [(name, query[name]) for name in sorted(params) if query.get(name) not in (None, "")]
    return urlencode(kept)


def public_cache_control() -> str:
    max_age = settings.PUBLIC_CACHE_MAX_AGE
    return f"public, max-age={max_age}, stale-while-revalidate={max_age * 4}"


def live_token() -> str:
    """Names what the home page shows; the page polls /live with it to hear of a change.

    While publishing it is the publication's token, so the published page and the published
    /live answer agree; otherwise the public version and the page's date.
    """
    from website.publishing import building_token

    token = building_token()
    if token is not None:
        return token
    return f"{public_version()}.{timezone.localdate().isoformat()}"


def _accepts(request: HttpRequest, encoding: str) -> bool:
    return encoding in request.headers.get("Accept-Encoding", "")


def _from_entry(request: HttpRequest, entry: dict, if_none_match: str | None) -> HttpResponse:
    headers: dict[str, str] = dict(entry["headers"])
    body: bytes = entry["body"]
    if entry.get("gzip") is not None:
        headers["Vary"] = "Accept-Encoding"
        if _accepts(request, "gzip"):
            body = entry["gzip"]
            headers["Content-Encoding"] = "gzip"
            headers["ETag"] = encoded_etag(headers["ETag"], "gzip")
    if etag_matches(if_none_match, headers["ETag"]):
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


def _entry_key(request: HttpRequest, spec: PublicSpec, version: int) -> str:
    # The page's date is part of the key: uptime bars and the past days move at midnight
    # even when nothing else changes.
    query = canonical_query(request.GET, spec.params)
    raw = f"{request.path}?{query}|{timezone.localdate().isoformat()}"
    digest = hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()
    return f"statuspage:page:{version}:{digest}"


class PublicCacheMiddleware:
    """Serve declared public GET and HEAD requests from the cache; fill it on a miss."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.local = _LocalEntries()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD") or PUBLISHING_META_KEY in request.META:
            return self.get_response(request)
        spec = public_spec_for_path(request.path_info)
        if spec is None:
            return self.get_response(request)
        # Answer only for the site's own host names, cached or not: Django checks them when the
        # view (or anything else) asks for the host, which a cached answer would skip.
        request.get_host()
        version = public_version()
        key = _entry_key(request, spec, version)
        conditional = request.META.get("HTTP_IF_NONE_MATCH")
        entry = self.local.get(key)
        if entry is None:
            entry = self._shared_get(key)
        if entry is not None:
            return _from_entry(request, entry, conditional)

        # Render as a plain unconditional GET so the stored answer is complete (the view must
        # not see If-None-Match, nor headers read before it was removed); then answer.
        method = request.method
        request.META.pop("HTTP_IF_NONE_MATCH", None)
        request.__dict__.pop("headers", None)
        request.method = "GET"
        response = self.get_response(request)
        request.method = method
        if conditional is not None:
            request.META["HTTP_IF_NONE_MATCH"] = conditional
            request.__dict__.pop("headers", None)
        if response.status_code != 200 or response.streaming or response.cookies:
            return response
        entry = self._store(key, response, version)
        return _from_entry(request, entry, conditional)

    def _shared_get(self, key: str) -> dict | None:
        try:
            entry = cache.get(key)
        except Exception:  # noqa: BLE001 - a dead cache means rendering, never an error page
            logger.warning("public cache unavailable; rendering", exc_info=True)
            return None
        if entry is not None:
            self.local.put(key, entry)
        return entry

    def _store(self, key: str, response: HttpResponse, version: int) -> dict:
        body = response.content
        headers = {name: value for name, value in response.items()
                   if name not in ("Content-Length", "Set-Cookie")}  # fmt: skip
        headers["ETag"] = etag_for(body)
        headers["Last-Modified"] = http_date(version / 1e9)
        headers.setdefault("Cache-Control", public_cache_control())
        entry = {"status": response.status_code, "headers": headers, "body": body, "gzip": None}
        content_type = headers.get("Content-Type", "")
        if len(body) >= GZIP_MIN_BYTES and content_type.startswith(COMPRESSIBLE):
            # Compressed once here, not once per request.
            entry["gzip"] = gzip.compress(body, compresslevel=5, mtime=0)
        try:
            cache.set(key, entry, timeout=ENTRY_TTL)
        except Exception:  # noqa: BLE001 - kept in this process at least
            logger.warning("public cache unavailable; entry kept in this process", exc_info=True)
        self.local.put(key, entry)
        return entry
