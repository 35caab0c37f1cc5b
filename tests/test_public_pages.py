"""The public pages: home (banner, incidents, maintenance, components, past days), the incident
page and the history, as a visitor sees them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from incidents import services
from statuspage.services import component_set_status
from tests.factories import make_component, make_group, make_incident, make_maintenance

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=UTC)


def get(client, url: str, *, now: dt.datetime = NOW) -> str:
    with time_machine.travel(now, tick=False):
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def home(client, *, now: dt.datetime = NOW) -> str:
    return get(client, reverse("home"), now=now)


def banner(html: str) -> str:
    found = re.search(r'<h2 id="status-banner-title"[^>]*>([^<]*)</h2>', html)
    assert found, "no status banner"
    return found[1]


def section(html: str, section_id: str) -> str:
    """The markup of one of the home page's swappable partials."""
    start = html.index(f'<div id="{section_id}"')
    ends = [html.find(f'<div id="{n}"', start + 1) for n in SECTIONS]
    end = min([e for e in ends if e > start] + [html.index("</main>")])
    return html[start:end]


SECTIONS = ["status-banner", "active-incidents", "maintenances", "components", "past-incidents"]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW - dt.timedelta(days=1), tick=False) as traveller:
        yield traveller


# The banner


def test_it_says_all_systems_operational_when_nothing_is_wrong(client):
    make_component("API")

    assert banner(home(client)) == "All Systems Operational"


@pytest.mark.parametrize(
    ("status", "description"),
    [
        ("degraded_performance", "Minor Service Outage"),
        ("partial_outage", "Partial System Outage"),
        ("major_outage", "Major System Outage"),
        ("under_maintenance", "Service Under Maintenance"),
    ],
)
def test_it_rolls_up_the_worst_component_status(client, status, description):
    make_component("API")
    worst = make_component("Dashboard")
    component_set_status(component=worst, status=status)

    assert banner(home(client)) == description


@pytest.mark.parametrize(
    ("impact", "description"),
    [
        ("none", "All Systems Operational"),
        ("minor", "Minor Service Outage"),
        ("major", "Partial System Outage"),
        ("critical", "Major System Outage"),
    ],
)
def test_it_rolls_up_the_impact_of_unresolved_incidents(client, impact, description):
    make_component("API")
    make_incident("Slow sign-ins", impact=impact)

    assert banner(home(client)) == description


def test_it_takes_the_worse_of_components_and_incidents(client):
    api = make_component("API")
    component_set_status(component=api, status="degraded_performance")
    make_incident("Payments failing", impact="critical")

    assert banner(home(client)) == "Major System Outage"


def test_it_ignores_resolved_and_draft_incidents_and_hidden_components(client):
    secret = make_component("Internal tools", is_public=False)
    component_set_status(component=secret, status="major_outage")
    resolved = make_incident("Old outage", impact="critical")
    services.incident_resolve(incident=resolved, body="Fixed.")
    make_incident("Not announced yet", impact="critical", is_draft=True)

    assert banner(home(client)) == "All Systems Operational"


# Components


def test_it_never_shows_hidden_components_or_groups(client):
    make_component("API")
    make_component("Internal tools", is_public=False)
    hidden_group = make_group("Back office", is_public=False)
    make_component("Billing reconciler", group=hidden_group)
    shown_group = make_group("Data centers")
    make_component("US East", group=shown_group)
    make_component("Staging cluster", group=shown_group, is_public=False)

    html = home(client)

    assert "API" in html
    assert "US East" in html
    for hidden in ("Internal tools", "Back office", "Billing reconciler", "Staging cluster"):
        assert hidden not in html


def test_it_never_names_hidden_components_among_an_incidents_affected_ones(client):
    api = make_component("API")
    secret = make_component("Internal tools", is_public=False)
    incident = make_incident(components={api: "major_outage", secret: "major_outage"})

    html = home(client)
    page = get(client, incident.get_absolute_url())

    assert "Internal tools" not in html
    assert "Internal tools" not in page
    assert "API" in section(html, "active-incidents")


def test_it_shows_a_degraded_only_component_only_while_it_is_degraded(client):
    make_component("API")
    sms = make_component("SMS delivery", only_show_if_degraded=True)

    # Left out of the components (the subscribe form still offers it).
    assert "SMS delivery" not in section(home(client), "components")

    component_set_status(component=sms, status="partial_outage")

    components = section(home(client), "components")
    assert "SMS delivery" in components
    assert "Partial outage" in components


