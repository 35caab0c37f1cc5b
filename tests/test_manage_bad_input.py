"""Odd input to every Manage API endpoint answers 400 or 422 (or is read sensibly), never a 500.

The named cases go over real HTTP; the sweep at the end sends every write route a set of odd
values in every field through Django's test client, which raises any exception a view lets
through instead of turning it into a 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client

from incidents.models import Incident
from notifications.models import Subscriber
from statuspage.models import Component
from tests.factories import make_component, make_group, make_incident, make_maintenance
from tests.manage_api import ManageClient, key_for
from tests.notifications.factories import make_subscriber


@pytest.fixture
def api(live_server, transactional_db) -> ManageClient:
    return ManageClient(live_server.url, key_for(User.objects.create_superuser("fuzz")))


def json_body(raw: bytes) -> dict[str, object]:
    return {"content": raw, "headers": {"Content-Type": "application/json"}}


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"component": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}", "application/json"),
        (b"component[name]=x&component[description]" + b"[a]" * 5000 + b"=1", ""),
    ],
    ids=["json-array-100000-deep", "json-object-40-deep", "form-5000-deep"],
)
def test_a_body_nested_too_deep_gets_400(api, raw, content_type):
    answer = api.post("/components", content=raw, headers={"Content-Type": content_type})
    assert answer.status_code == 400
    assert answer.json()["error"][0].startswith("the body is nested too deeply")
    assert not Component.objects.exists()


def test_metadata_a_few_levels_deep_is_kept(api):
    incident = make_incident()
    metadata: dict[str, object] = {"leaf": 1}
    for _ in range(20):
        metadata = {"a": metadata}
    answer = api.patch(
        f"/incidents/{incident.public_id}", json={"incident": {"metadata": metadata}}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["metadata"] == metadata


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_json_constants_that_are_not_numbers_get_400(api, constant):
    web = make_component("Web")
    answer = api.patch(
        f"/components/{web.public_id}",
        **json_body(b'{"component": {"position": ' + constant + b"}}"),
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": ["the body is not valid JSON"]}


@pytest.mark.parametrize("number", [b"1e999", b"3.5", b"1e30", b"-1"])
def test_a_number_that_is_not_a_small_whole_number_gets_422(api, number):
    web = make_component("Web", position=4)
    answer = api.patch(
        f"/components/{web.public_id}",
        **json_body(b'{"component": {"position": ' + number + b"}}"),
    )
    assert answer.status_code == 422
    web.refresh_from_db()
    assert web.position == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scheduled_for", "0001-01-01T00:00:00-12:00"),
        ("scheduled_until", "9999-12-31T23:59:59+14:00"),
        ("scheduled_until", "9999-12-31"),
        ("scheduled_for", "1969-12-31T23:59:59Z"),
    ],
)
def test_a_time_outside_1970_to_8999_gets_422(api, field, value):
    window = {"scheduled_for": "2030-01-01T10:00:00Z", "scheduled_until": "2030-01-01T12:00:00Z"}
    answer = api.post(
        "/incidents",
        json={"incident": {"name": "Upgrade", "status": "scheduled", **window, field: value}},
    )
    assert answer.status_code == 422
    assert answer.json() == {"error": [f"{field} is out of range (from 1970 to 8999)"]}
    assert not Incident.objects.exists()


def test_correcting_an_update_with_a_time_in_year_one_gets_422(api):
    incident = make_incident()
    update = incident.updates.get()
    answer = api.patch(
        f"/incidents/{incident.public_id}/incident_updates/{update.public_id}",
        json={"incident_update": {"display_at": "0001-01-01T00:00:00+05:00"}},
    )
    assert answer.status_code == 422
    assert answer.json()["error"][0].startswith("display_at is out of range")


@pytest.mark.parametrize("end", ["0001", "0001-01", "0001-01-01"])
def test_uptime_ending_in_year_one_gets_422(api, end):
    web = make_component("Web")
    answer = api.get(f"/components/{web.public_id}/uptime", params={"end": end})
    assert answer.status_code == 422
    assert answer.json() == {"error": ["start must be before end"]}


@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    [
        ("post", "/components", {"component": {"name": "Web\x00"}}, None),
        ("post", "/incidents", {"incident": {"name": "Down", "metadata": {"k\x00": "v"}}}, None),
        ("post", "/subscribers", {"subscriber": {"endpoint": "https://hooks.example/\x00"}}, None),
        ("get", "/incidents", None, {"q": "a\x00b"}),
        ("get", "/subscribers", None, {"q": "\x00"}),
        ("get", "/components/web%00", None, None),
    ],
    ids=["text", "json-key", "endpoint", "incident-query", "subscriber-query", "path-id"],
)
def test_a_nul_character_anywhere_gets_422(api, method, path, body, params):
    answer = api.request(method, path, json=body, params=params)
    assert answer.status_code == 422
    assert answer.json() == {"error": ["no field or parameter may hold the NUL character (U+0000)"]}
    assert not Component.objects.exists() and not Incident.objects.exists()
    assert not Subscriber.objects.exists()


def test_a_webhook_endpoint_with_control_characters_gets_422(api):
    answer = api.post(
        "/subscribers", json={"subscriber": {"endpoint": "https://hooks.example/a\x01b"}}
    )
    assert answer.status_code == 422
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"page": "-1"}, 422),
        ({"page": "0"}, 422),
        ({"per_page": "0"}, 422),
        ({"per_page": "abc"}, 422),
        ({"page": "99999999999999999999999"}, 200),
        ({"per_page": "10000"}, 200),
    ],
)
def test_paging_parameters(api, params, status):
    make_component("Web")
    answer = api.get("/components", params=params)
    assert answer.status_code == status, answer.text
    if status == 200:
        assert isinstance(answer.json(), list)


def test_per_page_above_the_maximum_answers_the_maximum(api):
    Component.objects.bulk_create([Component(name=f"C{i}") for i in range(105)])
    assert len(api.get("/components", params={"per_page": "10000"}).json()) == 100
    assert len(api.get("/components", params={"page": "2", "per_page": "100"}).json()) == 5


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[]", 400),
        (b'"component"', 400),
        (b"null", 400),
        (b'{"component": []}', 422),
        (b'{"component": "Web"}', 422),
        (b'{"component": {"name": ["Web"]}}', 422),
        (b'{"component": {"name": "Web", "showcase": "maybe"}}', 422),
        (b'{"component": {"name": "Web", "showcase": {}}}', 422),
        (b'{"component": {"name": "Web", "group_id": 7}}', 422),
    ],
)
def test_the_wrong_kind_of_value_gets_an_error(api, body, status):
    answer = api.post("/components", **json_body(body))
    assert answer.status_code == status, answer.text
    assert not Component.objects.exists()


def test_a_boolean_as_text_is_read(api):
    answer = api.post("/components", json={"component": {"name": "Web", "showcase": "false"}})
    assert answer.status_code == 201, answer.text
    assert answer.json()["showcase"] is False


# The sweep

ODD_VALUES: list[object] = [
    [], {}, "", "x", "true", True, 10**30, -1, 1e300, None, ["a", 1], {"a": {"b": []}},
    "9999-12-31T23:59:59", "2024-02-30", 3.5,
]  # fmt: skip
# The fields each body wrapper reads.
FIELDS: dict[str, tuple[str, ...]] = {
    "component": ("name", "description", "status", "showcase", "position", "start_date",
                  "group_id", "hidden"),
    "component_group": ("name", "components", "position", "description"),
    "incident": ("name", "status", "body", "components", "component_ids", "impact_override",
                 "metadata", "deliver_notifications", "scheduled_for", "scheduled_until",
                 "backfilled", "backfill_date", "scheduled_auto_in_progress"),
    "incident_update": ("body", "display_at", "deliver_notifications"),
    "postmortem": ("body_draft", "notify_subscribers"),
    "template": ("name", "title", "body", "update_status", "component_ids",
                 "should_send_notifications"),
    "subscriber": ("email", "endpoint", "component_ids", "skip_confirmation_notification"),
    "page": ("name", "url", "headline", "css_greens", "allow_email_subscribers", "time_zone"),
}  # fmt: skip


@pytest.fixture
def quiet() -> Iterator[None]:
    """Thousands of expected 4xx answers: keep them out of the log."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.django_db(transaction=True)
