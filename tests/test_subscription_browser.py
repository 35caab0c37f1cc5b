"""The manage page's component choice in a real browser: the summary follows the boxes, and a
group's "All of ..." box ticks and clears its components and follows them."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from notifications import tokens
from tests.factories import make_component, make_group
from tests.notifications.factories import make_subscriber
from tests.test_browser import ARTIFACTS, browser, open_page  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_summary_follows_the_boxes_and_a_group_box_chooses_the_group(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,
) -> None:
    europe = make_group("Europe")
    for city in ("Paris", "Berlin", "Madrid"):
        make_component(city, group=europe)
    api = make_component("API")
    subscriber = make_subscriber(components=[])
    url = live_server.url + f"/subscriptions/manage/{tokens.manage_token(subscriber)}"

    page, problems = open_page(browser, url)
    summary = page.locator("[data-choice-summary]")
    all_of_europe = page.get_by_label("All of Europe")
    expect(summary).to_have_text("(none chosen: all of them)")

    page.get_by_label("API").check()
    expect(summary).to_have_text("(1 chosen)")

    page.get_by_label("Paris").check()
    expect(summary).to_have_text("(2 chosen)")
    assert all_of_europe.evaluate("box => box.indeterminate") is True
    assert not all_of_europe.is_checked()

    all_of_europe.check()
    for city in ("Paris", "Berlin", "Madrid"):
        expect(page.get_by_label(city)).to_be_checked()
    expect(summary).to_have_text("(4 chosen)")
    assert all_of_europe.evaluate("box => box.indeterminate") is False

    page.get_by_label("Berlin").uncheck()
    expect(all_of_europe).not_to_be_checked()
    expect(summary).to_have_text("(3 chosen)")
    all_of_europe.check()
    page.get_by_label("API").uncheck()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "manage-components.png", full_page=True)

    page.get_by_role("button", name="Save my choice").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.locator("[data-choice-summary]")).to_have_text("(3 chosen)")
    expect(page.get_by_label("All of Europe")).to_be_checked()
    assert {c.name for c in subscriber.components.all()} == {"Paris", "Berlin", "Madrid"}
    assert api not in subscriber.components.all()
    assert problems == []
