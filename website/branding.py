"""The page's branding as public answers: its stylesheet of colours and its uploaded logos.

Both are public pages (`website.caching.public_page`), so the publication holds them and a
plain web server in front of it serves them like any page: /branding.css and
/branding/<file name> for each logo staff uploaded (statuspage.branding names them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse

from statuspage.branding import current_page
from website.caching import Variant, public_page

CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "svg": "image/svg+xml",
    "ico": "image/x-icon",
}


@public_page()
def stylesheet(request: HttpRequest) -> HttpResponse:
    """The colours staff chose, laid over the built-in theme (empty when none is set)."""
    return HttpResponse(current_page().stylesheet(), content_type="text/css; charset=utf-8")


def logo_variants() -> Iterator[Variant]:
    # A logo's file name is new on every upload, so the name is what it shows.
    for name in current_page().logo_files():
        yield Variant(kwargs={"name": name}, fingerprint=name)


@public_page(variants=logo_variants)
def logo(request: HttpRequest, name: str) -> HttpResponse:
    """An uploaded logo, only while the page settings name it."""
    stored = current_page().logo_files().get(name)
    if stored is None:
        raise Http404("No such logo")
    path = Path(settings.MEDIA_ROOT) / stored
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        raise Http404("The logo's file is missing") from None
    extension = name.rsplit(".", 1)[-1].lower()
    response = HttpResponse(body, content_type=CONTENT_TYPES.get(extension, "image/png"))
    # An SVG opened on its own runs no script and loads nothing.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response
