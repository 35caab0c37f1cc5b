"""Fault benchmark of the background work: does every subscriber get each email exactly once,
without a person, whatever breaks?

    .venv/bin/python bench/faults.py [--subscribers 100] [--faults kill,burst,disk,smtp,db]

One instance in processes of its own, on the quick start's defaults (tests/site_processes.py:
a SQLite file, the application server; the embedded broker): bin/supervise.py runs the
worker and beat as bin/start does, an aiosmtpd sink in this process counts the messages by
their Message-ID (one per delivery), reader threads fetch public pages all along and count
answers of 500 or more, and this process plays staff, opening one incident per fault. The
faults, each while an incident's emails go out:

- kill: SIGKILL the worker (and its pool) once the first emails have arrived;
- burst: 2,000 tasks published at once by 4 processes;
- disk: what a full disk leaves in the broker, an empty message file and a half-written one,
  in the queues and in kombu's old folder (a real full disk needs a small file system, which
  this bench does not assume);
- smtp: the SMTP server answers 421 to everything for 8 s, then accepts again;
- db: another process holds SQLite's write lock for 6 s;
- flap: a checked target that fails for 20 s and recovers for 20 s, over and over, for
  --flap-seconds (300 by default, as in the issue that found the email storm), with the
  checker's and the notifications' default damping: each subscriber should get at most two
  emails (received is the most any subscriber got);
- catchup: the worker and beat stopped while a whole maintenance window passes, then started
  again: each subscriber should get the "scheduled" and the "completed" email and no
  "in progress" one, and the maintenance keeps its scheduled times (received counts both
  emails; the note says whether the times held and how many "in progress" emails went out).

For each it prints the emails expected (subscribers), received (distinct deliveries),
duplicated (a delivery received more than once), the seconds from the end of the fault to the
last email, the worker restarts the supervisor made, and the public answers of 500 or more.
The first five take about two minutes; flap adds --flap-seconds plus a minute, catchup about
a minute. The checker stall under load and the drain of a large backlog have benchmarks of
their own (bench/checker_contention.py, bench/fanout.py --backlog).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.notifications.smtp import SmtpSink  # noqa: E402
from tests.site_processes import Site, wait_for  # noqa: E402

RECOVERY_TIMEOUT = 60.0


@dataclass
class Readers:
    """Threads that fetch public pages until stopped, counting answers of 500 or more."""

    port: int
    paths: tuple[str, ...] = ("/", "/api/v2/summary.json", "/history")
    answers: int = 0
    errors: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self, count: int = 2) -> Readers:
        for number in range(count):
            thread = threading.Thread(target=self._read, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _read(self, number: int) -> None:
        turn = number
        while not self._stop.is_set():
            path = self.paths[turn % len(self.paths)]
            turn += 1
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30):
                    pass
            except urllib.error.HTTPError as error:
                if error.code >= 500:
                    self.errors += 1
            except OSError:
                self.errors += 1
            self.answers += 1
            time.sleep(0.05)

    def snapshot(self) -> tuple[int, int]:
        return self.answers, self.errors

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(35)


class FlappingTarget:
    """An HTTP server on 127.0.0.1 answering 500 for 20 s, then 200 for 20 s, while flapping."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                self.send_response(500 if target.failing() else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.started = 0.0
        self.until = 0.0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def failing(self) -> bool:
        now = time.monotonic()
        return now < self.until and int((now - self.started) // 20) % 2 == 0

    def flap(self, seconds: float) -> None:
        self.started = time.monotonic()
        self.until = self.started + seconds


class Sink(SmtpSink):
    """The test suite's SMTP sink, counting messages by Message-ID, able to be 'down'."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.on_recipient = lambda address: (
            "421 4.3.2 Down for the benchmark" if self.down else None
        )

    def ids(self, subject: str) -> Counter[str]:
        with self._changed:
            return Counter(
                str(r.message["Message-ID"])
                for r in self.received
                if subject in str(r.message["Subject"])
            )

    def since(self, count: int) -> list[Any]:
        """The messages received after the first `count`."""
        with self._changed:
            return list(self.received[count:])


class Supervised:
    """bin/supervise.py with the worker and beat, as bin/start runs them."""

    def __init__(self, env: dict[str, str], folder: Path, run: int = 0) -> None:
        self.log = folder / f"supervise-{run}.log"
        celery = f"{sys.executable} -m celery -A statuspage"
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bin" / "supervise.py"),
                f"worker={celery} worker --loglevel=INFO --concurrency=2 -n worker@%h",
                f"beat={celery} beat --loglevel=INFO --schedule {folder / 'beat-schedule'}",
            ],
            cwd=ROOT,
            env=env,
            stdout=open(folder / f"worker-{run}.log", "wb"),  # noqa: SIM115 - closed with the process
            stderr=open(self.log, "wb"),  # noqa: SIM115 - as above
            start_new_session=True,
        )

    def _events(self, event: str, name: str) -> list[int]:
        text = self.log.read_text() if self.log.exists() else ""
        return [int(pid) for pid in re.findall(rf"event={event} name={name} pid=(\d+)", text)]

    def worker_pid(self) -> int:
        return self._events("process.started", "worker")[-1]

    def restarts(self) -> int:
        return max(0, len(self._events("process.started", "worker")) - 1)

    def kill_worker(self) -> None:
        os.killpg(self.worker_pid(), signal.SIGKILL)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def _publish_burst(env: dict[str, str], count: int) -> None:
    os.environ.update(env, DJANGO_SETTINGS_MODULE="statuspage.settings")
    import django

    django.setup()
    from statuspage.celery import app

    for _ in range(count):
        app.send_task("health.record_worker_heartbeat", args=["celery"])


@dataclass
class Bench:
    site: Site
    sink: Sink
    supervised: Supervised
    readers: Readers
    subscribers: int
    folder: Path
    target: FlappingTarget
    flap_seconds: float
    rows: list[dict[str, Any]] = field(default_factory=list)

    def open_incident(self, name: str) -> None:
        from incidents.models import Impact
        from incidents.services import incident_open

        incident_open(name=name, impact=Impact.MINOR, body=f"{name}: we are looking.")

    def run(self, fault: str, inject: Callable[[str], float]) -> None:
        """Open an incident named for the fault, run `inject` (which returns when the fault
        ended, as a monotonic time), and wait for every subscriber's email."""
        subject = f"Fault {fault} {int(time.time())}"
        restarts = self.supervised.restarts()
        answers, errors = self.readers.snapshot()
        ended = inject(subject)
        deadline = ended + RECOVERY_TIMEOUT
        last = time.monotonic()
        seen = 0
        while time.monotonic() < deadline:
            ids = self.sink.ids(subject)
            if len(ids) != seen:
                seen, last = len(ids), time.monotonic()
            if seen >= self.subscribers:
                break
            time.sleep(0.1)
        time.sleep(1)  # late duplicates, if any
        ids = self.sink.ids(subject)
        answers_now, errors_now = self.readers.snapshot()
        self.rows.append(
            {
                "fault": fault,
                "expected": self.subscribers,
                "received": len(ids),
                "duplicated": sum(n - 1 for n in ids.values()),
                "recover_s": round(max(0.0, last - ended), 1) if ids else "-",
                "restarts": self.supervised.restarts() - restarts,
                "reads": answers_now - answers,
                "public_5xx": errors_now - errors,
                "note": "",
            }
        )
        print(f"  {self.rows[-1]}", flush=True)

    def _row(self, fault: str, **values: Any) -> None:
        self.rows.append({"fault": fault, "restarts": 0, "note": "", **values})
        print(f"  {self.rows[-1]}", flush=True)

    def flap(self) -> None:
        """A flapping check, every damping at its default; at most two emails a subscriber."""
        from checker.models import Check, CheckKind, CheckResult, CheckState, CheckTransition
        from incidents.models import Incident
        from statuspage.models import Component

        component = Component.objects.create(name="Flapping API", position=99)
        check = Check.objects.create(
            component=component,
            kind=CheckKind.HTTP,
            url=f"http://127.0.0.1:{self.target.port}/",
            interval_seconds=10,
            timeout_seconds=2.0,
            failure_threshold=1,
            success_threshold=1,
        )
        CheckState.objects.create(owner=check, next_run_at=check.created_at)
        received = len(self.sink.received)
        answers, errors = self.readers.snapshot()
        opened_before = Incident.objects.filter(affected__component=component).count()
        self.target.flap(self.flap_seconds)
        time.sleep(self.flap_seconds + 60)  # the flapping, then its resolution's emails
        messages = self.sink.since(received)
        per_subscriber = Counter(m.recipient for m in messages)
        ids = Counter(str(m.message["Message-ID"]) for m in messages)
        answers_now, errors_now = self.readers.snapshot()
        opened = Incident.objects.filter(affected__component=component).count() - opened_before
        probes = CheckResult.objects.filter(owner=check).count()
        changes = CheckTransition.objects.filter(owner=check).count()
        self._row(
            "flap",
            expected="<=2 each",
            received=max(per_subscriber.values(), default=0),
            duplicated=sum(n - 1 for n in ids.values()),
            recover_s="-",
            reads=answers_now - answers,
            public_5xx=errors_now - errors,
            note=(
                f"{probes} probes, {changes} check state changes, {opened} incident(s) opened,"
                f" {len(messages)} emails"
            ),
        )
        check.is_active = False
        check.save(update_fields=["is_active"])

    def catchup(self) -> None:
        """Worker and beat stopped while a maintenance window passes, then started again."""
        import datetime as dt

        from django.utils import timezone

        from incidents.models import Incident
        from incidents.services import maintenance_schedule

        answers, errors = self.readers.snapshot()
        self.supervised.stop()
        start = timezone.now() + dt.timedelta(seconds=5)
        name = f"Catch-up window {int(time.time())}"
        window = maintenance_schedule(
            name=name,
            body="Replacing a switch.",
            scheduled_for=start,
            scheduled_until=start + dt.timedelta(seconds=15),
        )
        time.sleep(30)  # the whole window passes with nothing running
        self.supervised = Supervised(self.site.env, self.folder, run=1)
        restarted = time.monotonic()
        last, seen = restarted, 0
        while time.monotonic() < restarted + RECOVERY_TIMEOUT:
            ids = self.sink.ids(name)
            if len(ids) != seen:
                seen, last = len(ids), time.monotonic()
            if seen >= 2 * self.subscribers:
                break
            time.sleep(0.1)
        time.sleep(2)
        with self.sink._changed:
            mine = [r for r in self.sink.received if name in str(r.message["Subject"])]
        ids = Counter(str(r.message["Message-ID"]) for r in mine)
        in_progress = sum("in progress" in str(r.message["Subject"]).lower() for r in mine)
        window = Incident.objects.get(pk=window.pk)
        kept = window.started_at == window.scheduled_for and window.resolved_at == (
            window.scheduled_until
        )
        answers_now, errors_now = self.readers.snapshot()
        self._row(
            "catchup",
            expected=2 * self.subscribers,
            received=len(ids),
            duplicated=sum(n - 1 for n in ids.values()),
            recover_s=round(last - restarted, 1),
            reads=answers_now - answers,
            public_5xx=errors_now - errors,
            note=f"times kept: {kept}; 'in progress' emails: {in_progress}",
        )

    # The faults -----------------------------------------------------------------------------

    def warm_up(self, subject: str) -> float:
        """No fault: the first incident, while the worker starts."""
        self.open_incident(subject)
        return time.monotonic()

    def kill(self, subject: str) -> float:
        before = len(self.sink.received)
        self.open_incident(subject)
        self.sink.wait_for(lambda: len(self.sink.received) >= before + 5, timeout=60)
        self.supervised.kill_worker()
        return time.monotonic()

    def burst(self, subject: str) -> float:
        context = multiprocessing.get_context("spawn")
        publishers = [
            context.Process(target=_publish_burst, args=(self.site.env, 500)) for _ in range(4)
        ]
        for publisher in publishers:
            publisher.start()
        self.open_incident(subject)
        for publisher in publishers:
            publisher.join()
        return time.monotonic()

    def disk(self, subject: str) -> float:
        broker = Path(self.site.env["VAR_DIR"]) / "broker"
        for queue in ("notifications", "control", "celery"):
            folder = broker / "queues" / queue
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{0:020d}_empty.{queue}.msg").write_bytes(b"")
            (folder / f"{1:020d}_half.{queue}.msg").write_bytes(b'{"body": "eyJ0YXNrIjog')
        legacy = broker / "queue"
        legacy.mkdir(exist_ok=True)
        (legacy / "1_empty.notifications.msg").write_bytes(b"")
        self.open_incident(subject)
        return time.monotonic()

    def smtp(self, subject: str) -> float:
        self.sink.down = True
        self.open_incident(subject)
        time.sleep(8)
        self.sink.down = False
        return time.monotonic()

    def db(self, subject: str) -> float:
        self.open_incident(subject)
        lock = sqlite3.connect(self.site.env["DATABASE_URL"].removeprefix("sqlite:///"))
        lock.execute("BEGIN EXCLUSIVE")
        time.sleep(6)
        lock.rollback()
        lock.close()
        return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--faults", default="kill,burst,disk,smtp,db,flap,catchup")
    parser.add_argument("--flap-seconds", type=float, default=300.0)
    args = parser.parse_args()
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    sink = Sink()
    sink.start()
    site = Site(folder)
    site.env.update(
        CELERY_BROKER_URL="filesystem://",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(sink.port),
        NOTIFY_EMAIL_BATCH_SIZE="20",
        NOTIFY_CLAIM_LEASE_SECONDS="6",
        NOTIFY_SWEEP_SECONDS="3",
        NOTIFY_SWEEP_GRACE_SECONDS="2",
        NOTIFY_RETRY_BASE_SECONDS="1",
        NOTIFY_RETRY_MAX_SECONDS="4",
        NOTIFY_JOURNAL_URL=f"file://{folder / 'journal'}",
        LOG_LEVEL="INFO",
    )
    print(f"Preparing an instance in {folder} ...", flush=True)
    site.manage("migrate", "--no-input", "-v", "0")
    site.manage("collectstatic", "--no-input", "-v", "0")
    os.environ.update(site.env, DJANGO_SETTINGS_MODULE="statuspage.settings")
    import django

    django.setup()
    from django.utils import timezone

    from notifications.models import Subscriber, SubscriberKind

    Subscriber.objects.bulk_create(
        Subscriber(
            kind=SubscriberKind.EMAIL,
            email=f"reader{n}@example.com",
            confirmed_at=timezone.now(),
        )
        for n in range(args.subscribers)
    )
    # Slow enough that a batch is mid-way when the worker is killed.
    sink.on_message = lambda received: time.sleep(0.01)
    site.start_app()
    readers = Readers(site.app_port).start()
    supervised = Supervised(site.env, folder)
    target = FlappingTarget()
    bench = Bench(
        site, sink, supervised, readers, args.subscribers, folder, target, args.flap_seconds
    )
    try:
        wait_for(site.app_port)
        bench.run("warm-up", bench.warm_up)
        for fault in args.faults.split(","):
            print(f"Fault: {fault}", flush=True)
            if fault in ("flap", "catchup"):
                getattr(bench, fault)()
            else:
                bench.run(fault, getattr(bench, fault))
    finally:
        readers.stop()
        bench.supervised.stop()
        site.close()
        sink.stop()
    columns = ["fault", "expected", "received", "duplicated", "recover_s", "restarts"]
    columns += ["reads", "public_5xx", "note"]
    print(f"\n{args.subscribers} email subscribers; quarantined messages: ", end="")
    quarantine = Path(site.env["VAR_DIR"]) / "broker" / "quarantine"
    print(len(list(quarantine.iterdir())) if quarantine.exists() else 0)
    print("  ".join(f"{c:>10}" for c in columns))
    for row in bench.rows:
        print("  ".join(f"{row[c]!s:>10}" for c in columns).rstrip())
    print(f"\n{time.monotonic() - started:.0f} s in all; logs in {folder}")


if __name__ == "__main__":
    main()
