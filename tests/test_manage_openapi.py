"""The OpenAPI document at /api/openapi.json describes the real answers of every operation."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from incidents.services import incident_resolve
from tests.factories import make_component, make_group, make_incident, make_maintenance
from tests.manage_api import ManageClient, key_for

pytestmark = pytest.mark.django_db(transaction=True)


class Checker:
    """Validates real answers against the document's schema for their operation and status."""

    def __init__(self, document: dict) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry = Registry().with_resource("urn:openapi", resource)
        self.checked: set[tuple[str, str]] = set()

    def operation(self, method: str, url_path: str) -> tuple[str, dict]:
        for template, item in self.document["paths"].items():
            pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, url_path) and method.lower() in item:
                return template, item[method.lower()]
        raise AssertionError(f"{method} {url_path} is not documented")

    def check(self, response: httpx.Response) -> None:
        path = response.request.url.path
        template, operation = self.operation(response.request.method, path)
        answer = operation["responses"][str(response.status_code)]
        schema = _rebase(answer["content"]["application/json"]["schema"])
        Draft202012Validator(schema, registry=self.registry).validate(response.json())
        self.checked.add((response.request.method.lower(), template))


def _rebase(schema):
    """Point the document's local references at the registered document."""
    if isinstance(schema, dict):
        return {
            k: ("urn:openapi" + v if k == "$ref" and v.startswith("#") else _rebase(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema


def test_every_documented_operation_answers_as_documented(live_server):
    document = httpx.get(f"{live_server.url}/api/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    checker = Checker(document)
    group = make_group("Regions")
    component = make_component("EU", group=group)
    incident = make_incident(components={component: "major_outage"})
    resolved = make_incident("Old")
    incident_resolve(incident=resolved, body="Fixed.")
    maintenance = make_maintenance(components=[component])
    api = ManageClient(live_server.url, key_for(User.objects.create_superuser("docs")))
    base = live_server.url

    for path in [
        "/api/v2/summary.json", "/api/v2/status.json", "/api/v2/components.json",
        "/api/v2/incidents.json", "/api/v2/incidents/unresolved.json",
        f"/api/v2/incidents/{incident.public_id}.json", "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/scheduled-maintenances/active.json",
        f"/api/v2/scheduled-maintenances/{maintenance.public_id}.json",
    ]:  # fmt: skip
        checker.check(httpx.get(base + path))

    for path in [
        "/components", f"/components/{component.public_id}",
        f"/components/{component.public_id}/uptime",
        "/component-groups", f"/component-groups/{group.public_id}",
        f"/component-groups/{group.public_id}/uptime", "/incidents", "/incidents/unresolved",
        "/incidents/upcoming", "/incidents/scheduled", "/incidents/active_maintenance",
        f"/incidents/{incident.public_id}", f"/incidents/{resolved.public_id}/postmortem",
        "/incident_templates", "/subscribers", "/subscribers/count",
    ]:  # fmt: skip
        checker.check(api.get(path))
    checker.check(api.get("pages"))
    checker.check(api.get(api.page.lstrip("/")))

    created = api.post("/components", json={"component": {"name": "Search"}})
    checker.check(created)
    checker.check(
        api.patch(
            f"/components/{created.json()['id']}", json={"component": {"status": "major_outage"}}
        )
    )
    checker.check(
        api.post(
            "/component-groups",
            json={"component_group": {"name": "G", "components": [created.json()["id"]]}},
        )
    )
    opened = api.post(
        "/incidents",
        json={"incident": {"name": "Down", "components": {component.public_id: "partial_outage"}}},
    )
    checker.check(opened)
    update_id = opened.json()["incident_updates"][0]["id"]
    checker.check(
        api.patch(
            f"/incidents/{opened.json()['id']}/incident_updates/{update_id}",
            json={"incident_update": {"body": "Better words."}},
        )
    )
    checker.check(
        api.patch(f"/incidents/{opened.json()['id']}", json={"incident": {"status": "resolved"}})
    )
    checker.check(
        api.put(
            f"/incidents/{opened.json()['id']}/postmortem",
            json={"postmortem": {"body_draft": "What happened."}},
        )
    )
    checker.check(
        api.put(
            f"/incidents/{opened.json()['id']}/postmortem/publish",
            json={"postmortem": {"notify_subscribers": False}},
        )
    )
    checker.check(api.put(f"/incidents/{opened.json()['id']}/postmortem/revert"))
    checker.check(
        api.post("/incident_templates", json={"template": {"name": "T", "title": "T", "body": "B"}})
    )
    hook = api.post(
        "/subscribers", json={"subscriber": {"endpoint": "https://hooks.example.com/x"}}
    )
    checker.check(hook)
    checker.check(
        api.patch(
            f"/subscribers/{hook.json()['id']}", json={"component_ids": [component.public_id]}
        )
    )
    checker.check(api.get(f"/subscribers/{hook.json()['id']}"))
    checker.check(api.post("/subscribers/unsubscribe", json={"subscribers": "all"}))
    starts = timezone.now() + dt.timedelta(days=3)
    scheduled = api.post(
        "/incidents",
        json={
            "incident": {
                "name": "Window",
                "status": "scheduled",
                "scheduled_for": starts.isoformat(),
                "scheduled_until": (starts + dt.timedelta(hours=1)).isoformat(),
            }
        },
    )
    checker.check(scheduled)
    checker.check(api.delete(f"/incidents/{scheduled.json()['id']}"))
    # Errors have the documented shape too.
    checker.check(api.get("/components/nope"))
    checker.check(api.post("/incidents", json={"incident": {}}))
    checker.check(ManageClient(live_server.url, None).get("/components"))

    documented_gets = {
        ("get", template) for template, item in document["paths"].items() if "get" in item
    }
    assert documented_gets - checker.checked == set()
