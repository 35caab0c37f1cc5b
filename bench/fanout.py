"""Benchmark of the email fan-out: one incident update to N confirmed email subscribers (10,000
by default), fanned out and sent by one Celery worker process into a local SMTP sink.

    .venv/bin/python bench/fanout.py [--subscribers 10000] [--postgres postgres://postgres@127.0.0.1:5432]

It prints the total seconds from posting the update to the last message accepted, emails per
second, the worker's peak memory, the SQL queries the worker ran per 1,000 deliveries and per
batch, and the appends to the send journal (Redis by default, or --journal file). The
database is a fresh SQLite file in a temporary folder, or with --postgres a fresh database on
that server (created and dropped here). The broker is Redis database 2 (BENCH_REDIS_URL), which
is emptied before and after, or with --broker embedded the quick start's broker.

With --backlog N the update is replaced by N incidents opened before the worker starts: the
figures are then those of one worker draining a backlog of N x subscribers deliveries.

Run as `celery -A bench.fanout worker`, this module is also the worker: the statuspage Celery
app, plus a counter of the SQL queries each pool process runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from celery.signals import task_postrun, worker_process_init  # noqa: E402

from statuspage.celery import app  # noqa: E402,F401 - the worker's app

if TYPE_CHECKING:
    from aiosmtpd.smtp import SMTP, Envelope, Session

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
_queries = 0
_appends = 0


# The worker side: count queries and record the peak memory after each task.


def _peak_rss_kib(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _count(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    global _queries
    _queries += 1
    return execute(sql, params, many, context)


_Append = Callable[[Any, int, dt.datetime], None]


def _counting(append: _Append) -> _Append:
    def counted(self: Any, delivery_id: int, sent_at: dt.datetime) -> None:
        global _appends
        _appends += 1
        append(self, delivery_id, sent_at)

    return counted


@worker_process_init.connect
def _install_counter(**kwargs: object) -> None:
    if os.environ.get("BENCH_STATS_FILE"):
        from django.db import connection

        from notifications import journal

        connection.execute_wrappers.append(_count)
        for writer in (journal._FileWriter, journal._RedisWriter):
            # Patched in the worker of this benchmark only, to count without touching the code.
            writer.append = _counting(writer.append)  # type: ignore[method-assign,assignment]


@task_postrun.connect
def _write_stats(**kwargs: object) -> None:
    path = os.environ.get("BENCH_STATS_FILE")
    if path:
        stats = {"queries": _queries, "appends": _appends, "peak_rss_kib": _peak_rss_kib()}
        # Written aside and renamed, so the benchmark never reads a half-written file.
        aside = Path(f"{path}.{os.getpid()}")
        aside.write_text(json.dumps(stats))
        aside.replace(path)


# The benchmark side.


class CountingSink:
    """An SMTP server that only counts: parsing each message would slow the sink, not the sender."""

    def __init__(self) -> None:
        self.accepted = 0
        self.recipients: set[str] = set()
        self.duplicates = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        for recipient in envelope.rcpt_tos:
            if recipient in self.recipients:
                self.duplicates += 1
            self.recipients.add(recipient)
            self.accepted += 1
        return "250 OK"


class _RawSmtp(asyncio.Protocol):
    """Just enough SMTP for smtplib (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), finding the end
    of a message with one search of the buffer instead of reading it line by line, so the sink
    keeps up with the sender and the figures measure the worker."""

    def __init__(self, sink: CountingSink) -> None:
        self.sink = sink
        self.buffer = b""
        self.in_data = False
        self.recipients: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                self.buffer = self.buffer[end + 5 :]
                self.in_data = False
                for recipient in self.recipients:
                    if recipient in self.sink.recipients:
                        self.sink.duplicates += 1
                    self.sink.recipients.add(recipient)
                    self.sink.accepted += 1
                self.recipients = []
                self.transport.write(b"250 OK\r\n")
                continue
            line, found, rest = self.buffer.partition(b"\r\n")
            if not found:
                return
            self.buffer = rest
            self.command(line.decode("utf-8", "replace"))

    def command(self, line: str) -> None:
        verb = line[:4].upper()
        if verb in ("EHLO", "HELO"):
            self.transport.write(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
        elif verb == "RCPT":
            self.recipients.append(line.partition("<")[2].partition(">")[0])
            self.transport.write(b"250 OK\r\n")
        elif verb == "DATA":
            self.in_data = True
            self.transport.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        elif verb == "RSET":
            self.recipients = []
            self.transport.write(b"250 OK\r\n")
        elif verb == "QUIT":
            self.transport.write(b"221 Bye\r\n")
            self.transport.close()
        else:  # MAIL, NOOP
            self.transport.write(b"250 OK\r\n")


def start_sink(sink: CountingSink, kind: str = "raw") -> int:
    from aiosmtpd.smtp import SMTP

    def protocol() -> asyncio.Protocol:
        if kind == "raw":
            return _RawSmtp(sink)
        return SMTP(sink, enable_SMTPUTF8=True)

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(loop.create_server(protocol, "127.0.0.1", 0))
        port.append(server.sockets[0].getsockname()[1])
        ready.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    ready.wait(10)
    return port[0]


def create_postgres_database(server_url: str) -> tuple[str, str]:
    import psycopg

    name = f"notif_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}", name


def drop_postgres_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument(
        "--postgres", metavar="SERVER_URL", help="e.g. postgres://postgres@127.0.0.1:5432"
    )
    parser.add_argument(
        "--sink",
        choices=["raw", "aiosmtpd"],
        default="raw",
        help="the SMTP sink: a minimal one (default) or aiosmtpd, which reads every line",
    )
    parser.add_argument(
        "--journal", choices=["redis", "file"], default="redis", help="where the send journal is"
    )
    parser.add_argument(
        "--backlog",
        type=int,
        default=0,
        metavar="INCIDENTS",
        help="open this many incidents before the worker starts (a backlog of INCIDENTS x "
        "subscribers deliveries) and time the worker draining it",
    )
    parser.add_argument(
        "--broker",
        choices=["redis", "embedded"],
        default="redis",
        help="Redis database 2 (BENCH_REDIS_URL), or the quick start's embedded broker",
    )
    args = parser.parse_args()
    expected = args.subscribers * max(args.backlog, 1)
    # Stopped from outside (a timeout), still stop the worker and clean up on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(f"Stopped by signal {signum}"))

    workdir = Path(tempfile.mkdtemp(prefix="fanout-bench-"))
    pg_name = None
    if args.postgres:
        database_url, pg_name = create_postgres_database(args.postgres.rstrip("/"))
    else:
        database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    sink = CountingSink()
    smtp_port = start_sink(sink, args.sink)
    stats_file = workdir / "worker-stats.json"
    env = {
        "DJANGO_SETTINGS_MODULE": "statuspage.settings",
        # A key of the run's own: the settings refuse to start without one when DEBUG is off.
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": REDIS_URL if args.broker == "redis" else "filesystem://",
        "CACHE_URL": "locmem://bench",
        "VAR_DIR": str(workdir),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "LOG_LEVEL": "WARNING",
        # The bench measures sending: no process renders the public site meanwhile.
        "PUBLISH_MODE": "off",
        "NOTIFY_JOURNAL_URL": REDIS_URL if args.journal == "redis" else f"file://{workdir / 'j'}",
    }
    os.environ.update(env)

    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from incidents import services as incident_services
    from notifications.models import Delivery, DeliveryStatus, Subscriber, SubscriberKind
    from statuspage.models import Component

    redis.Redis.from_url(REDIS_URL).flushdb()
    worker = None
    try:
        call_command("migrate", verbosity=0, interactive=False)
        api = Component.objects.create(name="API")
        Component.objects.create(name="Dashboard")
        now = timezone.now()
        Subscriber.objects.bulk_create(
            [
                Subscriber(kind=SubscriberKind.EMAIL, email=f"s{n}@example.com", confirmed_at=now)
                for n in range(args.subscribers)
            ],
            batch_size=1000,
        )
        incident = incident_services.incident_open(
            name="Elevated API errors in the US data center",
            impact="major",
            body="We are investigating elevated error rates.",
            component_statuses={api: "partial_outage"},
            deliver_notifications=bool(args.backlog),
        )
        for n in range(args.backlog - 1):  # the backlog: incidents announced, no worker yet
            incident_services.incident_open(
                name=f"Incident {n + 2}", impact="minor", body="We are investigating."
            )

        log_path = workdir / "worker.log"
        with open(log_path, "wb") as log:
            worker = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "bench.fanout", "worker",
                    "--concurrency=1", "-Q", "celery,notifications,control", "--loglevel=INFO",
                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                ],
                cwd=ROOT, env={**os.environ, "BENCH_STATS_FILE": str(stats_file)},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        # Wait for the worker to say it is ready.
        deadline = time.monotonic() + 60
        while b" ready." not in log_path.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"The worker did not start:\n{log_path.read_text()}")
            time.sleep(0.05)

        started = time.monotonic()
        if not args.backlog:
            incident_services.incident_post_update(
                incident=incident,
                status="identified",
                body="The cause is a faulty load balancer in the US data center; we are "
                "replacing it.",
            )
        deadline = started + 600
        while sink.accepted < expected:
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"Only {sink.accepted} messages arrived:\n{log_path.read_text()}")
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        # Let the last delivery be recorded and the stats written.
        while Delivery.objects.filter(status=DeliveryStatus.SENT).count() < expected:
            time.sleep(0.05)
        time.sleep(0.5)
        stats = json.loads(stats_file.read_text())
        main_peak = _peak_rss_kib(worker.pid)
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(30)
        redis.Redis.from_url(REDIS_URL).flushdb()
        if pg_name:
            from django.db import connections

            connections.close_all()
            drop_postgres_database(args.postgres.rstrip("/"), pg_name)

    database = "PostgreSQL" if pg_name else "SQLite"
    batch = settings.NOTIFY_EMAIL_BATCH_SIZE
    batches = -(-expected // batch)
    print(
        f"Database: {database}; batch size {batch}; {args.journal} journal; "
        f"{args.sink} SMTP sink; one worker process"
    )
    if args.backlog:
        print(
            f"Backlog: {args.backlog} incidents x {args.subscribers} subscribers, drained from "
            f"the worker's start; {args.broker} broker"
        )
        print(f"Emails: {sink.accepted} accepted by the sink ({expected} expected)")
    else:
        print(f"Emails: {sink.accepted} accepted by the sink, {sink.duplicates} duplicates")
    print(f"Total: {elapsed:.2f} s")
    print(f"Throughput: {expected / elapsed:.0f} emails/s")
    print(
        f"Worker peak memory: {stats['peak_rss_kib'] / 1024:.0f} MiB (pool process), "
        f"{main_peak / 1024:.0f} MiB (main process)"
    )
    per_thousand = stats["queries"] / (expected / 1000)
    print(
        f"SQL queries: {stats['queries']} in all, {per_thousand:.0f} per 1,000 deliveries, "
        f"{stats['queries'] / batches:.1f} per batch of {batch} ({batches} batches)"
    )
    print(f"Journal appends: {stats['appends']} ({args.journal})")


if __name__ == "__main__":
    main()
