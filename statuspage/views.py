"""Public site views (placeholders until the public pages are built)."""

from django.http import HttpRequest, HttpResponse


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("status")


def incident_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    return HttpResponse(public_id)


def history(request: HttpRequest) -> HttpResponse:
    return HttpResponse("history")