def test_no_write_answers_500_to_odd_values_in_any_field(settings, quiet):
    settings.MANAGE_API_RATE_LIMIT = 10**6
    key = key_for(User.objects.create_superuser("sweep"))
    client = Client(raise_request_exception=True, HTTP_AUTHORIZATION=f"OAuth {key}")
    group = make_group("Edge")
    component = make_component("Web", group=group)
    incident = make_incident(components={component: "major_outage"})
    update = incident.updates.get()
    maintenance = make_maintenance(components=[component])
    subscriber = make_subscriber(email="ada@example.com")
    page = f"/api/v1/pages/{settings.STATUSPAGE_ID}"
    routes = [
        ("post", "/components", "component"),
        ("patch", f"/components/{component.public_id}", "component"),
        ("post", "/component-groups", "component_group"),
        ("patch", f"/component-groups/{group.public_id}", "component_group"),
        ("post", "/incidents", "incident"),
        ("patch", f"/incidents/{incident.public_id}", "incident"),
        ("patch", f"/incidents/{maintenance.public_id}", "incident"),
        ("patch", f"/incidents/{incident.public_id}/incident_updates/{update.public_id}",
         "incident_update"),
        ("put", f"/incidents/{incident.public_id}/postmortem", "postmortem"),
        ("put", f"/incidents/{incident.public_id}/postmortem/publish", "postmortem"),
        ("post", "/incident_templates", "template"),
        ("post", "/subscribers", "subscriber"),
        ("patch", f"/subscribers/{subscriber.public_id}", "subscriber"),
        ("post", "/subscribers/unsubscribe", None),
        ("post", "/subscribers/resend_confirmation", None),
        ("patch", "", "page"),
    ]  # fmt: skip
    statuses: set[int] = set()
    for method, path, wrapper in routes:
        send = getattr(client, method)
        bodies: list[object] = []
        if wrapper is None:
            bodies += [{"subscribers": v, "type": v, "state": v} for v in ODD_VALUES]
        else:
            bodies += [{wrapper: v} for v in ODD_VALUES]
            base = {"name": "n", "title": "t", "body": "b"} if method == "post" else {}
            bodies += [
                {wrapper: {**base, field: value}}
                for field in FIELDS[wrapper]
                for value in ODD_VALUES
            ]
            if wrapper == "incident":
                bodies += [{wrapper: {"components": {component.public_id: v}}} for v in ODD_VALUES]
        for body in bodies:
            answer = send(page + path, data=json.dumps(body), content_type="application/json")
            assert answer.status_code < 500, (method, path, body)
            statuses.add(answer.status_code)
    assert 422 in statuses and 200 in statuses
