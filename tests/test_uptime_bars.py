"""The 90-day uptime bars on the home page: each day's colour, its popover and the uptime %."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from incidents import services as incident_services
from statuspage.services import component_set_status
from tests.factories import make_component

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
# The 90-day window runs from midnight on April 2 to now.
WINDOW_SECONDS = (NOW - dt.datetime(2025, 4, 2, tzinfo=UTC)).total_seconds()

# A day with incidents carries its popover; a day without any is compact, its text in title.
# An operational day has no level class.
_DAY = re.compile(
    r'<li(?: class="level-(?P<level>\w+)")? tabindex="0"><div class="day__tip">'
    r'<time class="day__date" datetime="(?P<date>[\d-]+)">[^<]*</time> '
    r'<span class="day__summary">(?P<summary>[^<]*)</span>(?P<rest>.*?)</div></li>'
    r'|<li(?: class="level-(?P<plain_level>\w+)")? tabindex="0" '
    r'title="(?P<plain_label>[^"·]*) · (?P<plain_summary>[^"]*)"></li>'
)


class Day(dict):
    """One parsed day, whichever form it was printed in."""


def _day(match: re.Match, date: dt.date) -> Day:
    """A day, dated by its place in the bar: its own date, printed or in its title, must agree."""
    if match["date"]:
        assert match["date"] == date.isoformat()
        return Day(level=match["level"] or "operational", date=match["date"],
                   summary=match["summary"], rest=match["rest"])  # fmt: skip
    assert match["plain_label"] == f"{date:%b} {date.day}, {date.year}"
    return Day(level=match["plain_level"] or "operational", date=date.isoformat(),
               summary=match["plain_summary"], rest="")  # fmt: skip


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=UTC)


def component_section(html: str, component) -> str:
    start = html.index(f'id="component-{component.public_id}"')
    return html[start : html.index("</li>\n", html.index('class="uptime__legend"', start))]


def days_of(html: str, component) -> dict[str, Day]:
    section = component_section(html, component)
    found = re.search(r'<ol class="uptime__days" data-first="([\d-]+)"', section)
    assert found, "the bar names its first day"
    first = dt.date.fromisoformat(found[1])
    days = [
        _day(match, first + dt.timedelta(days=index))
        for index, match in enumerate(_DAY.finditer(section))
    ]
    return {day["date"]: day for day in days}


def uptime_text(html: str, component) -> str:
    section = component_section(html, component)
    # The 90-day figure (a phone shows the 30-day one beside it instead).
    found = re.search(
        r'<span class="uptime__percent"><span class="uptime__from-long">([^<]*)</span>', section
    )
    assert found, "no uptime percentage"
    return found[1]


def set_status(component, status: str, when: dt.datetime) -> None:
    with time_machine.travel(when, tick=False):
        component_set_status(component=component, status=status)


def home_page(client) -> str:
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def api():
    with time_machine.travel(at(1, 1, 0), tick=False):
        return make_component("API", created_at=at(1, 1, 0))


def test_it_colours_each_day_by_its_downtime(client, api):
    set_status(api, "major_outage", at(6, 10, 9))  # 5 h of major outage: 300 min down
    set_status(api, "operational", at(6, 10, 14))
    set_status(api, "partial_outage", at(6, 20, 9))  # 2 h partial: 36 min down
    set_status(api, "operational", at(6, 20, 11))
    set_status(api, "partial_outage", at(6, 25, 9))  # 1 h partial: 18 min down
    set_status(api, "operational", at(6, 25, 10))
    set_status(api, "degraded_performance", at(6, 27, 9))  # degraded: no downtime
    set_status(api, "operational", at(6, 27, 12))
    set_status(api, "under_maintenance", at(6, 28, 1))  # maintenance: no downtime
    set_status(api, "operational", at(6, 28, 3))

    days = days_of(home_page(client), api)

    assert len(days) == 90
    assert min(days) == "2025-04-02" and max(days) == "2025-06-30"
    assert days["2025-06-10"]["level"] == "major"
    assert days["2025-06-10"]["summary"] == "Major outage 5 h"
    assert days["2025-06-20"]["level"] == "partial"
    assert days["2025-06-20"]["summary"] == "Partial outage 2 h"
    assert days["2025-06-25"]["level"] == "minor"
    assert days["2025-06-27"]["level"] == "degraded"
    assert days["2025-06-27"]["summary"] == "Degraded performance 3 h"
    assert days["2025-06-28"]["level"] == "maintenance"
    assert days["2025-06-29"]["level"] == "operational"
    assert days["2025-06-29"]["summary"] == "No downtime recorded"


def test_it_shows_the_uptime_percentage_by_the_spec_formula(client, api):
    set_status(api, "major_outage", at(6, 10, 9))
    set_status(api, "operational", at(6, 10, 14))  # 18,000 s of major outage
    set_status(api, "partial_outage", at(6, 20, 9))
    set_status(api, "operational", at(6, 20, 11))  # 7,200 s of partial outage
    set_status(api, "degraded_performance", at(6, 27, 9))
    set_status(api, "operational", at(6, 27, 12))  # degraded: does not count

    html = home_page(client)

    downtime = 18_000 + 0.3 * 7_200
    expected = 100 * (1 - downtime / WINDOW_SECONDS)
    assert f"{expected:.2f}" == "99.74"
    assert uptime_text(html, api) == "99.74 % uptime"


def test_it_counts_an_outage_still_going_on_up_to_now(client, api):
    set_status(api, "partial_outage", at(6, 30, 6))  # 6 h so far: 108 min of downtime

    html = home_page(client)

    today = days_of(html, api)["2025-06-30"]
    assert today["level"] == "partial"
    assert today["summary"] == "Partial outage 6 h"
    expected = 100 * (1 - 0.3 * 6 * 3600 / WINDOW_SECONDS)
    assert uptime_text(html, api) == f"{expected:.2f} % uptime"
    assert uptime_text(html, api) == "99.92 % uptime"


def test_it_shows_no_data_before_the_component_was_tracked(client):
    with time_machine.travel(at(6, 1, 0), tick=False):
        young = make_component("Search", created_at=at(6, 1, 0), start_date=dt.date(2025, 6, 1))
    set_status(young, "major_outage", at(6, 15, 0))
    set_status(young, "operational", at(6, 15, 3))  # 3 h of major outage

    html = home_page(client)

    days = days_of(html, young)
    assert days["2025-05-31"]["level"] == "nodata"
    assert days["2025-05-31"]["summary"] == "No data"
    assert days["2025-06-01"]["level"] == "operational"
    # Counted over the 29.5 days since June 1, not over 90 days.
    tracked = (NOW - at(6, 1, 0)).total_seconds()
    expected = 100 * (1 - 3 * 3600 / tracked)
    assert uptime_text(html, young) == f"{expected:.2f} % uptime" == "99.58 % uptime"


def test_it_lists_the_days_incidents_as_links_in_the_popover(client, api):
    with time_machine.travel(at(6, 12, 0), tick=False):
        incident = incident_services.incident_backfill(
            name="Database failover",
            impact="major",
            body="The primary database failed over.",
            started_at=at(6, 10, 22),
            resolved_at=at(6, 11, 2),
            component_statuses={api: "major_outage"},
        )

    days = days_of(home_page(client), api)

    link = f'<a href="{incident.get_absolute_url()}">Database failover</a>'
    # It spans midnight, so both days list it; the day before and after do not.
    assert link in days["2025-06-10"]["rest"]
    assert link in days["2025-06-11"]["rest"]
    assert "Database failover" not in days["2025-06-09"]["rest"]
    assert "Database failover" not in days["2025-06-12"]["rest"]
    assert days["2025-06-10"]["summary"] == "Major outage 2 h"


def test_it_leaves_draft_incidents_out_of_the_popover(client, api):
    with time_machine.travel(at(6, 30, 10), tick=False):
        incident_services.incident_open(
            name="Draft outage",
            impact="major",
            body="Not public yet.",
            component_statuses={api: "major_outage"},
            is_draft=True,
        )

    html = home_page(client)

    assert "Draft outage" not in html
    assert days_of(html, api)["2025-06-30"]["level"] == "partial"  # 2 h down


def test_it_draws_bars_only_for_showcased_components(client, api):
    with time_machine.travel(at(1, 1, 0), tick=False):
        quiet = make_component("Status webhooks", showcase=False)

    html = home_page(client)

    assert 'class="uptime"' in component_section(html, api)
    quiet_row = html[html.index(f'id="component-{quiet.public_id}"') :]
    assert 'class="uptime"' not in quiet_row[: quiet_row.index("</li>")]


def test_every_day_is_focusable_and_the_bar_is_labelled(client, api):
    html = home_page(client)

    section = component_section(html, api)
    assert len(_DAY.findall(section)) == section.count('tabindex="0"') == 90
    assert 'aria-label="API, day by day over the past 90 days"' in section


def test_a_quiet_day_is_one_short_element_with_its_date_and_summary_in_its_title(client, api):
    section = component_section(home_page(client), api)

    assert '<ol class="uptime__days" data-first="2025-04-02" ' in section
    assert '<li tabindex="0" title="Jun 29, 2025 · No downtime recorded"></li>' in section


def test_the_bars_move_on_when_the_day_rolls_over(client, api):
    set_status(api, "major_outage", at(6, 30, 9))
    set_status(api, "operational", at(6, 30, 9, 20))  # 20 min down

    today = days_of(home_page(client), api)
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        tomorrow = days_of(client.get(reverse("home")).content.decode(), api)

    assert (min(today), max(today)) == ("2025-04-02", "2025-06-30")
    assert (min(tomorrow), max(tomorrow)) == ("2025-04-03", "2025-07-01")
    assert today["2025-06-30"]["level"] == tomorrow["2025-06-30"]["level"] == "minor"
    assert tomorrow["2025-07-01"]["summary"] == "No downtime recorded"


def test_an_incident_shows_only_in_the_bars_of_the_components_it_affected(client, api):
    with time_machine.travel(at(1, 1, 0), tick=False):
        website = make_component("Website", created_at=at(1, 1, 0))
        # Public and showcased, but not shown while it is operational.
        beta = make_component("Beta API", created_at=at(1, 1, 0), only_show_if_degraded=True)
    with time_machine.travel(at(6, 12, 0), tick=False):
        incident = incident_services.incident_backfill(
            name="Database failover",
            impact="major",
            body="The primary database failed over.",
            started_at=at(6, 10, 22),
            resolved_at=at(6, 10, 23),
            component_statuses={api: "major_outage", beta: "major_outage"},
        )

    html = home_page(client)

    assert incident.get_absolute_url() in days_of(html, api)["2025-06-10"]["rest"]
    assert "Database failover" not in component_section(html, website)
    assert f'id="component-{beta.public_id}"' not in html
