"""Fixtures for the notification tests (loaded with `pytest_plugins` by their modules).

Tests that need Redis and a Celery worker get the `worker` marker (select with -m worker, or
leave out with -m "not worker"). Without Redis they skip, except under CI, where they fail.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections

from tests.notifications.smtp import SmtpSink
from tests.notifications.webhooks import WebhookReceiver
from tests.notifications.worker import (
    REDIS_URL,
    CeleryWorker,
    flush_redis,
    point_app_at,
    redis_reachable,
    restore_app,
)

WORKER_FIXTURE = "worker_broker"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "worker: starts Celery worker processes on Redis (db 2)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if WORKER_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker("worker")


@pytest.fixture
def smtp_sink(settings) -> Iterator[SmtpSink]:  # noqa: ANN001 - pytest-django's settings
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    yield sink
    sink.stop()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def worker_broker() -> Iterator[str]:
    """Redis database 2, empty, with this process's Celery app publishing to it.

    Worker tests take a lock first: they share that database, also across xdist processes.
    """
    if not redis_reachable():
        message = f"Redis is not reachable at {REDIS_URL}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    lock_path = Path(tempfile.gettempdir()) / "statuspage-notifications-worker-tests.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        flush_redis()
        old = point_app_at(REDIS_URL)
        try:
            yield REDIS_URL
        finally:
            restore_app(old)
            flush_redis()


@pytest.fixture
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database this process and a worker process both see; returns its DATABASE_URL.

    Tests using it are marked django_db(transaction=True), so their rows are committed. On
    PostgreSQL that is enough: the worker uses the test database. On SQLite (in memory by
    default) this process's default connection is pointed at a migrated file for the test,
    and put back afterwards.
    """
    marker = request.node.get_closest_marker("django_db")
    assert marker is not None and marker.kwargs.get("transaction"), (
        "tests with a worker need @pytest.mark.django_db(transaction=True)"
    )
    connection = connections["default"]
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        yield (
            f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
            f"/{s['NAME']}"
        )
        return
    path = tmp_path / "shared.sqlite3"
    shared = connection.__class__({**connection.settings_dict, "NAME": str(path)}, "default")
    connections["default"] = shared
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield f"sqlite:///{path}"
    finally:
        shared.close()
        connections["default"] = connection


@pytest.fixture
def start_worker(tmp_path: Path, worker_broker: str, shared_database: str) -> Iterator:
    """Start Celery workers (`start_worker(smtp_port=..., beat=..., **env)`); all are stopped
    at the end of the test."""
    workers: list[CeleryWorker] = []

    def start(*, smtp_port: int, beat: bool = False, **env: str) -> CeleryWorker:
        worker = CeleryWorker(
            env={
                "DATABASE_URL": shared_database,
                "CELERY_BROKER_URL": worker_broker,
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(smtp_port),
                "CACHE_URL": "locmem://worker",
                "VAR_DIR": str(tmp_path),
                "NOTIFY_SWEEP_GRACE_SECONDS": "0",
                **env,
            },
            log_dir=tmp_path,
            beat=beat,
        )
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()
