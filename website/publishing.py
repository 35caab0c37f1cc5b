"""Publishing: every public answer rendered once per change, into a folder that the fast path
(`website.fastpath`) and a plain web server serve.

A publication is a folder under PUBLISH_ROOT named for its token, holding each public page, API
document, feed and badge as a file (with `.gz` and `.br` beside the compressible ones), the
static assets, and `manifest.json` (status, headers and entity tag of each answer). The symlink
`current` names the live one and is swapped atomically, so a reader sees the old publication or
the new one, never half of one; the last few stay on disk for readers still holding them.

One publisher at a time per folder (an exclusive lock on `.lock`): the process that wins renders
while the others keep serving the current publication. A change anywhere moves the wanted
marker; the publisher notices it, and builds again if it moved during a build. Time alone also
moves what a page shows (the day rolls over, an open outage's bar grows), so a publication is
redone once it is PUBLISH_INTERVAL_SECONDS old even when nothing changed.

Each incident's page carries a fingerprint of what it shows; while the rest of the site (its
components, its settings, its code) is unchanged, a new publication links the unchanged pages
from the previous one instead of rendering them again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import gzip
import hashlib
import io
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import brotli
from django.conf import settings
from django.core.cache import cache
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIRequest
from django.db import connections
from django.http import HttpResponse
from django.http.request import split_domain_port, validate_host
from django.template.loader import render_to_string
from django.template.response import SimpleTemplateResponse
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from statuspage.branding import current_page
from statuspage.models import Component, ComponentGroup
from statuspage.version import VERSION_KEY, public_version_moved
from website.caching import (
    COMPRESSIBLE,
    PUBLISHING_META_KEY,
    STAMP_SEPARATOR,
    STANDBY_META_KEY,
    PublicSpec,
    Variant,
    canonical_query,
    public_cache_control,
    public_spec_of,
)
from website.conditional import etag_for

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
STATE = "state.json"
CURRENT = "current"
WANTED = "wanted"
LOCK = ".lock"
TRASH = ".trash-"
# Touched by a worker's (eager) publisher each time it looks: while it is fresh, the web
# processes leave publishing to it.
PUBLISHER = ".publisher"
# Headers that belong to one response on the wire, not to the published answer.
PUBLISH_COMPRESS_MIN_BYTES = 4096
_PER_RESPONSE = {"content-length", "etag", "set-cookie", "content-encoding", "last-modified"}

_building = threading.local()


def building_token() -> str | None:
    """The token of the publication being rendered on this thread, if any."""
    return getattr(_building, "token", None)


def root() -> Path:
    return Path(settings.PUBLISH_ROOT)


# Where an answer lives in the folder


def file_for(path: str, query: dict[str, str]) -> str:
    """The file of an answer, laid out so that a plain web server finds it by its URL.

    `/` is index.html, `/history?page=3` is history/page-3.html, a path whose last part has a
    file extension (`/api/v2/summary.json`, `/badge.svg`) keeps it, and any other path gains
    `.html` (`/incidents/abc` is incidents/abc.html).
    """
    relative = path.strip("/")
    if not relative:
        return "index.html"
    if query:
        suffix = "-".join(f"{name}-{value}" for name, value in sorted(query.items()))
        return f"{relative}/{suffix}.html"
    if "." in relative.rsplit("/", 1)[-1]:
        return relative
    return f"{relative}.html"


def request_key(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


# A standby answer (see website.caching.standby_page) is kept under its request key with this
# prefix, which no path starts with, in a folder of its own, so that nothing serves it by its URL.
STANDBY_PREFIX = "standby:"
STANDBY_FOLDER = "_standby"


def standby_file(path: str, query: dict[str, str]) -> str:
    """The file of a standby answer, in a folder named for its path and with its path's file
    extension (else .html), so a web server finds it and its type when the application is
    away: `/subscriptions/` is _standby/subscriptions/index.html, and the chart
    `/components/x/response-time.svg?range=7d` is
    _standby/components/x/response-time.svg/range-7d.svg.
    """
    relative = path.strip("/")
    last = relative.rsplit("/", 1)[-1]
    extension = last.rsplit(".", 1)[-1] if "." in last else "html"
    name = "-".join(f"{key}-{value}" for key, value in sorted(query.items())) or "index"
    return "/".join(part for part in (STANDBY_FOLDER, relative, f"{name}.{extension}") if part)


# Rendering


@dataclasses.dataclass
class Rendered:
    key: str
    file: str
    status: int
    headers: dict[str, str]
    body: bytes
    fingerprint: str | None


class _Renderer:
    """Renders public URLs through the whole Django stack (middleware included, so the published
    headers are the real ones) without a network round trip."""

    def __init__(self) -> None:
        self.handler = BaseHandler()
        self.handler.load_middleware()
        site = urlsplit(settings.SITE_URL)
        host = site.netloc or "localhost"
        domain, _port = split_domain_port(host)
        allowed = settings.ALLOWED_HOSTS
        if not validate_host(domain, allowed):
            named = [h for h in allowed if h and not h.startswith(".") and h != "*"]
            host = named[0] if named else "localhost"
        self.host = host
        self.scheme = site.scheme or "http"

    def render(self, path: str, query: dict[str, str], *, standby: bool = False) -> HttpResponse:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": urlencode(sorted(query.items())),
            "SERVER_NAME": self.host.split(":")[0],
            "SERVER_PORT": "443" if self.scheme == "https" else "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": self.host,
            "wsgi.url_scheme": self.scheme,
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": io.StringIO(),
            PUBLISHING_META_KEY: "1",
        }
        if standby:
            environ[STANDBY_META_KEY] = "1"
        response = self.handler.get_response(WSGIRequest(environ))
        if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
            response.render()
        if not isinstance(response, HttpResponse):
            raise TypeError(f"{path} answers a streaming response, which cannot be published")
        return response


class QuietPublisherNotFound(logging.Filter):
    """The publisher finds where a history ends by its first 404: not worth a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        meta = getattr(request, "META", None) or {}
        return not (PUBLISHING_META_KEY in meta and getattr(record, "status_code", 0) == 404)