def test_it_leaves_out_a_group_with_nothing_to_show(client):
    group = make_group("Providers")
    make_component("SMS delivery", group=group, only_show_if_degraded=True)

    assert "Providers" not in section(home(client), "components")


def test_it_folds_collapsed_groups_and_shows_the_worst_child_status(client):
    open_group = make_group("Data centers", position=1)
    make_component("US East", group=open_group)
    eu = make_component("EU West", group=open_group)
    component_set_status(component=eu, status="partial_outage")
    folded = make_group("Providers", position=2, collapsed=True)
    make_component("Email delivery", group=folded)

    html = section(home(client), "components")

    data_centers = html[html.index(f'id="group-{open_group.public_id}"') :]
    providers = html[html.index(f'id="group-{folded.public_id}"') :]
    assert re.match(rf'id="group-{open_group.public_id}">\s*<details open>', data_centers)
    assert re.match(rf'id="group-{folded.public_id}">\s*<details>', providers)
    summary = data_centers[: data_centers.index("</summary>")]
    assert "tone-partial_outage" in summary
    assert "Partial outage" in summary


def test_it_orders_groups_and_loose_components_by_position(client):
    make_component("Zeta last", position=3)
    group = make_group("Middle group", position=2)
    make_component("Inside", group=group)
    make_component("Alpha first", position=1)

    html = section(home(client), "components")

    assert html.index("Alpha first") < html.index("Middle group") < html.index("Zeta last")


def test_it_gives_descriptions_as_a_title_and_as_text(client):
    make_component("API", description="The public REST API.")

    html = section(home(client), "components")

    assert 'title="The public REST API."' in html
    assert '<span class="hint__text">The public REST API.</span>' in html


# Active incidents and maintenance


def test_it_shows_an_active_incident_with_its_latest_update_and_components(client, frozen):
    api = make_component("API")
    incident = make_incident(
        "Elevated API errors", body="We are looking into it.", components={api: "partial_outage"}
    )
    frozen.shift(dt.timedelta(minutes=20))
    services.incident_post_update(
        incident=incident, status="identified", body="The cause is a **bad deploy**."
    )

    html = section(home(client), "active-incidents")

    assert f'<a href="{incident.get_absolute_url()}">Elevated API errors</a>' in html
    assert "Identified" in html
    assert "<strong>bad deploy</strong>" in html
    assert "We are looking into it." not in html  # only the latest update
    assert "API" in html and "(Partial outage)" in html


def test_it_lists_an_incidents_components_in_page_order(client, frozen):
    # Created in another order than the page's, so neither creation nor ids can explain it.
    website = make_component("Website", position=2)
    group = make_group("Data centers", position=1)
    europe = make_component("Europe", group=group, position=2)
    america = make_component("America", group=group, position=1)
    make_incident(components={website: "degraded_performance", europe: "major_outage"})
    frozen.shift(dt.timedelta(minutes=5))
    make_incident(components={america: "partial_outage"})

    html = section(home(client), "active-incidents")

    first, second = html.split('<article class="notice', 2)[1:]
    assert "America" in first and "Europe" not in first  # newest first
    assert second.index("Europe") < second.index("Website")
    assert "(Major outage)" in second and "(Degraded performance)" in second


def test_it_has_no_active_incidents_section_content_when_all_is_well(client):
    make_component("API")
    incident = make_incident("Short blip")
    services.incident_resolve(incident=incident, body="Fixed.")

    html = home(client)

    assert "Active incidents" not in html
    assert '<div id="active-incidents">' in html  # still there for a refresh to fill


def test_it_shows_upcoming_and_running_maintenance_with_their_window(client):
    db = make_component("Database")
    upcoming = make_maintenance("Database upgrade", components=[db])
    running = make_maintenance("Network work", starts_in=dt.timedelta(minutes=-30))
    services.maintenance_start(maintenance=running)

    html = section(home(client), "maintenances")

    assert "Database upgrade" in html and "Network work" in html
    assert html.index("Network work") < html.index("Database upgrade")
    assert upcoming.scheduled_for and upcoming.scheduled_until
    window_start = upcoming.scheduled_for.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    window_end = upcoming.scheduled_until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f'<time datetime="{window_start}" data-style="datetime">' in html
    assert f'<time datetime="{window_end}" data-style="datetime">' in html
    assert "Database</li>" in html  # named, with no status before the window opens


