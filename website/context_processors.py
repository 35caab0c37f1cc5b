"""Template context shared by every public page: the page's name, address and branding."""

from django.conf import settings
from django.http import HttpRequest

from statuspage.branding import Page, current_page


def page(request: HttpRequest) -> dict[str, str | Page]:
    branding = current_page()
    return {
        "page_name": branding.name,
        "branding": branding,
        "site_url": settings.SITE_URL,
        "page_time_zone": settings.TIME_ZONE,
    }