def public_routes() -> Iterator[tuple[str, PublicSpec]]:
    """The URL names of every declared public view, in URLconf order."""

    def walk(patterns: list[Any], namespace: str | None) -> Iterator[tuple[str, PublicSpec]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or namespace
                yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                spec = public_spec_of(pattern.callback)
                if spec is not None:
                    name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                    yield name, spec

    yield from walk(get_resolver().url_patterns, None)


def _global_fingerprint() -> str:
    """What every page shows besides its own subject: the components and groups as an incident
    page names them, the settings and branding that name the page, the code and the static assets.

    A component's status is not part of it (it changes all the time under a flapping check and
    no incident page shows it), nor its updated_at, which that status moves.
    """
    parts: list[object] = [_code_fingerprint()]
    parts.append(
        list(
            Component.objects.order_by("id").values_list(
                "id", "public_id", "name", "group_id", "position", "is_public"
            )
        )
    )
    parts.append(
        list(
            ComponentGroup.objects.order_by("id").values_list("id", "name", "position", "is_public")
        )
    )
    parts += [
        settings.STATUSPAGE_NAME,
        current_page().fingerprint(),
        settings.SITE_URL,
        settings.TIME_ZONE,
        settings.STATUSPAGE_ID,
        settings.PUBLIC_CACHE_MAX_AGE,
        settings.LIVE_UPDATE_SECONDS,
        settings.STATIC_URL,
    ]
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


_code_fp: str | None = None


def _code_fingerprint() -> str:
    global _code_fp
    if _code_fp is None:
        base = Path(settings.BASE_DIR)
        digest = hashlib.blake2b(digest_size=16)
        folders = ("templates", "website", "statuspage", "incidents", "notifications", "checker")
        for folder in (*folders, "static"):
            for path in sorted((base / folder).rglob("*")):
                if path.is_file() and path.suffix in (".py", ".html", ".css", ".js", ".svg"):
                    stat = path.stat()
                    digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode())
        staticfiles = Path(settings.STATIC_ROOT) / "staticfiles.json"
        if staticfiles.exists():
            digest.update(staticfiles.read_bytes())
        _code_fp = digest.hexdigest()
    return _code_fp


# The published folder


@dataclasses.dataclass
class _State:
    """What is often asked of a publication (is it behind? how old is it?), kept beside the
    manifest in a file of a few bytes so that the answer costs no parse of every answer."""

    token: str
    wanted: int
    date: str
    published_at: float
    duration: float
    answers: int