def test_a_running_maintenance_keeps_its_announcement_beside_its_newest_update(client):
    running = make_maintenance("Network work", starts_in=dt.timedelta(minutes=-30))
    services.maintenance_start(maintenance=running)
    newest = running.updates.order_by("-display_at", "-id").first()
    assert newest is not None and newest.body != "We will upgrade the primary database."

    html = section(home(client), "maintenances")

    assert "We will upgrade the primary database." in html
    assert "Announced" in html
    assert newest.body in html
    assert html.index("We will upgrade the primary database.") < html.index(newest.body)


def test_it_drops_completed_maintenance_from_the_maintenance_section(client):
    done = make_maintenance("Finished work", starts_in=dt.timedelta(hours=-2))
    services.maintenance_start(maintenance=done)
    services.maintenance_complete(maintenance=done)

    assert "Finished work" not in section(home(client), "maintenances")


# Past incidents


def test_it_lists_the_last_seven_days_newest_first(client, frozen):
    make_component("API")
    frozen.move_to(dt.datetime(2025, 6, 28, 9, 0, tzinfo=UTC))
    two_days_ago = make_incident("Slow dashboard", impact="minor")
    services.incident_resolve(incident=two_days_ago, body="Dashboard is fast again.")
    frozen.move_to(dt.datetime(2025, 6, 20, 9, 0, tzinfo=UTC))
    too_old = make_incident("Ten days ago", impact="minor")
    services.incident_resolve(incident=too_old, body="Fixed.")

    html = section(home(client), "past-incidents")

    dates = re.findall(r'<h3 class="past-day__date"><time datetime="([\d-]+)">', html)
    assert dates == [f"2025-06-{day}" for day in (30, 29, 28, 27, 26, 25, 24)]
    assert html.count("No incidents reported.") == 6
    june_28 = html[html.index('datetime="2025-06-28"') : html.index('datetime="2025-06-27"')]
    assert "Slow dashboard" in june_28
    assert "Dashboard is fast again." in june_28
    assert "Ten days ago" not in html


def test_it_groups_past_days_in_the_pages_time_zone(client, frozen, settings):
    settings.TIME_ZONE = "America/New_York"
    frozen.move_to(dt.datetime(2025, 6, 29, 2, 0, tzinfo=UTC))  # 22:00 on June 28 in New York
    outage = make_incident("Late evening outage")
    services.incident_resolve(incident=outage, body="Fixed.")

    html = section(home(client), "past-incidents")

    june_28 = html[html.index('datetime="2025-06-28"') : html.index('datetime="2025-06-27"')]
    assert "Late evening outage" in june_28


def test_an_open_incident_shows_once_in_active_incidents_not_again_under_its_day(client, frozen):
    make_component("API")
    frozen.move_to(dt.datetime(2025, 6, 30, 9, 0, tzinfo=UTC))
    make_incident("Elevated error rates")
    page = home(client)

    assert "Elevated error rates" in section(page, "active-incidents")
    past = section(page, "past-incidents")
    assert "Elevated error rates" not in past
    today = past[past.index('datetime="2025-06-30"') : past.index('datetime="2025-06-29"')]
    assert "still open, above" in today
    assert "No incidents reported." not in today


def test_it_never_shows_drafts_anywhere(client):
    make_component("API")
    draft = make_incident("Secret draft", impact="critical", is_draft=True)

    assert "Secret draft" not in home(client)
    assert "Secret draft" not in get(client, reverse("history"))
    with time_machine.travel(NOW, tick=False):
        assert client.get(draft.get_absolute_url()).status_code == 404


# Safety and markup


def test_it_sanitizes_markdown_in_update_bodies(client):
    incident = make_incident(
        "Scripted", body="Hello <script>alert('x')</script> [click](javascript:alert(1))"
    )

    for html in (home(client), get(client, incident.get_absolute_url())):
        assert "<script>alert" not in html
        assert "javascript:" not in html
        assert "Hello" in html


def test_it_writes_times_in_utc_time_elements(client, frozen):
    frozen.move_to(dt.datetime(2025, 6, 30, 9, 15, tzinfo=UTC))
    incident = make_incident("Timed")

    html = get(client, incident.get_absolute_url())

    assert (
        '<time datetime="2025-06-30T09:15:00Z" data-style="datetime">Jun 30, 2025 09:15 UTC</time>'
        in html
    )


