"""Public site views: they read through statuspage.selectors and render; nothing else."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from statuspage import selectors


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "statuspage/home.html", selectors.home_page_context())


def incident_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    context = selectors.incident_page_context(public_id)
    if context is None:
        raise Http404("No such incident")
    return render(request, "statuspage/incident.html", context)


def history(request: HttpRequest) -> HttpResponse:
    raw_page = request.GET.get("page", "1")
    if not raw_page.isdigit() or int(raw_page) < 1:
        raise Http404("No such page")
    context = selectors.history_page_context(page=int(raw_page))
    if context is None:
        raise Http404("No such page")
    return render(request, "statuspage/history.html", context)
