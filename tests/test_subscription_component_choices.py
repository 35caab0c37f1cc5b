"""Choosing components on the subscription pages without JavaScript: the summary says how many
are chosen, and a group's "All of ..." box chooses every public component of the group."""

from __future__ import annotations

import pytest
from django.test import Client

from notifications import tokens
from notifications.models import Subscriber
from tests.factories import make_component, make_group
from tests.notifications.factories import make_subscriber

pytestmark = pytest.mark.django_db

ALL_OF_THEM = "(none chosen: all of them)"


def test_the_manage_page_says_how_many_components_are_chosen(client: Client) -> None:
    api, web = make_component("API"), make_component("Web")
    subscriber = make_subscriber(components=[])
    url = f"/subscriptions/manage/{tokens.manage_token(subscriber)}"
    assert ALL_OF_THEM in client.get(url).content.decode()

    saved = client.post(url, {"action": "save", "components": [api.public_id, web.public_id]})

    page = saved.content.decode()
    assert "(2 chosen)" in page and ALL_OF_THEM not in page
    assert "(2 chosen)" in client.get(url).content.decode()


def test_ticking_a_groups_box_chooses_its_public_components(client: Client) -> None:
    europe = make_group("Europe")
    paris = make_component("Paris", group=europe)
    berlin = make_component("Berlin", group=europe)
    make_component("Hidden lab", group=europe, is_public=False)
    api = make_component("API")
    subscriber = make_subscriber(components=[api])
    url = f"/subscriptions/manage/{tokens.manage_token(subscriber)}"
    page = client.get(url).content.decode()
    assert f'name="groups" value="{europe.public_id}"' in page
    assert "All of Europe" in page

    saved = client.post(url, {"action": "save", "groups": [europe.public_id]}).content.decode()

    assert set(subscriber.components.all()) == {paris, berlin}
    assert f'value="{europe.public_id}" data-select-all checked' in saved
    assert f'value="{paris.public_id}" checked' in saved
    assert "(2 chosen)" in saved


def test_a_group_chosen_on_the_subscribe_form_counts_once_confirmed(client: Client) -> None:
    europe = make_group("Europe")
    paris = make_component("Paris", group=europe)
    berlin = make_component("Berlin", group=europe)

    client.post(
        "/subscriptions/",
        {"email": "ada@example.com", "groups": [europe.public_id], "components": [paris.public_id]},
    )

    subscriber = Subscriber.objects.get(email="ada@example.com")
    assert set(subscriber.components.all()) == {paris, berlin}


def test_a_refused_form_shows_the_group_it_was_sent_with_still_chosen(client: Client) -> None:
    europe = make_group("Europe")
    paris = make_component("Paris", group=europe)
    make_component("Berlin", group=europe)

    page = client.post(
        "/subscriptions/", {"email": "not an address", "groups": [europe.public_id]}
    ).content.decode()

    assert f'value="{paris.public_id}" checked' in page
    assert f'value="{europe.public_id}" data-select-all checked' in page
    assert not Subscriber.objects.exists()
