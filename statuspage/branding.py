"""The page's branding: `current_page()` is the one way to read the page settings.

It answers the saved row, or an unsaved row of defaults when staff have saved none, and reads
the database once per public version: a save moves the version (see `apps.py`), so every
process reads the new row on its next call, and the process that saved forgets its copy at
once. The name falls back to the STATUSPAGE_NAME setting, the sender to DEFAULT_FROM_EMAIL.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass

from django.conf import settings

from statuspage.models import FooterLink, PageSettings
from statuspage.version import public_version

LOGO_FIELDS = ("transactional_logo", "transactional_logo_dark", "email_logo", "favicon_logo")
# The address the public site serves an uploaded logo under: /branding/<file name>.
LOGO_URL_PREFIX = "/branding/"

# Which custom properties of static/css/statuspage.css each colour sets.
CSS_PROPERTIES: dict[str, tuple[str, ...]] = {
    "css_body_background_color": ("--bg",),
    "css_font_color": ("--text",),
    "css_light_font_color": ("--muted",),
    "css_link_color": ("--link", "--focus"),
    "css_border_color": ("--border",),
    "css_greens": ("--ok", "--bar-ok"),
    "css_yellows": ("--degraded", "--bar-degraded", "--bar-minor"),
    "css_oranges": ("--partial", "--bar-partial"),
    "css_reds": ("--major", "--bar-major"),
    "css_blues": ("--maintenance", "--bar-maintenance"),
    "css_no_data": ("--bar-nodata",),
}

_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_lock = threading.Lock()
_memo: tuple[int, Page] | None = None


@dataclass(frozen=True)
class Page:
    """The page settings as read: the row, its footer links, and what falls back to settings."""

    settings: PageSettings
    footer_links: tuple[FooterLink, ...]

    @property
    def name(self) -> str:
        return self.settings.name or settings.STATUSPAGE_NAME

    @property
    def from_email(self) -> str:
        return self.settings.notifications_from_email or settings.DEFAULT_FROM_EMAIL

    # Which subscription channels visitors may sign up for: a channel is offered when
    # subscriptions are and its own switch is on. Staff (the admin, the API) add any kind.
    @property
    def offers_email(self) -> bool:
        return self.settings.allow_page_subscribers and self.settings.allow_email_subscribers

    @property
    def offers_webhooks(self) -> bool:
        return self.settings.allow_page_subscribers and self.settings.allow_webhook_subscribers

    @property
    def offers_chat(self) -> bool:
        return self.settings.allow_page_subscribers and self.settings.allow_chat_subscribers

    def logo_path(self, field: str) -> str:
        """The site-relative address of an uploaded logo ("" when none): /branding/<file>."""
        file = getattr(self.settings, field)
        if not file:
            return ""
        return LOGO_URL_PREFIX + file.name.rsplit("/", 1)[-1]

    @property
    def logo(self) -> str:
        return self.logo_path("transactional_logo")

    @property
    def logo_dark(self) -> str:
        return self.logo_path("transactional_logo_dark") or self.logo

    @property
    def email_logo(self) -> str:
        """The logo an email shows: the email logo, else the page's logo (site-relative)."""
        return self.logo_path("email_logo") or self.logo

    @property
    def favicon(self) -> str:
        return self.logo_path("favicon_logo")

    def absolute(self, path: str) -> str:
        """An address for outside the site (emails): SITE_URL joined with a site path."""
        return settings.SITE_URL.rstrip("/") + path if path else ""

    def logo_files(self) -> dict[str, str]:
        """Every uploaded logo by its public file name, with its storage name."""
        files = {}
        for field in LOGO_FIELDS:
            file = getattr(self.settings, field)
            if file:
                files[file.name.rsplit("/", 1)[-1]] = file.name
        return files

    def colours(self) -> dict[str, str]:
        """The css_* colours staff set, by field name."""
        return {
            field.name: value
            for field in PageSettings._meta.get_fields()
            if field.name.startswith("css_") and (value := getattr(self.settings, field.name))
        }

    def stylesheet(self) -> str:
        """The page's colours as a stylesheet laid over the built-in one ("" when none is set).

        The colours are for the light theme; a visitor who asked for dark mode keeps the
        built-in dark one, which they were not checked against.
        """
        colours = self.colours()
        lines = [
            f"  {prop}: {colour};"
            for field, colour in colours.items()
            if _HEX.fullmatch(colour)
            for prop in CSS_PROPERTIES.get(field, ())
        ]
        if not lines:
            return ""
        body = "\n".join(lines)
        return f"@media not (prefers-color-scheme: dark) {{\n:root {{\n{body}\n}}\n}}\n"

    def fingerprint(self) -> str:
        """Changes whenever anything a page shows of the branding changes."""
        values = [
            (field.attname, str(getattr(self.settings, field.attname)))
            for field in PageSettings._meta.concrete_fields
            if field.attname not in ("created_at", "updated_at")
        ]
        values.append(("name", self.name))
        values += [(link.label, link.url) for link in self.footer_links]
        return hashlib.blake2b(repr(values).encode(), digest_size=12).hexdigest()


def _read() -> Page:
    row = PageSettings.objects.filter(pk=1).first() or PageSettings(pk=1)
    links = tuple(row.footer_links.all()) if row.pk and not row._state.adding else ()
    return Page(settings=row, footer_links=links)


def current_page() -> Page:
    """The page settings, read once per public version in each process."""
    global _memo
    version = public_version()
    memo = _memo
    if memo is not None and memo[0] == version:
        return memo[1]
    page = _read()
    with _lock:
        _memo = (version, page)
    return page


def forget() -> None:
    """Drop this process's copy (after a save here, before the version moves on commit)."""
    global _memo
    with _lock:
        _memo = None
