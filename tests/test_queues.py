"""The queues: the work that recovers and moves everything else (sweeper, reminders, maintenance
automation, checker ticks) has queues of its own, and a worker consuming every queue takes it
while a backlog of notifications waits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from statuspage.celery import app
from statuspage.models import Heartbeat, HeartbeatKind
from tests.notifications.worker import point_app_at, restore_app

pytest_plugins = ["tests.notifications.plugin"]

ROOT = Path(__file__).resolve().parents[1]
BACKLOG = 10_000


def route(task: str) -> str:
    return app.amqp.router.route({}, task)["queue"].name


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("notifications.sweep", "control"),
        ("notifications.record_maintenance_reminders", "control"),
        ("incidents.advance_maintenances", "control"),
        ("checker.run_due_checks", "checks"),
        ("notifications.send_deliveries", "notifications"),
        ("notifications.fan_out_event", "notifications"),
    ],
)
def test_recovery_work_is_routed_away_from_the_notifications(task, queue):
    assert route(task) == queue


def test_no_periodic_recovery_task_can_expire_before_its_next_run():
    # Expiry only drops a run the next one replaces; never sooner than that next run.
    schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    for name, entry in schedule.items():
        expires = entry.get("options", {}).get("expires")
        if route(entry["task"]) in ("control", "checks") and expires is not None:
            assert expires >= entry["schedule"], name


def test_every_queue_has_a_heartbeat():
    schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    beats = {
        entry["args"][0]
        for entry in schedule.values()
        if entry["task"] == "health.record_worker_heartbeat"
    }
    assert beats == {queue.name for queue in settings.CELERY_TASK_QUEUES}


def plant_backlog(folder: Path, count: int) -> None:
    """`count` notification tasks in the embedded broker's notifications queue, written as the
    broker writes them (one published, the others copies with their own delivery tags)."""
    app.send_task("notifications.send_deliveries", args=["email"])
    queue = folder / "queues" / "notifications"
    (template,) = queue.iterdir()
    message = json.loads(template.read_bytes())
    for number in range(count - 1):
        message["properties"]["delivery_tag"] = str(uuid.uuid4())
        message["headers"]["id"] = str(uuid.uuid4())
        (queue / f"{number + 1:020d}_{uuid.uuid4().hex}.notifications.msg").write_text(
            json.dumps(message)
        )


@pytest.mark.django_db(transaction=True)
def test_a_control_task_is_taken_while_a_notification_backlog_waits(tmp_path, shared_database):
    """Also on a broker a full disk left an empty message in: the worker puts it aside."""
    folder = tmp_path / "broker"
    old = point_app_at("filesystem://")
    app.conf["broker_transport_options"] = {"folder": str(folder)}
    try:
        plant_backlog(folder, BACKLOG)
        # And what a full disk leaves: an empty message ahead of the control task.
        (folder / "queues" / "control").mkdir(parents=True)
        (folder / "queues" / "control" / f"{0:020d}_empty.control.msg").write_bytes(b"")
        # The worker bin/start runs: every queue, here with one pool process.
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "statuspage", "worker", "--concurrency=1"]
            + ["--without-gossip", "--without-mingle", "--loglevel=INFO"],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": shared_database,
                "CELERY_BROKER_URL": "filesystem://",
                "VAR_DIR": str(tmp_path),
                "CACHE_URL": "locmem://worker",
                "PUBLISH_MODE": "off",
            },
            stdout=open(tmp_path / "worker.log", "wb"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            app.send_task("health.record_worker_heartbeat", args=["control"], queue="control")
            deadline = time.monotonic() + 60
            while not Heartbeat.objects.filter(kind=HeartbeatKind.WORKER, name="control"):
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
                time.sleep(0.2)
            waiting = len(list((folder / "queues" / "notifications").iterdir()))
            assert waiting > BACKLOG // 2
            assert [p.name for p in (folder / "quarantine").iterdir()] == [
                f"{0:020d}_empty.control.msg"
            ]
            assert worker.poll() is None
        finally:
            worker.terminate()
            worker.wait(30)
    finally:
        restore_app(old)