@dataclasses.dataclass
class Manifest:
    token: str
    wanted: int
    date: str
    published_at: float
    duration: float
    global_fingerprint: str
    # key -> [file, status, etag, headers index, encodings, fingerprint]
    artifacts: dict[str, list[Any]]
    headers: list[dict[str, str]]
    # path -> the query parameters its view reads
    params: dict[str, list[str]]
    live_path: str | None

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        data = json.loads((folder / MANIFEST).read_bytes())
        return cls(**data)

    def dump(self, folder: Path) -> None:
        # A shallow dict: asdict() would deep-copy every answer's entry first.
        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        payload = json.dumps(fields, separators=(",", ":")).encode()
        (folder / MANIFEST).write_bytes(payload)
        # What the publishers' frequent "is it behind?" look reads, instead of every answer.
        state = _State(
            token=self.token,
            wanted=self.wanted,
            date=self.date,
            published_at=self.published_at,
            duration=self.duration,
            answers=len(self.artifacts),
        )
        (folder / STATE).write_text(json.dumps(dataclasses.asdict(state)))


def current_folder() -> Path | None:
    link = root() / CURRENT
    try:
        target = os.readlink(link)
    except OSError:
        return None
    return root() / target


def current_manifest() -> Manifest | None:
    folder = current_folder()
    if folder is None:
        return None
    try:
        return Manifest.load(folder)
    except (OSError, ValueError):
        return None


def publication_status() -> dict[str, Any] | None:
    """The live publication: its token, when it was published, how long it took, its age.

    Read from the small state file: /health and /metrics ask on every probe and scrape.
    """
    state = _current_state()
    if state is None:
        return None
    return {
        "token": state.token,
        "published_at": state.published_at,
        "duration_seconds": state.duration,
        "age_seconds": max(0.0, time.time() - state.published_at),
        "answers": state.answers,
    }


