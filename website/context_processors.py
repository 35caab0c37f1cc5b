"""Template context shared by every public page: the page's name and address."""

from django.conf import settings
from django.http import HttpRequest


def page(request: HttpRequest) -> dict[str, str]:
    return {
        "page_name": settings.STATUSPAGE_NAME,
        "site_url": settings.SITE_URL,
        "page_time_zone": settings.TIME_ZONE,
    }
