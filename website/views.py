"""Public site views: they read through website.selectors and render; nothing else."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from website import selectors, variants
from website.caching import live_token, public_page

_PAGE_NUMBER = re.compile(r"[0-9]{1,6}")


@public_page()
def home(request: HttpRequest) -> HttpResponse:
    # The token is taken before the reads, so a change made meanwhile is fetched next time.
    token = live_token()
    context = selectors.home_page_context()
    context.update(live_token=token, live_interval=settings.LIVE_UPDATE_SECONDS)
    return render(request, "statuspage/home.html", context)


@public_page(params=("v",))
def live(request: HttpRequest) -> HttpResponse:
    """What the home page polls: 204 while nothing changed since the version it shows,
    otherwise its sections, to swap in place."""
    token = live_token()
    if request.GET.get("v") == token:
        return HttpResponse(status=204)
    context = selectors.home_page_context()
    context.update(live_token=token, live_interval=settings.LIVE_UPDATE_SECONDS)
    return render(request, "statuspage/live.html", context)


@public_page(variants=variants.public_incident_pages)
def incident_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    context = selectors.incident_page_context(public_id)
    if context is None:
        raise Http404("No such incident")
    return render(request, "statuspage/incident.html", context)


@public_page(variants=variants.public_components)
def component_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    context = selectors.component_page_context(public_id)
    if context is None:
        raise Http404("No such component")
    return render(request, "statuspage/component.html", context)


@public_page(params=("page",), variants=variants.history_pages, until_missing=True)
def history(request: HttpRequest) -> HttpResponse:
    raw_page = request.GET.get("page", "1")
    # ASCII digits only, and few of them: str.isdigit() also takes other scripts' digits, and a
    # number of thousands of digits is refused by int() itself.
    if not _PAGE_NUMBER.fullmatch(raw_page) or int(raw_page) < 1:
        raise Http404("No such page")
    context = selectors.history_page_context(page=int(raw_page))
    if context is None:
        raise Http404("No such page")
    return render(request, "statuspage/history.html", context)
