"""The page: our one page, as Statuspage's page object, read from and written to the page
settings (`statuspage.branding.current_page()`, `statuspage.services.page_settings_update`).

The id, the address and the time zone come from the server's settings; the logos are uploads
made in the admin (answered as their addresses). Fields Statuspage has and we do not come back
null, and a write may send them: they are ignored, as the spec asks for SMS and Twitter.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from manage import fields
from manage.errors import Invalid
from manage.http import Call, Json
from statuspage.branding import Page, current_page
from statuspage.models import PageSettings
from statuspage.services import page_settings_update
from website.serializers import format_timestamp, page_updated_at

# Page fields Statuspage has and we do not: they come back null.
_UNSUPPORTED = (
    "subdomain", "domain", "branding", "city", "state", "country", "layout", "hero_cover",
    "twitter_logo", "ip_restrictions", "activity_score", "twitter_username",
    "viewers_must_be_team_members",
)  # fmt: skip
_TEXT = ("headline", "page_description", "support_url", "notifications_email_footer")
_SWITCHES = (
    "hidden_from_search", "allow_page_subscribers", "allow_incident_subscribers",
    "allow_email_subscribers", "allow_webhook_subscribers", "allow_rss_atom_feeds",
)  # fmt: skip
_COLOURS = (
    "css_body_background_color", "css_font_color", "css_light_font_color", "css_link_color",
    "css_border_color", "css_greens", "css_yellows", "css_oranges", "css_reds", "css_blues",
    "css_graph_color", "css_no_data",
)  # fmt: skip
_LOGOS = ("favicon_logo", "transactional_logo", "email_logo")
_MESSAGES = ("page_description", "notifications_email_footer")  # kept as typed, spaces and all


def page_object(page: Page) -> Json:
    row = page.settings
    saved = not row._state.adding
    updated = format_timestamp(row.updated_at if saved else page_updated_at())
    answer: dict[str, Any] = {
        "id": settings.STATUSPAGE_ID,
        "name": page.name,
        "url": row.url or settings.SITE_URL,
        "time_zone": settings.TIME_ZONE,
        "created_at": format_timestamp(row.created_at) if saved else updated,
        "updated_at": updated,
        "allow_sms_subscribers": False,
        "notifications_from_email": page.from_email,
    }
    answer |= {name: getattr(row, name) for name in _TEXT + _SWITCHES}
    answer |= {name: getattr(row, name) or None for name in _COLOURS}
    answer |= {name: page.absolute(page.logo_path(name)) or None for name in _LOGOS}
    return answer | dict.fromkeys(_UNSUPPORTED)


def list_pages(call: Call) -> tuple[int, Json]:
    return 200, [page_object(current_page())]


def get_page(call: Call) -> tuple[int, Json]:
    return 200, page_object(current_page())


def _changes(data: dict[str, Any]) -> dict[str, str | bool]:
    """What the body changes, each field read and checked for its type."""
    zone = fields.text(data, "time_zone")
    if zone is not None and zone.strip() and zone.strip() != settings.TIME_ZONE:
        raise Invalid(f"time_zone is set by the server's TIME_ZONE setting ({settings.TIME_ZONE})")
    changes: dict[str, str | bool] = {}
    for name in ("name", "url", "notifications_from_email", *_TEXT, *_COLOURS):
        value = fields.text(data, name)
        if value is not None:
            changes[name] = value if name in _MESSAGES else value.strip()
    for name in _SWITCHES:
        flag = fields.boolean(data, name)
        if flag is not None:
            changes[name] = flag
    return changes


def update_page(call: Call) -> tuple[int, Json]:
    changes = _changes(call.section("page", required=True))
    if not changes:
        return 200, page_object(current_page())
    row: PageSettings = page_settings_update(changes=changes)
    call.record(row, f"Changed {', '.join(changes)}.")
    # The answer is built from the saved row: the shared copy is read again once this commits.
    return 200, page_object(Page(settings=row, footer_links=tuple(row.footer_links.all())))