def test_it_has_landmarks_a_skip_link_and_its_assets(client):
    html = home(client)

    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html
    assert "<header" in html and "<footer" in html and '<nav class="site-nav"' in html
    assert re.search(r'<link rel="stylesheet" href="/static/css/statuspage\.css">', html)
    assert re.search(r'<script src="/static/js/statuspage\.js" defer></script>', html)
    head = html.split("</head>")[0]
    assert not re.search(r'(src|href)="(https?:)?//', head)  # no external assets
    for section_id in SECTIONS:
        assert f'<div id="{section_id}"' in html


def test_it_links_the_history_feeds_from_the_home_page(client):
    head = home(client).split("</head>")[0]

    assert re.search(
        r'<link rel="alternate" type="application/atom\+xml"[^>]*href="/history\.atom"', head
    )
    assert re.search(
        r'<link rel="alternate" type="application/rss\+xml"[^>]*href="/history\.rss"', head
    )


def test_it_does_not_touch_the_session(client):
    make_component("API")

    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("home"))

    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies


def test_the_home_page_query_count_does_not_grow_with_history(
    client, frozen, django_assert_max_num_queries
):
    def build(prefix: str, groups: int, per_group: int, incidents: int) -> None:
        components = []
        for g in range(groups):
            group = make_group(f"{prefix} group {g}")
            components += [
                make_component(f"{prefix} {g}.{c}", group=group, description="Something")
                for c in range(per_group)
            ]
        components.append(make_component(f"{prefix} loose"))
        for i in range(incidents):
            frozen.move_to(NOW - dt.timedelta(days=i % 9, hours=i))
            incident = make_incident(
                f"{prefix} incident {i}",
                components={components[i % len(components)]: "major_outage"},
            )
            services.incident_post_update(incident=incident, status="identified", body="Found it.")
            if i % 3:
                services.incident_resolve(incident=incident, body="Fixed.")
        make_maintenance(f"{prefix} maintenance", components=components[:2])

    build("Small", groups=1, per_group=2, incidents=2)
    with django_assert_max_num_queries(12) as small:
        home(client)
    small_count = len(small.captured_queries)

    build("Large", groups=4, per_group=5, incidents=40)
    with django_assert_max_num_queries(12) as large:
        html = home(client)

    assert len(large.captured_queries) == small_count
    assert "Large incident 39" in html


# The incident page


def test_it_shows_the_whole_timeline_newest_first(client, frozen):
    api = make_component("API")
    incident = make_incident(
        "Checkout errors", impact="major", body="First: investigating.",
        components={api: "major_outage"},
    )  # fmt: skip
    frozen.shift(dt.timedelta(minutes=10))
    services.incident_post_update(incident=incident, status="identified", body="Second: found.")
    frozen.shift(dt.timedelta(minutes=10))
    services.incident_resolve(incident=incident, body="Third: resolved.")

    html = get(client, incident.get_absolute_url())

    assert '<h1 class="incident__title">Checkout errors</h1>' in html
    statuses = re.findall(r'<h3 class="timeline__status">([^<]*)</h3>', html)
    assert statuses == ["Resolved", "Identified", "Investigating"]
    assert html.index("Third: resolved.") < html.index("Second: found.") < html.index("First")
    assert '<span class="pill tone-major">Major</span>' in html
    assert "API" in html and "(Major outage)" in html  # worst status it reached


def test_it_shows_current_component_statuses_while_the_incident_is_open(client):
    api = make_component("API")
    incident = make_incident(components={api: "degraded_performance"})

    html = get(client, incident.get_absolute_url())

    assert "(Degraded performance)" in html
    assert "worst status reached" not in html


def test_it_shows_the_postmortem_only_once_published(client):
    incident = make_incident("Queue backlog")
    services.incident_resolve(incident=incident, body="Drained.")
    services.incident_save_postmortem(incident=incident, body="## What happened\n\nA draft.")

    assert "What happened" not in get(client, incident.get_absolute_url())

    services.incident_publish_postmortem(incident=incident)

    html = get(client, incident.get_absolute_url())
    assert '<section class="card postmortem"' in html
    assert "<h2>What happened</h2>" in html
    assert "Postmortem" in html


def test_it_marks_backfilled_incidents(client):
    api = make_component("API")
    incident = services.incident_backfill(
        name="Night outage",
        impact="major",
        body="Entered the morning after.",
        started_at=NOW - dt.timedelta(days=2, hours=5),
        resolved_at=NOW - dt.timedelta(days=2, hours=3),
        component_statuses={api: "partial_outage"},
    )

    html = get(client, incident.get_absolute_url())

    assert "Backfilled" in html
    assert "(Partial outage)" in html  # the status it had, not today's operational


