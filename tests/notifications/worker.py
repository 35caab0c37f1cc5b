"""A real Celery worker for the tests: `celery -A statuspage worker` in its own process group,
on Redis database 2, against a database the test process shares with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

from statuspage.celery import app

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("NOTIFY_TEST_REDIS_URL", "redis://127.0.0.1:6379/2")


def redis_reachable(url: str = REDIS_URL) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def flush_redis(url: str = REDIS_URL) -> None:
    redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()


def point_app_at(broker_url: str) -> tuple[str, dict]:
    """Make this process's Celery app publish to `broker_url`; returns the old settings."""
    old = (app.conf.broker_url, dict(app.conf.broker_transport_options or {}))
    _configure_broker(broker_url, {})
    return old


def restore_app(old: tuple[str, dict]) -> None:
    _configure_broker(*old)


def _configure_broker(url: str, options: dict) -> None:
    app.conf["broker_url"] = url
    app.conf["broker_transport_options"] = options
    # The app keeps pooled connections to the broker it first used; Celery has no public way to
    # drop them without unregistering the app, so its two private pools are reset.
    app._pool = None  # type: ignore[attr-defined]  # private, absent from celery-types
    app.amqp._producer_pool = None  # type: ignore[attr-defined]  # private, as above


class CeleryWorker:
    def __init__(self, *, env: dict[str, str], log_dir: Path, beat: bool = False) -> None:
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.beat = beat
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self.starts = 0

    def start(self, *, timeout: float = 30) -> CeleryWorker:
        self.starts += 1
        self.log_path = self.log_dir / f"worker-{self.starts}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "statuspage", "worker",
            "--loglevel=INFO", "--concurrency=1", "-Q", "celery,notifications,control",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-n", f"test-{uuid.uuid4().hex[:8]}@%h",
        ]  # fmt: skip
        if self.beat:
            command += ["--beat", "--schedule", str(self.log_dir / "beat-schedule")]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while b" ready." not in self.log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"The worker did not start:\n{self.log()}")
            time.sleep(0.1)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
