"""The Content-Security-Policy header of every HTML answer.

Django 5.2 has no policy of its own, and one header with two fixed policies needs no package:
the public pages load only our own scripts and stylesheets and run nothing inline, so their
policy allows nothing else; the admin's widgets and the email preview set inline styles, so
the admin's policy allows those too, and nothing more.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

HEADER = "Content-Security-Policy"


def policy_for(request: HttpRequest, response: HttpResponseBase) -> str | None:
    """The policy an answer gets: none for what is not HTML or already carries one."""
    if HEADER in response or not response.get("Content-Type", "").startswith("text/html"):
        return None
    if settings.DEBUG and response.status_code >= 400:
        # Django's debug error pages are styled and scripted inline.
        return None
    match = getattr(request, "resolver_match", None)
    if match is not None and "admin" in match.namespaces:
        return settings.CONTENT_SECURITY_POLICY_ADMIN
    return settings.CONTENT_SECURITY_POLICY


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        policy = policy_for(request, response)
        if policy is not None:
            response[HEADER] = policy
        return response