def test_it_shows_a_maintenance_with_its_window(client):
    db = make_component("Database")
    maintenance = make_maintenance("Database upgrade", components=[db])

    html = get(client, maintenance.get_absolute_url())

    assert "Scheduled maintenance" in html
    assert "Window" in html
    assert maintenance.scheduled_until
    stamp = maintenance.scheduled_until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f'<time datetime="{stamp}"' in html
    assert "<li>Database</li>" in html  # not yet under maintenance, so no status


def test_it_shows_the_status_a_completed_maintenance_gave_its_components(client):
    db = make_component("Database")
    maintenance = make_maintenance("Database upgrade", components=[db])
    services.maintenance_start(maintenance=maintenance)
    services.maintenance_complete(maintenance=maintenance)

    html = get(client, maintenance.get_absolute_url())

    assert "Completed" in html
    assert "(Under maintenance)" in html


def test_it_answers_404_for_an_unknown_incident(client):
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("incident", kwargs={"public_id": "nosuchthing0"}))

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


# History


def incident_on(frozen, when: dt.datetime, name: str) -> None:
    frozen.move_to(when)
    incident = make_incident(name)
    frozen.shift(dt.timedelta(hours=1))
    services.incident_resolve(incident=incident, body="Fixed.")


def test_it_groups_history_by_month_newest_first_skipping_empty_months(client, frozen):
    incident_on(frozen, dt.datetime(2025, 6, 3, 9, tzinfo=UTC), "June outage")
    incident_on(frozen, dt.datetime(2025, 4, 20, 9, tzinfo=UTC), "April outage")

    html = get(client, reverse("history"))

    months = re.findall(r'<h2 id="month-[\d-]+" class="section-title">([^<]*)</h2>', html)
    assert months == ["June 2025", "April 2025"]
    assert html.index("June outage") < html.index("April outage")
    assert "Older" not in html and "Newer" not in html


def test_it_pages_history_by_three_months_that_had_incidents(client, frozen):
    for when, name in [
        (dt.datetime(2025, 6, 3, 9, tzinfo=UTC), "June outage"),
        (dt.datetime(2025, 2, 14, 9, tzinfo=UTC), "February outage"),
        (dt.datetime(2024, 12, 1, 9, tzinfo=UTC), "December outage"),
        (dt.datetime(2022, 3, 1, 9, tzinfo=UTC), "March 2022 outage"),
    ]:
        incident_on(frozen, when, name)

    first = get(client, reverse("history"))
    second = get(client, reverse("history") + "?page=2")

    assert re.findall(r'class="section-title">([^<]*)</h2>', first) == [
        "June 2025",
        "February 2025",
        "December 2024",
    ]
    assert 'href="/history?page=2">Older</a>' in first and "Newer" not in first
    assert "March 2022 outage" in second
    assert 'href="/history?page=1">Newer</a>' in second and "Older" not in second
    # Every year is one click away, landing on its newest month.
    assert 'href="/history?page=2#month-2022-03">2022</a>' in first
    assert 'href="/history#month-2024-12" aria-current="page">2024</a>' in first
    with time_machine.travel(NOW, tick=False):
        assert client.get(reverse("history") + "?page=3").status_code == 404


def test_history_shows_each_incidents_last_update_and_its_components(client, frozen):
    api = make_component("API")
    frozen.move_to(dt.datetime(2025, 6, 3, 9, tzinfo=UTC))
    incident = make_incident("API errors", components={api: "major_outage"})
    services.incident_resolve(incident=incident, body="A **bad** deploy was rolled back.")

    html = get(client, reverse("history"))

    assert "Resolved</strong> – A bad deploy was rolled back." in html
    assert f'data-components="{api.public_id}"' in html
    assert f'<option value="{api.public_id}">API</option>' in html


def test_it_lists_a_month_in_the_pages_time_zone(client, frozen, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    incident_on(frozen, dt.datetime(2025, 5, 31, 20, tzinfo=UTC), "Early June in Tokyo")

    html = get(client, reverse("history"))

    months = re.findall(r'<h2 id="month-[\d-]+" class="section-title">([^<]*)</h2>', html)
    assert months == ["June 2025"]
    assert "Early June in Tokyo" in html[html.index("June 2025") :]


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999"])
def test_it_answers_404_for_a_bad_history_page(client, page):
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("history") + f"?page={page}")

    assert response.status_code == 404
