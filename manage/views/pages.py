"""The page: our one page, as Statuspage's page object."""

from __future__ import annotations

from django.conf import settings

from manage.errors import Invalid
from manage.http import Call, Json
from website.serializers import format_timestamp, page_updated_at

# Page fields Statuspage has and we do not: they come back null.
_UNSUPPORTED = (
    "subdomain", "domain", "branding", "city", "state", "country", "layout",
    "css_body_background_color", "css_font_color", "css_light_font_color", "css_greens",
    "css_yellows", "css_oranges", "css_reds", "css_blues", "css_border_color",
    "css_graph_color", "css_link_color", "css_no_data", "favicon_logo", "transactional_logo",
    "hero_cover", "email_logo", "twitter_logo", "ip_restrictions", "activity_score",
    "twitter_username", "viewers_must_be_team_members", "support_url",
    "notifications_from_email", "notifications_email_footer", "page_description", "headline",
)  # fmt: skip


def page_object() -> Json:
    updated = format_timestamp(page_updated_at())
    return {
        "id": settings.STATUSPAGE_ID,
        "name": settings.STATUSPAGE_NAME,
        "url": settings.SITE_URL,
        "time_zone": settings.TIME_ZONE,
        "created_at": updated,
        "updated_at": updated,
        "allow_page_subscribers": True,
        "allow_incident_subscribers": False,
        "allow_email_subscribers": True,
        "allow_sms_subscribers": False,
        "allow_rss_atom_feeds": True,
        "allow_webhook_subscribers": True,
        "hidden_from_search": False,
    } | dict.fromkeys(_UNSUPPORTED)


def list_pages(call: Call) -> tuple[int, Json]:
    return 200, [page_object()]


def get_page(call: Call) -> tuple[int, Json]:
    return 200, page_object()


def update_page(call: Call) -> tuple[int, Json]:
    call.section("page", required=True)
    raise Invalid("the page's name, address and time zone are set in the server's settings")
