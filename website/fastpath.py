"""The fast path: a WSGI layer in front of Django that answers public GET and HEAD requests from
the current publication, held in this process's memory.

A hit costs a dictionary lookup and a list of prebuilt headers: no middleware, no database, no
cache backend, so a dead Redis or database costs visitors nothing. Everything else (the admin,
the subscription forms, a public URL the publication does not hold yet) goes to Django as before.
Query parameters a page does not read are ignored, so `/?cb=<random>` is the published `/`.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import Resolver404, resolve
from django.utils.http import http_date

from statuspage.unavailable import STANDBY_SOURCE_KEY
from website import publishing
from website.caching import canonical_query, public_spec_of
from website.conditional import encoded_etag, etag_for, etag_matches

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_SUFFIX = {"gzip": ".gz", "br": ".br"}
_HASHED_NAME = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")
_IMMUTABLE = "public, max-age=31536000, immutable"
_TEXT_TYPES = {"application/javascript", "image/svg+xml", "application/json"}
_NOT_MODIFIED_HEADERS = {"etag", "cache-control", "vary", "last-modified", "expires"}


class _Answer:
    """One published answer in one encoding: its body and its headers, built once."""

    __slots__ = ("body", "etag", "headers", "not_modified_headers", "status")

    def __init__(self, status: str, body: bytes, headers: list[tuple[str, str]], etag: str):
        self.status = status
        self.body = body
        self.etag = etag
        self.headers = headers
        self.not_modified_headers = [h for h in headers if h[0].lower() in _NOT_MODIFIED_HEADERS]


_STATUS_LINES = {
    200: "200 OK",
    204: "204 No Content",
    304: "304 Not Modified",
    404: "404 Not Found",
}


class Publication:
    """A loaded publication: the manifest, and the answers read from disk as they are asked."""

    def __init__(self, folder: Path, manifest: publishing.Manifest) -> None:
        self.folder = folder
        self.manifest = manifest
        self.last_modified = http_date(manifest.published_at)
        self.answers: dict[tuple[str, str], _Answer | None] = {}
        self.lock = threading.Lock()

    def answer(self, key: str, encoding: str) -> _Answer | None:
        if (key, encoding) in self.answers:  # None too: known to be missing
            return self.answers[(key, encoding)]
        entry = self.manifest.artifacts.get(key)
        answer = None
        if entry is not None and (encoding == "identity" or encoding in entry[4]):
            answer = self._load(entry, encoding)
        with self.lock:
            self.answers[(key, encoding)] = answer
        return answer

    def best_answer(
        self, key: str, accepted: str, load: Callable[[str, str], _Answer | None] | None = None
    ) -> _Answer | None:
        """The answer in the best encoding the client accepts (brotli, gzip, then none)."""
        load = load or self.answer
        answer = None
        if "br" in accepted:
            answer = load(key, "br")
        if answer is None and "gzip" in accepted:
            answer = load(key, "gzip")
        if answer is None:
            answer = load(key, "identity")
        return answer

    def query_key(self, path: str, query_string: str) -> str:
        """The key of a request: its path, with only the query parameters its page reads."""
        params = self.manifest.params.get(path)
        if not query_string or not params:
            return path
        query = {k: v[-1] for k, v in parse_qs(query_string).items()}
        return publishing.request_key(path, canonical_query(query, params))

    def standby_answer(
        self, path: str, query_string: str, accept_encoding: str
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """What answers a GET the application cannot, its database being unreachable: the
        standby copy of a `standby_page` (a sign-up page, a chart), or, for a public page this
        publication does not hold, its 404, since it holds every answer of such a page."""
        key = publishing.STANDBY_PREFIX + self.query_key(path, query_string)
        if key not in self.manifest.artifacts:
            try:
                spec = public_spec_of(resolve(path).func)
            except Resolver404:
                return None
            # The API's documents all end in .json, and its 404 is a JSON document too.
            key = "404.json" if path.endswith(".json") else "404"
            if spec is None or spec.standby or key not in self.manifest.artifacts:
                return None
        answer = self.best_answer(key, accept_encoding)
        if answer is None:
            return None
        return int(answer.status.split()[0]), answer.headers, answer.body

    def static_answer(self, path: str, encoding: str) -> _Answer | None:
        """A static file the publication holds (the pages' stylesheet, script, icon), so a
        first visit costs no request through Django either. Names with a content hash are
        kept by browsers for a year, others for a minute, as WhiteNoise does."""
        if (path, encoding) in self.answers:
            return self.answers[(path, encoding)]
        answer = None
        relative = path.lstrip("/")
        parts = relative.split("/")
        if ".." not in parts and "" not in parts and not relative.endswith((".gz", ".br")):
            answer = self._load_static(relative, encoding)
        with self.lock:
            self.answers[(path, encoding)] = answer
        return answer

    def _load_static(self, relative: str, encoding: str) -> _Answer | None:
        plain = self.folder / relative
        try:
            body = (self.folder / (relative + _SUFFIX.get(encoding, ""))).read_bytes()
            identity = body if encoding == "identity" else plain.read_bytes()
        except OSError:
            return None
        content_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in _TEXT_TYPES:
            content_type += "; charset=utf-8"
        hashed = _HASHED_NAME.search(relative) is not None
        etag = etag_for(identity)
        headers = [
            ("Content-Type", content_type),
            ("Cache-Control", _IMMUTABLE if hashed else "public, max-age=60"),
            ("Access-Control-Allow-Origin", "*"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        if (self.folder / (relative + ".gz")).exists():
            headers.append(("Vary", "Accept-Encoding"))
        if encoding != "identity":
            etag = encoded_etag(etag, encoding)
            headers.append(("Content-Encoding", encoding))
        headers += [("Content-Length", str(len(body))), ("ETag", etag)]
        return _Answer("200 OK", body, headers, etag)

    def _load(self, entry: list[Any], encoding: str) -> _Answer | None:
        file, status, etag, headers_id, _encodings, _fp = entry
        name = file + _SUFFIX.get(encoding, "")
        try:
            body = (self.folder / name).read_bytes()
        except OSError:
            return None
        headers = list(self.manifest.headers[headers_id].items())
        if encoding != "identity":
            etag = encoded_etag(etag, encoding)
            headers.append(("Content-Encoding", encoding))
        headers += [
            ("Content-Length", str(len(body))),
            ("ETag", etag),
            ("Last-Modified", self.last_modified),
        ]
        return _Answer(_STATUS_LINES.get(status, f"{status} Status"), body, headers, etag)


class PublishedSite:
    """Wrap the Django WSGI application with the published site."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.publication: Publication | None = None
        self.checked_at = 0.0
        self.link_target: str | None = None
        self.reload_lock = threading.Lock()
        self.started = False
        self.static_prefix = settings.STATIC_URL

    def current(self) -> Publication | None:
        now = time.monotonic()
        if now - self.checked_at < settings.PUBLISH_RELOAD_MS / 1000:
            return self.publication
        self.checked_at = now
        try:
            target = os.readlink(publishing.root() / publishing.CURRENT)
        except OSError:
            return self.publication
        if target != self.link_target:
            with self.reload_lock:
                if target != self.link_target:
                    self._load(target)
        return self.publication

    def _load(self, target: str) -> None:
        folder = publishing.root() / target
        try:
            manifest = publishing.Manifest.load(folder)
        except (OSError, ValueError):
            logger.warning("could not read publication %s; keeping the previous one", target)
            return
        self.publication = Publication(folder, manifest)
        self.link_target = target

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not self.started:
            self.started = True
            publishing.start_background_publisher()
        method = environ.get("REQUEST_METHOD")
        if method == "GET" or method == "HEAD":
            publication = self.current()
            if publication is not None:
                answered = self._serve(publication, environ, start_response, method)
                if answered is not None:
                    return answered
                # Should the database be away, Django asks it for a standby answer.
                environ[STANDBY_SOURCE_KEY] = publication
        return self.app(environ, start_response)

    def _serve(
        self,
        publication: Publication,
        environ: dict[str, Any],
        start_response: StartResponse,
        method: str,
    ) -> Iterable[bytes] | None:
        path = environ.get("PATH_INFO") or "/"
        manifest = publication.manifest
        query_string = environ.get("QUERY_STRING", "")
        if path == manifest.live_path:
            # The live poll's one parameter names the publication the page shows.
            key = path
            if query_string and parse_qs(query_string).get("v", [""])[-1] == manifest.token:
                if not self._host_allowed(environ):
                    return None
                start_response("204 No Content", [("Cache-Control", "no-cache")])
                return [b""]
        else:
            key = publication.query_key(path, query_string)
        if key in manifest.artifacts:
            load: Callable[[str, str], _Answer | None] = publication.answer
        elif path.startswith(self.static_prefix):
            load = publication.static_answer
        else:
            return None
        if not self._host_allowed(environ):
            return None
        answer = publication.best_answer(key, environ.get("HTTP_ACCEPT_ENCODING", ""), load)
        if answer is None:
            return None
        if etag_matches(environ.get("HTTP_IF_NONE_MATCH"), answer.etag):
            start_response("304 Not Modified", answer.not_modified_headers)
            return [b""]
        start_response(answer.status, answer.headers)
        return [b""] if method == "HEAD" else [answer.body]

    def _host_allowed(self, environ: dict[str, Any]) -> bool:
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        domain, _port = split_domain_port(host)
        allowed = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed:
            allowed = [".localhost", "127.0.0.1", "[::1]"]
        return bool(domain) and validate_host(domain, allowed)