def _read_marker(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def wanted_version() -> int:
    """The newest change any process has announced: the marker file, or the shared cache's
    public version when it answers (other hosts write there)."""
    wanted = _read_marker(root() / WANTED)
    try:
        shared = cache.get(VERSION_KEY)
    except Exception:  # noqa: BLE001 - the marker file still counts
        shared = None
    return max(wanted, int(shared or 0))


def _write_marker(version: int) -> None:
    folder = root()
    folder.mkdir(parents=True, exist_ok=True)
    if version <= _read_marker(folder / WANTED):
        return
    temporary = folder / f".{WANTED}.{os.getpid()}.{threading.get_ident()}"
    temporary.write_text(str(version))
    os.replace(temporary, folder / WANTED)


def _current_state() -> _State | None:
    folder = current_folder()
    if folder is None:
        return None
    try:
        return _State(**json.loads((folder / STATE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def needs_publishing(*, grace: float = 0.0) -> bool:
    """Whether the publication is behind: a change it does not show, another day, or its age.

    With `grace`, only once it has been behind for that many seconds (the web processes' check,
    which leaves the work to a worker's publisher while one runs).
    """
    state = _current_state()
    if state is None:
        return True
    now = time.time()
    wanted = wanted_version()
    if wanted > state.wanted and now - wanted / 1e9 >= grace:
        return True
    if state.date != timezone.localdate().isoformat():
        midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        if timezone.now().timestamp() - midnight.timestamp() >= grace:
            return True
    return now - state.published_at >= settings.PUBLISH_INTERVAL_SECONDS + grace


@contextmanager
def _exclusive() -> Iterator[bool]:
    folder = root()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish(*, force: bool = False, grace: float = 0.0) -> Manifest | None:
    """Publish if anything (or time) moved since the current publication; None when another
    process is publishing or nothing needed it. The caller's thread renders.

    With `grace` (a web process standing by), only while no worker's publisher has looked in
    the last `grace` seconds, and one publication at most: rendering in a process that answers
    visitors is the fallback, not the rule.
    """
    if not force and not needs_publishing(grace=grace):
        return None
    if grace > 0 and publisher_seen_within(grace):
        return None
    with _exclusive() as mine:
        if not mine:
            return None
        published = None
        while force or needs_publishing():
            wanted = wanted_version()
            published = _build(wanted)
            force = False
            if grace > 0 or wanted_version() <= wanted:
                break
        return published


def publisher_seen(now: float | None = None) -> None:
    """A worker's publisher says it is there (see PUBLISHER)."""
    path = root() / PUBLISHER
    if not path.exists():
        root().mkdir(parents=True, exist_ok=True)
        path.touch()
    os.utime(path, (now or time.time(),) * 2)


def publisher_seen_within(seconds: float) -> bool:
    try:
        return time.time() - (root() / PUBLISHER).stat().st_mtime < seconds
    except OSError:
        return False


def _compress(body: bytes, content_type: str) -> dict[str, bytes]:
    # Small answers are kept only as they are: every file costs a write per change, and a web
    # server compresses a few kilobytes on the fly for next to nothing.
    if len(body) < PUBLISH_COMPRESS_MIN_BYTES or not content_type.startswith(COMPRESSIBLE):
        return {}
    return {
        "gzip": gzip.compress(body, compresslevel=6, mtime=0),
        "br": brotli.compress(body, quality=settings.PUBLISH_BROTLI_QUALITY),
    }


_ENCODING_SUFFIX = {"gzip": ".gz", "br": ".br"}


class _Builder:
    def __init__(self, folder: Path, previous: Manifest | None, previous_folder: Path | None):
        self.folder = folder
        self.previous = previous
        self.previous_folder = previous_folder
        self.artifacts: dict[str, list[Any]] = {}
        self.headers: list[dict[str, str]] = []
        self.header_index: dict[str, int] = {}
        self.params: dict[str, list[str]] = {}
        self.rendered = 0
        self.reused = 0
        self.restamped = 0
        self.made: set[str] = set()
        self.previous_headers: dict[int, int] = {}

    def _folder_for(self, relative: str) -> str:
        """The absolute name of `relative` in the new folder, its parent made (once)."""
        parent, _, _ = relative.rpartition("/")
        if parent not in self.made:
            os.makedirs(os.path.join(self.folder, parent), exist_ok=True)
            self.made.add(parent)
        return os.path.join(self.folder, relative)

    def _headers_id(self, headers: dict[str, str]) -> int:
        key = json.dumps(headers, sort_keys=True)
        if key not in self.header_index:
            self.header_index[key] = len(self.headers)
            self.headers.append(headers)
        return self.header_index[key]

    def _write(self, relative: str, body: bytes) -> None:
        with open(self._folder_for(relative), "wb") as file:
            file.write(body)

    def _link(self, relative: str) -> bool:
        assert self.previous_folder is not None
        source = os.path.join(self.previous_folder, relative)
        target = self._folder_for(relative)
        try:
            os.link(source, target)
        except FileExistsError:
            pass
        except OSError:
            try:
                shutil.copyfile(source, target)
            except OSError:
                return False
        return True

    def reuse(self, key: str, fingerprint: str) -> bool:
        """Take an answer from the previous publication when it showed the same thing."""
        if self.previous is None or self.previous_folder is None:
            return False
        entry = self.previous.artifacts.get(key)
        if entry is None or entry[5] != fingerprint:
            return False
        file, _status, _etag, headers_id, encodings, _fp = entry
        names = [file] + [file + _ENCODING_SUFFIX[e] for e in encodings]
        if not all(self._link(name) for name in names):
            return False
        entry = list(entry)
        if headers_id not in self.previous_headers:
            self.previous_headers[headers_id] = self._headers_id(self.previous.headers[headers_id])
        entry[3] = self.previous_headers[headers_id]
        self.artifacts[key] = entry
        self.reused += 1
        return True

    def restamp(
        self,
        key: str,
        subject: str,
        fingerprint: str,
        restamp: Callable[[bytes], bytes | None],
    ) -> bool:
        """Bring the previous answer up to date when only its stamp moved (see Variant)."""
        if self.previous is None or self.previous_folder is None:
            return False
        entry = self.previous.artifacts.get(key)
        if entry is None or entry[5] is None:
            return False
        if entry[5].partition(STAMP_SEPARATOR)[0] != subject:
            return False
        file, status, _etag, headers_id, _encodings, _fp = entry
        try:
            body = restamp(Path(self.previous_folder, file).read_bytes())
        except OSError:
            return False
        if body is None:
            return False
        headers = dict(self.previous.headers[headers_id])
        headers.pop("Vary", None)  # add() sets it again if the new body is compressed
        self.add(
            Rendered(
                key=key,
                file=file,
                status=status,
                headers=headers,
                body=body,
                fingerprint=fingerprint,
            )
        )
        self.rendered -= 1
        self.restamped += 1
        return True

    def add(self, item: Rendered) -> None:
        self._write(item.file, item.body)
        content_type = item.headers.get("Content-Type", "")
        encoded = _compress(item.body, content_type)
        for encoding, body in encoded.items():
            self._write(item.file + _ENCODING_SUFFIX[encoding], body)
        headers = {k: v for k, v in item.headers.items() if k.lower() not in _PER_RESPONSE}
        headers.setdefault("Cache-Control", public_cache_control())
        if encoded:
            headers["Vary"] = "Accept-Encoding"
        self.artifacts[item.key] = [
            item.file,
            item.status,
            etag_for(item.body),
            self._headers_id(headers),
            sorted(encoded),
            item.fingerprint,
        ]
        self.rendered += 1


_PLAIN_ARGUMENT = re.compile(r"[A-Za-z0-9_-]{1,64}")


class _Paths:
    """reverse() for thousands of variants of a few routes: each route is reversed once with
    marks in place of its arguments, and a variant's path is that pattern with its values put
    in, when they are plain (letters, digits, - and _, which no quoting changes)."""

    def __init__(self) -> None:
        self.patterns: dict[tuple[str, tuple[str, ...]], str] = {}

    def __call__(self, name: str, kwargs: dict[str, str] | None) -> str:
        if not kwargs:
            return reverse(name)
        if not all(_PLAIN_ARGUMENT.fullmatch(str(value)) for value in kwargs.values()):
            return reverse(name, kwargs=kwargs)
        names = tuple(sorted(kwargs))
        pattern = self.patterns.get((name, names))
        if pattern is None:
            pattern = reverse(name, kwargs={key: f"QQmark{i}QQ" for i, key in enumerate(names)})
            self.patterns[(name, names)] = pattern
        for i, key in enumerate(names):
            pattern = pattern.replace(f"QQmark{i}QQ", str(kwargs[key]))
        return pattern


def _render_routes(builder: _Builder, renderer: _Renderer, same_frame: bool) -> str | None:
    live_path = None
    path_of = _Paths()
    for name, spec in public_routes():
        variants = spec.variants() if spec.variants else [Variant()]
        if spec.documents is not None:
            _add_documents(builder, renderer, name, spec, list(variants), same_frame, path_of)
            continue
        for variant in variants:
            path = path_of(name, variant.kwargs)
            if spec.params:
                builder.params[path] = sorted(spec.params)
            query = canonical_query(variant.query, spec.params)
            key = request_key(path, query)
            file = file_for(path, variant.query)
            if spec.standby:
                key, file = STANDBY_PREFIX + key, standby_file(path, variant.query)
            if name == "live":
                live_path = path
            fingerprint = variant.published_fingerprint
            if same_frame and fingerprint is not None and builder.reuse(key, fingerprint):
                continue
            response = renderer.render(path, variant.query, standby=spec.standby)
            if response.status_code != 200:
                if spec.until_missing:
                    break
                logger.warning("publishing %s answered %s", key, response.status_code)
                continue
            headers = dict(response.items())
            if spec.standby:
                # Shown only while the database is away: nobody may keep it past that.
                headers["Cache-Control"] = "no-store"
            builder.add(
                Rendered(
                    key=key,
                    file=file,
                    status=200,
                    headers=headers,
                    body=response.content,
                    fingerprint=fingerprint,
                )
            )
    return live_path


def _add_documents(
    builder: _Builder,
    renderer: _Renderer,
    name: str,
    spec: PublicSpec,
    variants: list[Variant],
    same_frame: bool,
    path_of: _Paths,
) -> None:
    """Views that build many bodies at once: one render through the stack gives the headers."""
    if not variants or spec.documents is None:
        return
    keys = {id(v): path_of(name, v.kwargs) for v in variants}
    if same_frame:
        restamp: Callable[[bytes], bytes | None] | None = None
        left = []
        for v in variants:
            fingerprint = v.published_fingerprint
            if fingerprint is None:
                left.append(v)
                continue
            if builder.reuse(keys[id(v)], fingerprint):
                continue
            if spec.restamp is not None and v.fingerprint is not None and v.stamp is not None:
                # Only what the stamp says changed: the previous body, brought up to date.
                restamp = restamp or spec.restamp()
                if builder.restamp(keys[id(v)], v.fingerprint, fingerprint, restamp):
                    continue
            left.append(v)
        variants = left
    if not variants:
        return
    sample = renderer.render(keys[id(variants[0])], {})
    headers = dict(sample.items())
    for variant, body in spec.documents(variants):
        path = path_of(name, variant.kwargs)
        builder.add(
            Rendered(
                key=path,
                file=file_for(path, {}),
                status=200,
                headers=headers,
                body=body,
                fingerprint=variant.published_fingerprint,
            )
        )


def _add_history_aliases(builder: _Builder) -> None:
    # Page 1 of a view with parameters also answers with the parameter spelled out
    # (/history?page=1), and lives where a plain server looks for the bare path.
    for path, params in builder.params.items():
        entry = builder.artifacts.get(path)
        if entry is None or len(params) != 1:
            continue
        key = request_key(path, canonical_query({params[0]: "1"}, params))
        builder.artifacts.setdefault(key, entry)


def _add_error_pages(builder: _Builder, renderer: _Renderer) -> None:
    pages = [
        # The site's 404, and the API's own for an API document the publication does not hold
        # (both also answer for a missing page while the database is away: website.fastpath).
        ("404", "404.html", renderer.render("/incidents/-", {})),
        ("404.json", "404.json", renderer.render("/api/v2/incidents/-.json", {})),
    ]
    for key, file, missing in pages:
        headers = {**dict(missing.items()), "Cache-Control": "no-store"}
        builder.add(Rendered(key, file, 404, headers, missing.content, fingerprint=None))
    # What a web server in front shows when the application behind it does not answer.
    unavailable = render_to_string("500.html").encode()
    builder.add(
        Rendered(
            key="503",
            file="503.html",
            status=503,
            headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
            body=unavailable,
            fingerprint=None,
        )
    )


def _link_static(folder: Path) -> None:
    """The public pages' assets, so the folder serves the whole site on its own."""
    static_root = Path(settings.STATIC_ROOT)
    if not static_root.is_dir():
        return
    target_root = folder / settings.STATIC_URL.strip("/")
    for source in static_root.rglob("*"):
        relative = source.relative_to(static_root)
        if relative.parts[0] == "admin" or not source.is_file():
            continue
        target = target_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)


def _build(wanted: int) -> Manifest:
    started = time.time()
    token = f"{time.time_ns():x}"
    previous_folder = current_folder()
    previous = current_manifest()
    building = root() / f".build-{token}"
    building.mkdir(parents=True)
    _building.token = token
    try:
        global_fp = _global_fingerprint()
        same_frame = previous is not None and previous.global_fingerprint == global_fp
        builder = _Builder(building, previous, previous_folder)
        renderer = _Renderer()
        live_path = _render_routes(builder, renderer, same_frame)
        _add_history_aliases(builder)
        _add_error_pages(builder, renderer)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    finally:
        _building.token = None
    if live_path is not None:
        # The page polls /live?v=<token>: a plain server finds this empty file for the
        # current token and the fragment for any other.
        builder._write(f"{live_path.strip('/')}/{token}", b"")
    _link_static(building)
    manifest = Manifest(
        token=token,
        wanted=wanted,
        date=timezone.localdate().isoformat(),
        published_at=time.time(),
        duration=round(time.time() - started, 3),
        global_fingerprint=global_fp,
        artifacts=builder.artifacts,
        headers=builder.headers,
        params=builder.params,
        live_path=live_path,
    )
    manifest.dump(building)
    os.rename(building, root() / token)
    swap = root() / f".{CURRENT}.{token}"
    os.symlink(token, swap)
    os.replace(swap, root() / CURRENT)
    _prune(keep=token)
    logger.info(
        "published %s: %d answers rendered, %d brought up to date, %d reused, %.2f s",
        token,
        builder.rendered,
        builder.restamped,
        builder.reused,
        manifest.duration,
    )
    return manifest


def _prune(*, keep: str) -> None:
    """Keep the newest few publications (readers may still hold them) and drop the rest, with
    any build a crashed publisher left behind.

    Dropping is a rename into the trash, which is instant; deleting the thousands of files of
    a publication takes seconds on a busy disk, so the trash is emptied by a thread of its own
    and the publisher is free for the next change at once.
    """
    folder = root()
    names = sorted(
        (
            p.name
            for p in folder.iterdir()
            if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
        ),
        key=lambda name: int(name, 16) if all(c in "0123456789abcdef" for c in name) else 0,
    )
    for name in names[: -settings.PUBLISH_KEEP]:
        if name != keep:
            _to_trash(folder / name)
    for stale in folder.glob(".build-*"):
        if time.time() - stale.stat().st_mtime > 600:
            _to_trash(stale)
    if settings.PUBLISH_MODE == "thread":
        _trash.empty_soon()
    else:
        empty_trash()


def _to_trash(path: Path) -> None:
    with contextlib.suppress(OSError):  # another publisher moved or deleted it first
        os.rename(path, path.with_name(f"{TRASH}{path.name.lstrip('.')}"))


def empty_trash() -> None:
    """Delete the publications dropped from the folder (another process may be at it too)."""
    for path in root().glob(f"{TRASH}*"):
        shutil.rmtree(path, ignore_errors=True)


class _Trash:
    """Empties the trash on a daemon thread, one at a time per process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending = threading.Event()

    def empty_soon(self) -> None:
        self.pending.set()
        if self.lock.acquire(blocking=False):
            threading.Thread(target=self._run, name="statuspage-trash", daemon=True).start()

    def _run(self) -> None:
        try:
            while self.pending.is_set():
                self.pending.clear()
                empty_trash()
        except Exception:  # noqa: BLE001 - what stays is deleted after the next publication
            logger.exception("could not empty the publications' trash")
        finally:
            self.lock.release()


_trash = _Trash()


# Who publishes, and when


class _Publisher:
    """A daemon thread per process that publishes when a change is announced and whenever the
    publication grows old; the folder's lock makes one of them do it at a time.

    In a worker it is eager: it looks every second and publishes at once. In a web process it
    stands by: it publishes only what has been waiting PUBLISH_FALLBACK_SECONDS, so rendering
    stays out of the processes that answer visitors while a worker is there to do it, and the
    page stays fresh when none is.
    """

    def __init__(self) -> None:
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.eager = False

    def ensure_running(self, *, eager: bool = False) -> None:
        self.eager = self.eager or eager
        if self.thread is not None and self.thread.is_alive():
            return
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._run, name="statuspage-publisher", daemon=True
                )
                self.thread.start()

    def _run(self) -> None:
        while True:
            self.wake.wait(timeout=1.0 if self.eager else settings.PUBLISH_CHECK_SECONDS)
            self.wake.clear()
            try:
                if self.eager:
                    publisher_seen()
                publish(grace=0.0 if self.eager else settings.PUBLISH_FALLBACK_SECONDS)
                if self.eager:
                    publisher_seen()
            except Exception:  # noqa: BLE001 - keep serving the last publication; retry later
                logger.exception("publishing failed; the previous publication stays live")
            finally:
                connections.close_all()


_publisher = _Publisher()


def start_background_publisher(*, eager: bool = False) -> None:
    if settings.PUBLISH_MODE == "thread":
        _publisher.ensure_running(eager=eager)


def request_publish(*, version: int | None = None) -> None:
    """Announce a change: publish now (PUBLISH_MODE=inline) or wake the background publisher."""
    mode = settings.PUBLISH_MODE
    if mode == "off":
        return
    _write_marker(version or time.time_ns())
    if mode == "inline":
        publish()
    else:
        _publisher.ensure_running()
        _publisher.wake.set()


def _on_public_change(sender: object, version: int, **kwargs: object) -> None:
    try:
        request_publish(version=version)
    except Exception:  # noqa: BLE001 - the write has committed; the timer publishes later
        logger.exception("could not announce a public change to the publisher")


def connect_signals() -> None:
    public_version_moved.connect(_on_public_change, dispatch_uid="website.publishing")
