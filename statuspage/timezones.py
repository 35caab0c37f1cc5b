"""The time zone staff see and type the admin's dates in: their own, remembered per user.

`AdminTimeZoneMiddleware` activates it (Django's `timezone.activate`) for staff on the admin's
pages, so every date the admin shows is in that zone and every time typed into a form is read
in it; the public pages never depend on who asks and keep the page's TIME_ZONE. The choice is
kept in `StaffPreference` and, for speed, in the session.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import cache

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from statuspage.models import StaffPreference

SESSION_KEY = "statuspage_time_zone"


@cache
def zone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def staff_time_zone(request: HttpRequest) -> str:
    """The zone this staff member chose ("" when they chose none), read once per session."""
    name = request.session.get(SESSION_KEY)
    user_id = request.user.pk
    if user_id is None:
        return ""
    if name is None:
        preference = StaffPreference.objects.filter(user_id=user_id).first()
        name = preference.time_zone if preference is not None else ""
        request.session[SESSION_KEY] = name
    return str(name)


class AdminTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefix = "/" + settings.ADMIN_PATH

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        name = ""
        if request.path.startswith(self.prefix) and user is not None and user.is_staff:
            name = staff_time_zone(request)
        if name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Your time zone",
        required=False,
        help_text="Dates in the admin are shown in it, and times you type are read in it.",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # Form's own signature
        default = f"The page's time zone ({settings.TIME_ZONE})"
        field = self.fields["time_zone"]
        field.choices = [("", default), *((name, name) for name in zone_names())]  # type: ignore[attr-defined]  # a ChoiceField


def time_zone_view(request: HttpRequest) -> HttpResponse:
    """Pick the zone; any staff member may set their own."""
    back = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    if request.method == "POST":
        form = TimeZoneForm(request.POST)
        if form.is_valid():
            name = form.cleaned_data["time_zone"]
            StaffPreference.objects.update_or_create(
                user_id=int(request.user.pk or 0), defaults={"time_zone": name}
            )
            request.session[SESSION_KEY] = name
            messages.success(request, f"Dates are now shown in {name or settings.TIME_ZONE}.")
            return HttpResponseRedirect(back or "../")
    else:
        form = TimeZoneForm(initial={"time_zone": staff_time_zone(request)})
    context = {
        **admin.site.each_context(request),
        "title": "Your time zone",
        "form": form,
        "next": back,
    }
    return TemplateResponse(request, "admin/time_zone.html", context)


def admin_urls() -> list[URLPattern]:
    return [path("time-zone/", admin.site.admin_view(time_zone_view), name="time_zone")]
