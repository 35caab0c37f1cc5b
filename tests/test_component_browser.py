"""A component's page in a real browser: the response-time chart fills the width of its card, on
a laptop and on a phone. Screenshots go to artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, ViewportSize
from pytest_django.live_server_helper import LiveServer

from checker.models import CheckResult, Level, RollupPeriod
from checker.rollups import roll_up
from tests.checker.factories import make_check
from tests.factories import make_component
from tests.test_browser import ARTIFACTS, box, browser, open_page  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}

# The card's width inside its padding, where the chart should sit edge to edge.
CONTENT_WIDTH = """el => {
  const style = getComputedStyle(el);
  return el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
}"""


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_response_time_chart_fills_its_card(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,
    viewport: ViewportSize,
) -> None:
    component = make_component("API")
    check = make_check(component)
    # Three past hours measured and rolled up, as the checker's hourly rollup leaves them.
    for hours_ago in (3, 2, 1):
        start = (timezone.now() - dt.timedelta(hours=hours_ago)).replace(
            minute=0, second=0, microsecond=0
        )
        CheckResult.objects.bulk_create(
            CheckResult(
                owner=check, at=start + dt.timedelta(minutes=n), level=Level.UP, latency_ms=ms
            )
            for n, ms in enumerate([80, 95, 120, 240])
        )
        roll_up(RollupPeriod.HOUR, start)

    page, problems = open_page(
        browser, f"{live_server.url}/components/{component.public_id}", viewport=viewport
    )
    chart = page.locator("img.chart")
    chart.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('img.chart').complete")
    card = page.locator("section.card:has(img.chart)")
    inner = card.evaluate(CONTENT_WIDTH)
    drawn = box(chart)
    assert abs(drawn["width"] - inner) <= 1, (drawn, inner)
    # Drawn at the image's own proportions, not stretched.
    ratio = chart.evaluate("img => img.naturalHeight / img.naturalWidth")
    assert abs(drawn["height"] - drawn["width"] * ratio) <= 1, (drawn, ratio)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"component-chart-{viewport['width']}.png", full_page=True)
    assert problems == []
