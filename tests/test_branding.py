"""Branding: the page settings staff edit in the admin, read through
statuspage.branding.current_page(), and what the public pages make of them."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from statuspage.branding import current_page
from statuspage.contrast import contrast_ratio
from statuspage.models import FooterLink, PageSettings
from statuspage.version import public_version
from tests.factories import make_component, make_incident

pytestmark = pytest.mark.django_db


@override_settings(STATUSPAGE_NAME="Acme Status")
def test_without_saved_settings_the_name_is_the_setting():
    page = current_page()
    assert page.name == "Acme Status"
    assert page.logo == ""
    assert page.footer_links == ()


@override_settings(STATUSPAGE_NAME="Acme Status")
def test_a_saved_name_replaces_the_setting_at_once():
    assert current_page().name == "Acme Status"
    PageSettings.objects.create(name="Acme Cloud")
    assert current_page().name == "Acme Cloud"


def test_there_is_one_row_of_page_settings():
    PageSettings.objects.create(name="First")
    PageSettings(name="Second").save()
    assert list(PageSettings.objects.values_list("pk", "name")) == [(1, "Second")]


def test_saving_the_settings_moves_the_public_version(django_capture_on_commit_callbacks):
    before = public_version()
    with django_capture_on_commit_callbacks(execute=True):
        PageSettings.objects.create(name="Acme")
    assert public_version() != before


def test_a_footer_link_moves_the_public_version(django_capture_on_commit_callbacks):
    # Saved without signals, so that only the link's save can move the version.
    (row,) = PageSettings.objects.bulk_create([PageSettings(pk=1, name="Acme")])
    assert current_page().footer_links == ()
    before = public_version()
    with django_capture_on_commit_callbacks(execute=True):
        FooterLink.objects.create(page=row, label="Terms", url="https://acme.test/terms")
    assert public_version() != before
    assert [link.label for link in current_page().footer_links] == ["Terms"]


# Contrast


def test_contrast_is_measured_as_wcag_does():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_text_colours_too_light_to_read_are_refused():
    row = PageSettings(css_link_color="#7fb2ff", css_greens="#2fcc66", css_font_color="#222222")
    with pytest.raises(ValidationError) as caught:
        row.full_clean()
    errors = caught.value.message_dict
    assert set(errors) == {"css_link_color", "css_greens"}
    assert "needs at least 4.5:1" in errors["css_link_color"][0]
    assert "needs at least 3:1" in errors["css_greens"][0]


def test_colours_are_checked_against_the_background_staff_chose():
    # Fine on the built-in light background, unreadable on a dark one.
    PageSettings(css_font_color="#333333").full_clean()
    with pytest.raises(ValidationError) as caught:
        PageSettings(css_font_color="#333333", css_body_background_color="#202020").full_clean()
    assert "against the background (#202020)" in caught.value.message_dict["css_font_color"][0]


# The admin


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("alice", "alice@example.com"))
    return client


def _form(**changes):
    data = {
        "name": "",
        "headline": "",
        "page_description": "",
        "url": "",
        "support_url": "",
        "notifications_from_email": "",
        "notifications_email_footer": "",
        "allow_page_subscribers": "on",
        "allow_incident_subscribers": "on",
        "allow_email_subscribers": "on",
        "allow_webhook_subscribers": "on",
        "allow_rss_atom_feeds": "on",
        "footer_links-TOTAL_FORMS": "0",
        "footer_links-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_the_page_settings_are_added_once_and_never_deleted(staff):
    assert staff.get(reverse("admin:statuspage_pagesettings_add")).status_code == 200
    PageSettings.objects.create(name="Acme")
    assert staff.get(reverse("admin:statuspage_pagesettings_add")).status_code == 403
    delete = reverse("admin:statuspage_pagesettings_delete", args=[1])
    assert staff.post(delete, {"post": "yes"}).status_code == 403
    assert PageSettings.objects.exists()


def test_staff_brand_the_page_in_the_admin(staff, media):
    response = staff.post(
        reverse("admin:statuspage_pagesettings_add"),
        _form(
            name="Acme Cloud",
            headline="All systems, every day.",
            support_url="https://help.acme.test/",
            css_link_color="#0b5394",
            transactional_logo=SimpleUploadedFile("acme.png", PNG, content_type="image/png"),
            **{
                "footer_links-TOTAL_FORMS": "1",
                "footer_links-0-label": "Privacy",
                "footer_links-0-url": "https://acme.test/privacy",
                "footer_links-0-position": "1",
            },
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    page = current_page()
    assert page.name == "Acme Cloud"
    assert page.logo.startswith("/branding/") and page.logo.endswith(".png")
    assert (media / page.settings.transactional_logo.name).read_bytes() == PNG
    # The admin's own title follows the name.
    assert "Acme Cloud admin" in staff.get(reverse("admin:index")).content.decode()


def test_the_admin_refuses_an_unreadable_colour(staff):
    response = staff.post(
        reverse("admin:statuspage_pagesettings_add"), _form(css_font_color="#cccccc")
    )
    assert response.status_code == 200
    assert "css_font_color" in response.context["adminform"].form.errors
    assert not PageSettings.objects.exists()


# The public pages


def _brand(media) -> PageSettings:
    row = PageSettings(
        name="Acme Cloud",
        headline="All systems, every day.",
        support_url="https://help.acme.test/",
        css_link_color="#0b5394",
        allow_rss_atom_feeds=False,
        allow_page_subscribers=False,
    )
    row.transactional_logo.save("acme.png", ContentFile(PNG), save=False)
    row.save()
    FooterLink.objects.create(page=row, label="Privacy", url="https://acme.test/privacy")
    return row


def test_public_pages_show_the_brand(client, media):
    _brand(media)
    html = client.get("/").content.decode()
    page = current_page()
    assert f'<img class="brand__logo" src="{page.logo}" alt="Acme Cloud">' in html
    assert "<title>Acme Cloud" in html
    assert "All systems, every day." in html
    assert 'href="https://help.acme.test/">Get help</a>' in html
    assert 'href="https://acme.test/privacy">Privacy</a>' in html
    assert 'href="/branding.css"' in html
    # Channels staff turned off are not offered.
    assert "Atom feed" not in html
    assert ">Subscribe</a>" not in html
    assert "Get notified by email" not in html
    css = client.get("/branding.css")
    assert css["Content-Type"].startswith("text/css")
    assert "--link: #0b5394;" in css.content.decode()
    logo = client.get(page.logo)
    assert logo.status_code == 200
    assert logo["Content-Type"] == "image/png"
    assert logo.content == PNG


def test_without_branding_the_page_looks_as_before(client):
    html = client.get("/").content.decode()
    assert "branding.css" not in html
    assert ">Subscribe</a>" in html
    assert "Atom feed" in html
    assert "Get notified by email" in html


def test_a_logo_no_longer_named_is_not_served(client, media):
    row = _brand(media)
    old = current_page().logo
    row.transactional_logo.save("new.png", ContentFile(PNG), save=True)
    assert current_page().logo != old
    assert client.get(old).status_code == 404
    assert client.get(current_page().logo).status_code == 200


@pytest.mark.published
@pytest.mark.django_db(transaction=True)
def test_the_publication_holds_the_brand_and_a_change_republishes(media, settings):
    from website import publishing

    settings.PUBLISH_INTERVAL_SECONDS = 3600
    make_component("API")
    make_incident("Elevated API errors")
    _brand(media)
    folder = publishing.current_folder()
    assert folder is not None
    page = current_page()
    assert (folder / page.logo.lstrip("/")).read_bytes() == PNG
    assert "--link: #0b5394;" in (folder / "branding.css").read_text()
    incident_pages = list((folder / "incidents").glob("*.html"))
    assert incident_pages and "Acme Cloud" in incident_pages[0].read_text()
    # A new name reaches every page, those of unchanged incidents included.
    PageSettings.objects.filter(pk=1).update(name="Acme")
    PageSettings.objects.get().save()
    folder = publishing.current_folder()
    assert folder is not None
    republished = [path.read_text() for path in (folder / "incidents").glob("*.html")]
    assert republished and all("Acme Cloud" not in text and "Acme" in text for text in republished)


def test_a_dark_logo_a_favicon_and_hiding_from_search(client, media):
    row = _brand(media)
    row.transactional_logo_dark.save("dark.svg", ContentFile(b"<svg/>"), save=False)
    row.favicon_logo.save("icon.png", ContentFile(PNG), save=False)
    row.hidden_from_search = True
    row.save()
    page = current_page()
    html = client.get("/").content.decode()
    assert f'<source srcset="{page.logo_dark}" media="(prefers-color-scheme: dark)">' in html
    assert f'<link rel="icon" href="{page.favicon}">' in html
    assert '<meta name="robots" content="noindex">' in html
    dark = client.get(page.logo_dark)
    assert dark["Content-Type"] == "image/svg+xml"
    assert "sandbox" in dark["Content-Security-Policy"]
