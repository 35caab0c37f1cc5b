"""Branding: the page settings staff edit in the admin, read through
statuspage.branding.current_page(), and what the public pages make of them."""

import pytest
from django.test import override_settings

from statuspage.branding import current_page
from statuspage.models import FooterLink, PageSettings
from statuspage.version import public_version

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
