"""/health, /health/live and /metrics against real backends: a database, cache or broker is made
unreachable by pointing it at a closed or silent port on 127.0.0.1 or a missing folder, never by
replacing our code."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import time_machine
from django.db import connections
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from checker.models import CheckState
from checker.tasks import run_due_checks
from health.tasks import record_worker_heartbeat
from notifications.models import Delivery, DeliveryStatus
from statuspage.models import Heartbeat, HeartbeatKind
from statuspage.services import heartbeat_record
from tests.checker.factories import make_check
from tests.checker.servers import closed_port, silent_port
from tests.factories import make_component, make_incident, make_maintenance
from tests.notifications.factories import make_subscriber
from tests.notifications.outbox import fan_out_pending
from website import publishing

pytest_plugins = ["tests.notifications.plugin"]

TOKEN = "a-long-enough-metrics-token"
QUEUES = ("celery", "notifications", "challenges", "checks", "control")


def beat_everything(at: dt.datetime | None = None) -> None:
    for queue in QUEUES:
        heartbeat_record(kind=HeartbeatKind.WORKER, name=queue, at=at)
    heartbeat_record(kind=HeartbeatKind.CHECKER, at=at)


def samples(response) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    families = text_string_to_metric_families(response.content.decode())
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


@contextmanager
def unreachable_default_database() -> Iterator[None]:
    """New connections to the default database fail, as when its server is down; connections
    already open (the test's own) keep working."""
    settings_dict = connections["default"].settings_dict
    saved = dict(settings_dict)
    with tempfile.TemporaryDirectory() as folder, closed_port() as port:
        if connections["default"].vendor == "postgresql":
            settings_dict.update(HOST="127.0.0.1", PORT=str(port))
        else:
            settings_dict["NAME"] = str(Path(folder) / "missing" / "db.sqlite3")
        try:
            yield
        finally:
            settings_dict.clear()
            settings_dict.update(saved)


@pytest.fixture
def unreachable_database() -> Iterator[None]:
    with unreachable_default_database():
        yield


# /health ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_answers_200_ok_when_every_backend_answers_and_every_beat_is_fresh(client):
    beat_everything()

    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    checks = body["checks"]
    for name in ("database", "cache", "broker", "workers", "checker", "public_version"):
        assert checks[name]["status"] == "ok", name
    assert checks["database"]["critical"] and checks["cache"]["critical"]
    assert not checks["broker"]["critical"]
    assert set(checks["workers"]["queues"]) == set(QUEUES)
    assert checks["checker"]["age_seconds"] < 5
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_a_stale_worker_heartbeat_degrades_the_status_but_keeps_200(client, settings):
    beat_everything()
    late = timezone.now() - dt.timedelta(seconds=settings.HEALTH_STALE_SECONDS + 30)
    heartbeat_record(kind=HeartbeatKind.WORKER, name="notifications", at=late)

    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    workers = body["checks"]["workers"]
    assert workers["status"] == "stale"
    assert workers["queues"]["notifications"]["status"] == "stale"
    assert workers["queues"]["notifications"]["age_seconds"] >= settings.HEALTH_STALE_SECONDS + 30
    assert workers["queues"]["celery"]["status"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_a_stale_checker_tick_degrades_the_status(client, settings):
    beat_everything()
    heartbeat_record(
        kind=HeartbeatKind.CHECKER,
        at=timezone.now() - dt.timedelta(seconds=settings.HEALTH_STALE_SECONDS + 1),
    )

    body = client.get("/health").json()

    assert body["status"] == "degraded"
    assert body["checks"]["checker"]["status"] == "stale"


@pytest.mark.django_db(transaction=True)
def test_before_any_heartbeat_the_page_is_degraded_not_down(client):
    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    checker = body["checks"]["checker"]
    assert checker == {"status": "missing", "age_seconds": None, "critical": False}
    assert {q["status"] for q in body["checks"]["workers"]["queues"].values()} == {"missing"}


@pytest.mark.django_db(transaction=True)
def test_it_answers_503_down_when_the_database_cannot_be_reached(client, unreachable_database):
    response = client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"]["status"] == "down"
    assert body["checks"]["database"]["error"] == "OperationalError"
    # Without the database nothing is known of the heartbeats.
    assert body["checks"]["workers"]["status"] == "unknown"
    assert body["checks"]["cache"]["status"] == "ok"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.published
@pytest.mark.django_db(transaction=True)
def test_with_a_live_publication_a_database_outage_leaves_the_page_serving(client):
    make_incident(components={make_component(): "major_outage"})
    publishing.publish(force=True)

    with unreachable_default_database():
        response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["status"] == "down"
    publication = body["checks"]["publication"]
    assert publication["status"] == "ok"
    assert 0 <= publication["age_seconds"] < 60


@pytest.mark.published
@pytest.mark.django_db(transaction=True)
def test_a_publication_the_publisher_left_behind_is_stale(client, settings):
    beat_everything()
    publishing.publish(force=True)
    stale_after = settings.PUBLISH_INTERVAL_SECONDS + settings.HEALTH_STALE_SECONDS

    later = timezone.now() + dt.timedelta(seconds=stale_after + 10)
    with time_machine.travel(later, tick=False):
        beat_everything()
        body = client.get("/health").json()

    assert body["status"] == "degraded"
    assert {name for name, check in body["checks"].items() if check["status"] != "ok"} == {
        "publication"
    }
    assert body["checks"]["publication"]["status"] == "stale"
    assert body["checks"]["publication"]["age_seconds"] >= stale_after + 10


@pytest.mark.published
@pytest.mark.django_db
def test_metrics_report_the_live_publication(client, settings):
    settings.METRICS_PUBLIC = True
    make_component()
    publishing.publish(force=True)

    found = samples(client.get("/metrics"))

    assert 0 <= found[("statuspage_publish_age_seconds", ())] < 60
    assert found[("statuspage_publish_duration_seconds", ())] > 0


@pytest.mark.django_db
def test_it_answers_503_down_when_the_cache_cannot_be_reached(client, settings):
    with closed_port() as port:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/0",
            }
        }
        response = client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["cache"]["status"] == "down"
    assert body["checks"]["public_version"]["status"] == "unknown"


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_broker_degrades_the_status_within_the_timeout(client, settings):
    beat_everything()
    with closed_port() as port:
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
        started = time.monotonic()
        response = client.get("/health")
        elapsed = time.monotonic() - started

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["status"] == "down"
    assert elapsed < settings.HEALTH_TIMEOUT_MS / 1000 + 0.5


