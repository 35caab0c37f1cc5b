"""A request that needs the database while the database cannot be reached gets the last good
answer the publication holds for it, or else a 503 with Retry-After, never a 500: it is the
service that is away, not the page that is broken.

Published pages never get here (the fast path answers them without the database). For the rest,
the fast path hands the request its publication (under STANDBY_SOURCE_KEY in the WSGI environ),
which knows two more answers: the standby copy of a sign-up page or a chart, and, for a public
page it does not hold (an incident it never listed, a history page past the end), its 404. What
is left (the admin, a POST, anything before the first publication) gets the 503.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

# Errors of reaching the database, not of a statement: a broken connection, a server that is
# gone, a file that is not (or no longer) a database. Integrity and programming errors are
# bugs and stay 500s.
_UNAVAILABLE = (OperationalError, InterfaceError, DatabaseError)
RETRY_AFTER_SECONDS = 30
STANDBY_SOURCE_KEY = "statuspage.standby_source"


class StandbySource(Protocol):
    def standby_answer(
        self, path: str, query_string: str, accept_encoding: str
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """The status, headers and body that stand in for this GET, or None."""


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if type(exception) not in _UNAVAILABLE:
            return None
        logger.error("database unavailable while answering %s: %s", request.path, exception)
        standby = _standby(request)
        if standby is not None:
            return standby
        response = HttpResponse(render_to_string("500.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response


def _standby(request: HttpRequest) -> HttpResponse | None:
    source: StandbySource | None = request.META.get(STANDBY_SOURCE_KEY)
    if source is None or request.method not in ("GET", "HEAD"):
        return None
    found = source.standby_answer(
        request.path_info,
        request.META.get("QUERY_STRING", ""),
        request.META.get("HTTP_ACCEPT_ENCODING", ""),
    )
    if found is None:
        return None
    status, headers, body = found
    response = HttpResponse(b"" if request.method == "HEAD" else body, status=status)
    for name, value in headers:
        response[name] = value
    return response
