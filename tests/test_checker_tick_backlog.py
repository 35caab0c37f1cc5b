"""A checker tick that waits behind a busy worker still runs: a real Celery worker process
(Redis database 2) and the tick sent with the options beat sends it with.

Under a notification storm a worker's processes each run a batch of tens of seconds; the ticks
beat sent meanwhile used to expire after one tick's wait, so none ran and every check went
unprobed for minutes (bench/checker_contention.py shows it).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from django.conf import settings
from django.utils import timezone

from checker.models import CheckResult, CheckState
from checker.tasks import run_due_checks
from tests.checker.factories import make_check
from tests.checker.servers import Reply, local_server
from tests.factories import make_component

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
# How long the first tick keeps the worker busy: longer than one tick (10 s by default).
BUSY_SECONDS = 12


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def checks_worker(worker_broker: str, shared_database: str, tmp_path: Path) -> Iterator[Path]:
    """One worker process with one pool process on the checks queue; yields its log's path.
    Its ticks look one second ahead (CHECKER_TICK_SECONDS=1)."""
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": shared_database,
        "CELERY_BROKER_URL": worker_broker,
        "CACHE_URL": "locmem://worker",
        "VAR_DIR": str(tmp_path),
        "CHECKER_TICK_SECONDS": "1",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "statuspage", "worker", "--loglevel=INFO",
        "--concurrency=1", "-Q", "checks", "--without-gossip", "--without-mingle",
        "--without-heartbeat", "-n", f"checks-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_until(
            lambda: b" ready." in log_path.read_bytes() or process.poll() is not None,
            timeout=30,
            what="the worker to start",
        )
        assert process.poll() is None, log_path.read_text(errors="replace")
        yield log_path
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def send_tick() -> None:
    """What beat does every CHECKER_TICK_SECONDS."""
    entry = settings.CELERY_BEAT_SCHEDULE["checker-run-due-checks"]
    options = cast(dict[str, Any], entry["options"])
    run_due_checks.apply_async(**options)


def test_a_tick_that_waited_behind_a_busy_worker_still_probes_what_is_due(checks_worker):
    with local_server() as server:
        server.routes["/hangs"] = Reply(hang=True)
        server.routes["/health"] = Reply()
        component = make_component("API")
        make_check(component, url=server.url("/hangs"), timeout_seconds=BUSY_SECONDS)
        later = make_check(component, url=server.url("/health"))
        # Due after the first tick's look-ahead: only a later tick probes it.
        CheckState.objects.filter(owner=later).update(
            next_run_at=timezone.now() + dt.timedelta(seconds=4)
        )

        send_tick()
        wait_until(lambda: server.hits("/hangs") == 1, timeout=30, what="the first tick")
        send_tick()  # waits in the queue while the first tick's probe hangs

        wait_until(
            lambda: CheckResult.objects.filter(owner=later).exists(),
            timeout=BUSY_SECONDS + 30,
            what="the second tick to probe the check due after the first",
        )
    assert "Discarding revoked task" not in checks_worker.read_text(errors="replace")