@pytest.mark.django_db
def test_a_broker_that_never_answers_is_down_once_the_timeout_has_passed(client, settings):
    settings.HEALTH_TIMEOUT_MS = 300
    with silent_port() as port:
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
        started = time.monotonic()
        body = client.get("/health").json()
        elapsed = time.monotonic() - started

    assert body["checks"]["broker"]["status"] == "down"
    assert 0.3 <= elapsed < 0.8


@pytest.mark.django_db
def test_a_file_broker_folder_is_made_when_missing(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    folder = tmp_path / "broker"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"folder": str(folder)}

    body = client.get("/health").json()

    assert body["checks"]["broker"]["status"] == "ok"
    assert folder.is_dir()


@pytest.mark.django_db
def test_a_file_broker_whose_folder_cannot_be_made_is_down(client, settings, tmp_path):
    (tmp_path / "broker").write_text("a file where the broker's folder should be")
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"folder": str(tmp_path / "broker" / "inner")}

    response = client.get("/health")

    assert response.status_code == 200
    broker = response.json()["checks"]["broker"]
    assert broker["status"] == "down"
    assert broker["error"] in ("FileExistsError", "NotADirectoryError")


@pytest.mark.django_db
def test_the_answer_names_the_failure_but_not_its_details(client, settings):
    with closed_port() as port:
        settings.CELERY_BROKER_URL = f"redis://user:secret@127.0.0.1:{port}/0"
        response = client.get("/health")

    assert "secret" not in response.content.decode()
    assert str(port) not in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_public_version_age_tells_how_long_ago_something_public_changed(client):
    changed_at = timezone.now()
    with time_machine.travel(changed_at, tick=False):
        make_incident(components={make_component(): "major_outage"})

    with time_machine.travel(changed_at + dt.timedelta(minutes=5), tick=False):
        check = client.get("/health").json()["checks"]["public_version"]

    assert check["status"] == "ok"
    assert check["age_seconds"] == 300.0


@pytest.mark.django_db(transaction=True)
def test_liveness_answers_without_asking_any_backend(client, unreachable_database):
    response = client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.public_cache
@pytest.mark.django_db(transaction=True)
def test_the_public_cache_never_answers_for_health(client):
    before = client.get("/health").json()
    beat_everything()
    after = client.get("/health").json()

    assert (before["status"], after["status"]) == ("degraded", "ok")


@pytest.mark.django_db
def test_health_takes_no_writes(client):
    assert client.post("/health").status_code == 405


# Heartbeats ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_heartbeat_moves_its_one_row_forward():
    first = timezone.now() - dt.timedelta(minutes=5)
    heartbeat_record(kind=HeartbeatKind.WORKER, name="celery", at=first)
    heartbeat_record(kind=HeartbeatKind.WORKER, name="celery")
    heartbeat_record(kind=HeartbeatKind.WORKER, name="notifications")

    rows = {row.name: row.last_seen_at for row in Heartbeat.objects.filter(kind="worker")}
    assert set(rows) == {"celery", "notifications"}
    assert rows["celery"] > first + dt.timedelta(minutes=4)


@pytest.mark.django_db
def test_the_worker_heartbeat_task_records_its_queue():
    record_worker_heartbeat("notifications")

    assert Heartbeat.objects.get(kind=HeartbeatKind.WORKER).name == "notifications"


@pytest.mark.django_db
def test_each_checker_tick_records_a_heartbeat():
    before = timezone.now()
    run_due_checks()

    assert Heartbeat.objects.get(kind=HeartbeatKind.CHECKER).last_seen_at >= before


