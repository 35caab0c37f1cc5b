"""Status badges: shields-style flat SVGs of the page's overall status or of one component.

/badge.svg says "status | All Systems Operational"; /badge/<component id>.svg says
"<component name> | Operational". Every text is XML-escaped; hidden and unknown components
answer 404 like anything that does not exist.
"""

from __future__ import annotations

import unicodedata

from django.http import HttpRequest, HttpResponse
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt

from statuspage.models import Component, ComponentStatus
from website import variants
from website.api import SAFE_METHODS, conditional_response, method_not_allowed
from website.caching import public_page
from website.serializers import current_page_status

SVG_CONTENT_TYPE = "image/svg+xml; charset=utf-8"
# An SVG opened on its own must run nothing, whatever a name contains.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"

LABEL_COLOUR = "#555"
GREEN, BLUE, YELLOW, ORANGE, RED = "#4c1", "#007ec6", "#dfb317", "#fe7d37", "#e05d44"

INDICATOR_COLOURS = {
    "none": GREEN,
    "maintenance": BLUE,
    "minor": YELLOW,
    "major": ORANGE,
    "critical": RED,
}
COMPONENT_STATUS_COLOURS: dict[str, str] = {
    ComponentStatus.OPERATIONAL: GREEN,
    ComponentStatus.UNDER_MAINTENANCE: BLUE,
    ComponentStatus.DEGRADED_PERFORMANCE: YELLOW,
    ComponentStatus.PARTIAL_OUTAGE: ORANGE,
    ComponentStatus.MAJOR_OUTAGE: RED,
}

# Approximate advance widths of Verdana at 11px, the badge font, so the text fits its box.
_NARROW = set("fijlrt.,:;'!|()[]{} ")
_WIDE = set("mwMW@%")
_HORIZONTAL_PADDING = 10


def _char_width(char: str) -> float:
    if char in _NARROW:
        return 3.9
    if char in _WIDE:
        return 10.5
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 11.0
    if unicodedata.combining(char):
        return 0.0
    if char.isupper():
        return 7.6
    if char.isdigit():
        return 7.0
    return 6.6


def text_width(text: str) -> int:
    return round(sum(_char_width(c) for c in text))


def _shadowed_text(escaped: str, x: float) -> str:
    """Centred text over a faint shadow one pixel lower; the shadow is hidden from readers."""
    return (
        f'<text aria-hidden="true" x="{x}" y="15" fill="#010101" fill-opacity=".3">{escaped}</text>'
        f'<text x="{x}" y="14">{escaped}</text>'
    )


def render_badge(*, label: str, message: str, colour: str) -> str:
    """A flat two-part badge: `label` on grey, `message` on `colour`."""
    label_width = text_width(label) + _HORIZONTAL_PADDING
    message_width = text_width(message) + _HORIZONTAL_PADDING
    width = label_width + message_width
    title = escape(f"{label}: {message}")
    label, message = escape(label), escape(message)
    label_x, message_x = label_width / 2, label_width + message_width / 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        '<g clip-path="url(#r)">'
        f'<rect width="{label_width}" height="20" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{label_width}" width="{message_width}" height="20" fill="{colour}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'text-rendering="geometricPrecision" font-size="11">'
        f"{_shadowed_text(label, label_x)}{_shadowed_text(message, message_x)}"
        "</g></svg>"
    )


def _svg_response(request: HttpRequest, svg: str, *, status: int = 200) -> HttpResponse:
    response = conditional_response(
        request,
        svg.encode(),
        content_type=SVG_CONTENT_TYPE,
        status=status,
    )
    response["Content-Security-Policy"] = SVG_CSP
    return response


@public_page()
@csrf_exempt
def page_badge(request: HttpRequest) -> HttpResponse:
    if request.method not in SAFE_METHODS:
        return method_not_allowed(request)
    status = current_page_status()
    svg = render_badge(
        label="status", message=status.description, colour=INDICATOR_COLOURS[status.indicator]
    )
    return _svg_response(request, svg)


@public_page(variants=variants.public_component_badges)
@csrf_exempt
def component_badge(request: HttpRequest, public_id: str) -> HttpResponse:
    if request.method not in SAFE_METHODS:
        return method_not_allowed(request)
    component = Component.objects.public().filter(public_id=public_id).first()
    if component is None:
        return conditional_response(
            request, b"Not found", content_type="text/plain; charset=utf-8", status=404
        )
    svg = render_badge(
        label=component.name,
        message=ComponentStatus(component.status).label,
        colour=COMPONENT_STATUS_COLOURS[component.status],
    )
    return _svg_response(request, svg)
