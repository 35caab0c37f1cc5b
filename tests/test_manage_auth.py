"""The Manage API's keys, permissions, errors and rate limit, over real HTTP."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User

from manage.keys import api_key_create, api_key_revoke, key_digest
from manage.models import ApiKey
from statuspage.models import Component
from tests.factories import make_component
from tests.manage_api import ManageClient, key_for, user_with

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_key(db) -> str:
    return key_for(User.objects.create_superuser("root", password="x"))


@pytest.fixture
def api(live_server, admin_key) -> ManageClient:
    return ManageClient(live_server.url, admin_key)


def test_only_a_digest_of_the_key_is_stored(db):
    user = User.objects.create_user("someone")
    row, key = api_key_create(name="Pipeline", owner=user)
    stored = ApiKey.objects.get(pk=row.pk)
    assert stored.digest == key_digest(key)
    assert key not in {str(getattr(stored, f.attname)) for f in ApiKey._meta.concrete_fields}


def test_a_request_without_a_key_gets_401(live_server):
    response = ManageClient(live_server.url, None).get("/components")
    assert response.status_code == 401
    assert isinstance(response.json()["error"], str)


def test_a_wrong_key_gets_401(live_server, db):
    response = ManageClient(live_server.url, "sp_not-a-key").get("/components")
    assert response.status_code == 401


def test_a_revoked_key_gets_401(live_server, db):
    user = User.objects.create_superuser("root", password="x")
    row, key = api_key_create(name="Old", owner=user)
    client = ManageClient(live_server.url, key)
    assert client.get("/components").status_code == 200
    api_key_revoke(api_key=row)
    assert client.get("/components").status_code == 401


def test_the_key_in_the_query_string_is_accepted(live_server, admin_key):
    client = ManageClient(live_server.url, None)
    assert client.get("/components", params={"api_key": admin_key}).status_code == 200


def test_a_wrong_page_id_gets_404(api):
    response = api.get("pages/nosuchpage/components")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


def test_the_last_use_is_recorded(api):
    assert ApiKey.objects.get().last_used_at is None
    api.get("/components")
    assert ApiKey.objects.get().last_used_at is not None


def test_a_view_only_key_reads_but_gets_403_on_writes(live_server, db):
    component = make_component("API")
    key = key_for(user_with("statuspage.view_component", "incidents.view_incident"))
    client = ManageClient(live_server.url, key)
    assert client.get("/components").status_code == 200
    assert client.get("/incidents").status_code == 200
    answer = client.patch(
        f"/components/{component.public_id}", json={"component": {"status": "major_outage"}}
    )
    assert answer.status_code == 403
    assert isinstance(answer.json()["error"], str)
    assert client.post("/incidents", json={"incident": {"name": "x"}}).status_code == 403
    component.refresh_from_db()
    assert component.status == "operational"


def test_a_key_acts_as_its_owner_in_the_history(api):
    component = make_component("API")
    answer = api.patch(
        f"/components/{component.public_id}", json={"component": {"status": "partial_outage"}}
    )
    assert answer.status_code == 200
    entry = LogEntry.objects.get(object_id=str(component.pk))
    assert entry.user_id == User.objects.get(username="root").pk
    assert "Through the API" in entry.get_change_message()


def test_a_malformed_json_body_gets_400(api):
    component = make_component("API")
    answer = api.patch(
        f"/components/{component.public_id}",
        content=b'{"component": {',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert isinstance(answer.json()["error"], list)


def test_an_unknown_status_gets_422_and_changes_nothing(api):
    component = make_component("API")
    answer = api.patch(
        f"/components/{component.public_id}",
        json={"component": {"status": "on_fire", "name": "Renamed"}},
    )
    assert answer.status_code == 422
    assert answer.json()["error"][0].startswith("status is not included in the list")
    component.refresh_from_db()
    assert (component.status, component.name) == ("operational", "API")


def test_an_id_of_another_kind_gets_404(api):
    incident_like = make_component("API")
    from tests.factories import make_incident

    incident = make_incident()
    assert api.get(f"/components/{incident.public_id}").status_code == 404
    assert api.get(f"/incidents/{incident_like.public_id}").status_code == 404


def test_over_the_limit_a_key_gets_429_with_retry_after(live_server, settings, admin_key):
    settings.MANAGE_API_RATE_LIMIT = 3
    client = ManageClient(live_server.url, admin_key)
    answers = [client.get("/components") for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert answers[3].status_code == 429
    assert int(answers[3].headers["Retry-After"]) >= 1
    assert isinstance(answers[3].json()["error"], list)
    # Another key has its own count.
    other = ManageClient(live_server.url, key_for(User.objects.create_superuser("other")))
    assert other.get("/components").status_code == 200


def test_answers_are_never_stored_by_caches(api):
    assert api.get("/components").headers["Cache-Control"] == "no-store"


def test_a_method_not_offered_gets_405(api):
    answer = api.delete("/components")
    assert answer.status_code == 405
    assert "GET" in answer.headers["Allow"]


def test_writes_need_no_csrf_token_with_a_key(api):
    answer = api.post("/components", json={"component": {"name": "Search"}})
    assert answer.status_code == 201
    assert Component.objects.filter(name="Search").exists()


@pytest.mark.public_cache
def test_the_public_cache_never_answers_for_the_api(client, admin_key):
    make_component("API")
    path = f"/api/v1/pages/{settings.STATUSPAGE_ID}/components"
    assert client.get(path, HTTP_AUTHORIZATION=f"OAuth {admin_key}").status_code == 200
    # The same URL right after, without a key: answered by the API (401), not a stored copy.
    assert client.get(path).status_code == 401