@pytest.mark.django_db(transaction=True)
def test_a_worker_with_beat_keeps_its_queues_heartbeats_fresh(start_worker, client, settings):
    settings.METRICS_PUBLIC = True
    # The test worker consumes these queues, and beat sends a heartbeat every second.
    start_worker(smtp_port=9, beat=True, HEALTH_HEARTBEAT_SECONDS="1")

    def seen() -> dict[str, dt.datetime]:
        return dict(Heartbeat.objects.filter(kind="worker").values_list("name", "last_seen_at"))

    deadline = time.monotonic() + 30
    while set(seen()) != {"celery", "notifications", "control"}:
        assert time.monotonic() < deadline, f"no heartbeat of both queues in 30 s: {seen()}"
        time.sleep(0.2)
    first = seen()
    while seen()["celery"] == first["celery"]:
        assert time.monotonic() < deadline, "the celery queue's heartbeat did not move on"
        time.sleep(0.2)

    found = samples(client.get("/metrics"))
    for queue in ("celery", "notifications"):
        age = found[("statuspage_heartbeat_age_seconds", (("kind", "worker"), ("name", queue)))]
        assert age < 5


def test_beat_sends_a_heartbeat_to_every_queue(settings):
    sent_to = {
        entry["options"]["queue"]: entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "health.record_worker_heartbeat"
    }

    assert set(sent_to) == {queue.name for queue in settings.CELERY_TASK_QUEUES}
    for queue, entry in sent_to.items():
        assert entry["args"] == (queue,)
        assert entry["schedule"] == settings.HEALTH_HEARTBEAT_SECONDS


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        # No longer than the beats it watches: every heartbeat would look stale.
        ("HEALTH_STALE_SECONDS", "10"),
        ("HEALTH_TIMEOUT_MS", "0"),
        ("METRICS_TOKEN", "short"),
    ],
)
def test_a_setting_that_cannot_work_stops_the_start(variable, value):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, variable: value},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert variable in result.stderr


# /metrics --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_are_off_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_PUBLIC = False

    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
def test_metrics_refuse_a_missing_or_wrong_token(client, settings):
    settings.METRICS_TOKEN = TOKEN

    missing = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    basic = client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})

    assert missing.status_code == wrong.status_code == basic.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert b"statuspage_" not in wrong.content


@pytest.mark.django_db
def test_a_token_is_required_even_when_metrics_are_public(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_PUBLIC = True

    assert client.get("/metrics").status_code == 401


@pytest.mark.django_db
def test_metrics_can_be_made_public_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_PUBLIC = True

    response = client.get("/metrics")

    assert response.status_code == 200
    assert ("statuspage_incidents_open", ()) in samples(response)


@pytest.mark.django_db
def test_metrics_report_components_incidents_deliveries_and_heartbeats(client, settings):
    settings.METRICS_TOKEN = TOKEN
    api, web = make_component("API"), make_component("Web")
    for number in range(3):
        make_subscriber(f"person{number}@example.com")
    make_incident("Elevated API errors", components={api: "major_outage"})
    make_maintenance("Database upgrade", starts_in=dt.timedelta(days=1))
    fan_out_pending()
    Delivery.objects.filter(pk=Delivery.objects.order_by("pk")[0].pk).update(
        status=DeliveryStatus.FAILED
    )
    heartbeat_record(
        kind=HeartbeatKind.WORKER,
        name="celery",
        at=timezone.now() - dt.timedelta(seconds=90),
    )

    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    found = samples(response)

    def status_of(component, status: str) -> float:
        labels = (
            ("component", component.name),
            ("component_id", component.public_id),
            ("status", status),
        )
        return found[("statuspage_component_status", labels)]

    assert status_of(api, "major_outage") == 1.0
    assert status_of(api, "operational") == 0.0
    assert status_of(web, "operational") == 1.0
    assert found[("statuspage_incidents_open", ())] == 1.0
    assert found[("statuspage_maintenances_in_progress", ())] == 0.0
    # Two events (the incident, the maintenance) for three subscribers; one failed.
    assert found[("statuspage_deliveries", (("state", "pending"),))] == 5.0
    assert found[("statuspage_deliveries", (("state", "failed"),))] == 1.0
    assert found[("statuspage_deliveries", (("state", "sent"),))] == 0.0
    age = found[("statuspage_heartbeat_age_seconds", (("kind", "worker"), ("name", "celery")))]
    assert 90 <= age < 120
    assert found[("statuspage_checker_lag_seconds", ())] == 0.0
    assert 0 <= found[("statuspage_public_version_age_seconds", ())] < 60


@pytest.mark.django_db
def test_checker_lag_is_how_late_the_oldest_due_active_check_is(client, settings):
    settings.METRICS_PUBLIC = True
    now = timezone.now()
    schedule = {
        make_check(): now - dt.timedelta(minutes=2),
        make_check(is_active=False): now - dt.timedelta(hours=5),
        make_check(): now + dt.timedelta(hours=1),
    }
    for check, next_run_at in schedule.items():
        CheckState.objects.filter(owner=check).update(next_run_at=next_run_at)

    lag = samples(client.get("/metrics"))[("statuspage_checker_lag_seconds", ())]

    assert 120 <= lag < 150
