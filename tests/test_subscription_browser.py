"""The manage page's component choice in a real browser: the summary follows the boxes, and a
group's "All of ..." box ticks and clears its components and follows them."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route, expect
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


def test_a_sign_up_the_site_cannot_take_or_that_never_arrives_says_so(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,
) -> None:
    make_component("API")
    page, problems = open_page(browser, live_server.url + "/")
    form = page.locator("#subscribe-form")
    posted: list[str] = []

    # The site answers as it does while its database is away (the server side of that 503 is
    # tested in tests/test_published_site.py); htmx swaps nothing for it.
    def unavailable(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        posted.append(route.request.post_data or "")
        route.fulfill(status=503, headers={"Retry-After": "30"}, body="")

    page.route("**/subscriptions/", unavailable)
    form.get_by_label("Email address").fill("someone@example.com")
    form.get_by_role("button", name="Subscribe").click()
    alert = form.get_by_role("alert")
    expect(alert).to_have_text(
        "We cannot take sign-ups for a few minutes, so nothing was recorded. "
        "Please try again shortly."
    )
    assert posted and "someone%40example.com" in posted[0]
    # The address is still there to send again.
    expect(form.get_by_label("Email address")).to_have_value("someone@example.com")

    page.unroute("**/subscriptions/")
    page.route("**/subscriptions/", lambda route: route.abort("connectionrefused"))
    form.get_by_role("button", name="Subscribe").click()
    expect(alert).to_have_text(
        "Your request did not reach us. Check your connection and try again."
    )
    # htmx logs both failures to the console itself; nothing else went wrong.
    unexpected = [p for p in problems if "/subscriptions/" not in p and not p.startswith("htmx:")]
    assert unexpected == [], problems
