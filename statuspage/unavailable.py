"""A request that needs the database while the database cannot be reached gets a 503 with
Retry-After, not a 500: it is the service that is away, not the page that is broken.

Published pages never get here (the fast path answers them without the database); this covers
the rest: the subscription forms, a public URL not published yet, the admin, the charts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

# Errors of reaching the database, not of a statement: a broken connection, a server that is
# gone, a file that is not (or no longer) a database. Integrity and programming errors are
# bugs and stay 500s.
_UNAVAILABLE = (OperationalError, InterfaceError, DatabaseError)
RETRY_AFTER_SECONDS = 30


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if type(exception) not in _UNAVAILABLE:
            return None
        logger.error("database unavailable while answering %s: %s", request.path, exception)
        response = HttpResponse(render_to_string("500.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
