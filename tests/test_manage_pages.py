"""The page object through the Manage API: PATCH and PUT write the page settings, over real HTTP."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User

from statuspage.models import PageSettings
from tests.manage_api import ManageClient, key_for, user_with

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(live_server, db) -> ManageClient:
    return ManageClient(live_server.url, key_for(User.objects.create_superuser("brand")))


def page_path() -> str:
    return f"pages/{settings.STATUSPAGE_ID}"


def test_patch_writes_the_page_settings_and_get_answers_them(api, live_server):
    answer = api.patch(
        page_path(),
        json={
            "page": {
                "name": "Acme Cloud",
                "url": "https://acme.example",
                "headline": "Everything Acme runs",
                "page_description": "The status of **Acme**'s services.",
                "support_url": "https://acme.example/help",
                "allow_email_subscribers": False,
                "allow_rss_atom_feeds": False,
                "hidden_from_search": True,
                "notifications_from_email": "status@acme.example",
                "css_link_color": "#0b5394",
                "css_greens": "#1a7f37",
            }
        },
    )
    assert answer.status_code == 200, answer.text
    written = answer.json()
    assert written["name"] == "Acme Cloud"
    assert written["url"] == "https://acme.example"
    assert written["allow_email_subscribers"] is False
    assert written["css_link_color"] == "#0b5394"
    assert written["css_reds"] is None  # not set: the built-in colour
    read = api.get(page_path()).json()
    assert read == written
    assert api.get("pages").json() == [written]
    row = PageSettings.objects.get()
    assert (row.name, row.headline, row.support_url) == (
        "Acme Cloud",
        "Everything Acme runs",
        "https://acme.example/help",
    )
    assert (row.allow_email_subscribers, row.allow_rss_atom_feeds) == (False, False)
    assert row.notifications_from_email == "status@acme.example"
    # The public API names the page from the same row.
    summary = api.http.get(f"{live_server.url}/api/v2/summary.json").json()
    assert summary["page"]["name"] == "Acme Cloud"
    [entry] = LogEntry.objects.filter(object_id="1", content_type__model="pagesettings")
    assert "Through the API" in entry.get_change_message()


def test_put_with_a_form_body_changes_only_the_fields_it_names(api):
    api.patch(page_path(), json={"page": {"headline": "Kept", "css_greens": "#1a7f37"}})
    answer = api.put(
        page_path(),
        content="page[name]=Form+Co&page[allow_page_subscribers]=false&page[css_greens]=",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["name"] == "Form Co"
    assert page["allow_page_subscribers"] is False
    assert page["headline"] == "Kept"
    assert page["css_greens"] is None  # emptied: back to the built-in colour


def test_a_colour_below_contrast_gets_422_with_the_models_message_and_nothing_is_saved(api):
    answer = api.patch(
        page_path(),
        json={"page": {"name": "Pale", "css_font_color": "#dddddd"}},
    )
    assert answer.status_code == 422
    [message] = answer.json()["error"]
    assert message.startswith("css_font_color #dddddd against the background")
    assert "needs at least 4.5:1" in message
    assert not PageSettings.objects.exists()
    assert api.get(page_path()).json()["name"] == settings.STATUSPAGE_NAME


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"css_reds": "red"}, "css_reds Type a colour as # and six hexadecimal digits"),
        ({"url": "not an address"}, "url Enter a valid URL."),
        ({"allow_email_subscribers": "maybe"}, "allow_email_subscribers must be true or false"),
        ({"headline": ["a", "list"]}, "headline must be a string"),
        ({"time_zone": "Pacific/Auckland"}, "time_zone is set by the server's TIME_ZONE"),
    ],
)
def test_a_bad_field_gets_422(api, body, message):
    answer = api.patch(page_path(), json={"page": {"name": "Changed", **body}})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"][0].startswith(message)
    assert not PageSettings.objects.exists()


def test_fields_we_do_not_support_come_back_null_and_are_ignored_in_writes(api):
    answer = api.patch(
        page_path(),
        json={
            "page": {
                "name": "Acme",
                "subdomain": "acme",
                "domain": "status.acme.example",
                "city": "Lyon",
                "allow_sms_subscribers": True,
                "time_zone": settings.TIME_ZONE,
            }
        },
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["name"] == "Acme"
    assert page["subdomain"] is None and page["domain"] is None and page["city"] is None
    assert page["allow_sms_subscribers"] is False
    assert page["hero_cover"] is None
    assert page["transactional_logo"] is None  # no logo uploaded
    assert page["time_zone"] == settings.TIME_ZONE


def test_a_key_without_the_page_settings_permission_gets_403(live_server, db):
    reader = ManageClient(
        live_server.url, key_for(user_with("statuspage.view_component", username="reader"))
    )
    assert reader.get(page_path()).status_code == 200
    answer = reader.patch(page_path(), json={"page": {"name": "Mine"}})
    assert answer.status_code == 403
    assert not PageSettings.objects.exists()
