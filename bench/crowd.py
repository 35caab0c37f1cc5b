"""The crowd: 64 readers of the public site while staff post an update every second, 300 checks
flap and 1,000 subscribers are told, for 60 s; on SQLite or on PostgreSQL + Redis.

Usage (from the repository root):

    .venv/bin/python bench/crowd.py              # SQLite, file cache, file broker (as bin/start)
    .venv/bin/python bench/crowd.py --postgres   # PostgreSQL statuspage_bench (recreated),
                                                 # Redis cache (db 5) and broker (db 6)
    .venv/bin/python bench/crowd.py --quick      # a short smoke run (15 s)

The site is `manage.py demo --large` in a temporary folder (VAR_DIR, PUBLISH_ROOT, STATIC_ROOT),
published once, then served by granian as bin/start runs it (`--server gunicorn` for gunicorn
gthread), its access log on. Beside it, as in production:

- the background processes as bin/start runs them under bin/supervise.py, at nice 10: a Celery
  worker of every queue (`--concurrency=2`), one of the control and checks queues and beat;
  they run the checker, fan out and send the notifications, and publish the site eagerly;
- 300 HTTP checks (six on each of 50 components, every 10 s, two failures or two successes
  to change state) against local targets that answer 500 for 30 s then 200 for 30 s, each
  component's targets on their own phase, so components go down and come back all the time and
  the checker opens and resolves incidents through the incident services;
- 1,000 confirmed email subscribers to every component (tests/notifications/factories), their
  mail taken by a local SMTP sink (bench/fanout.py's);
- a staff process posting an update a second to an open incident through
  incidents.services, each carrying a numbered marker;
- the readers: wrk, 64 connections in a closed loop (no pause between requests), walking a mix
  of the home page, `/?cb=<random>`, `/live`, the API, history, incident, component and badge
  pages, with Chromium's Accept-Encoding;
- a poller reading `/` ten times a second for the staff markers: the publication lag of an
  update is how long after its commit `/` first shows it or a later one.

It prints the readers' figures (p99 target 100 ms, none past 1 s, no answer but 2xx), each kind
of URL's statuses and server-side times (from the server's access log), the staff updates posted,
the publication lag (p50/p99), the publications the worker made, the checker's probes and
transitions and the mail sent. Traffic goes to 127.0.0.1 only; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serving import (  # noqa: E402 - the repository root is on the path now
    CHROMIUM_ENCODING,
    POSTGRES_NAME,
    POSTGRES_SERVER,
    SERVERS,
    build_site,
    current_manifest,
    free_port,
    http_get,
    load_average,
    percentile,
    postgres_recreate,
    start_app_server,
    stop_process,
    tree_cpu_seconds,
    url_kind,
    wrk,
)

READERS = 64
CHECKS_PER_COMPONENT = 6
CHECK_COMPONENTS = 50
CHECK_INTERVAL = 10
FLAP_PERIOD = 60
SUBSCRIBERS = 1000
MARKER = re.compile(rb"crowd-update-(\d{6})")
P99_TARGET_MS = 100
MAX_TARGET_MS = 1000
REDIS_CACHE = "redis://127.0.0.1:6379/5"
REDIS_BROKER = "redis://127.0.0.1:6379/6"


# Child processes: the flapping targets, the data set-up, the staff, the report.


def serve_targets() -> None:
    """HTTP targets: /t/<group> answers 500 for half of each period and 200 for the other half,
    every group on its own phase."""
    import asyncio

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                group = int(path.rsplit(b"/", 1)[-1] or 0) if path.startswith(b"/t/") else 0
                phase = (time.time() + group * FLAP_PERIOD / CHECK_COMPONENTS) % FLAP_PERIOD
                failing = phase < FLAP_PERIOD / 2
                body = b"failing\n" if failing else b"ok\n"
                status = b"500 Internal Server Error" if failing else b"200 OK"
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\nContent-Length: "
                    + str(len(body)).encode() + b"\r\n\r\n" + body
                )  # fmt: skip
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", 0, backlog=1024)
        print(server.sockets[0].getsockname()[1], flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
    import django

    django.setup()


def set_up_data(target_port: int) -> None:
    """The subscribers, the checks and the staff's incident."""
    _django()
    from django.utils import timezone

    from checker.models import Check
    from checker.scheduler import ensure_states
    from incidents import services
    from incidents.models import Impact, IncidentStatus
    from statuspage.models import Component, ComponentStatus
    from tests.notifications.factories import make_subscriber

    for _ in range(SUBSCRIBERS):
        make_subscriber()
    components = list(Component.objects.order_by("id"))
    checked, unchecked = components[:CHECK_COMPONENTS], components[CHECK_COMPONENTS:]
    Check.objects.bulk_create(
        [
            Check(
                component=component,
                name=f"{component.name} probe {n + 1}",
                url=f"http://127.0.0.1:{target_port}/t/{group}",
                interval_seconds=CHECK_INTERVAL,
                timeout_seconds=2,
                failure_threshold=2,
                success_threshold=2,
            )
            for group, component in enumerate(checked)
            for n in range(CHECKS_PER_COMPONENT)
        ]
    )
    ensure_states(timezone.now())
    # On a component no check watches: the checker adds its evidence to a staff incident on a
    # component it probes, and that update, not the staff's, would then be the one `/` shows.
    incident = services.incident_open(
        name="Slow dashboard loads",
        impact=Impact.MINOR,
        body="We are looking into slow dashboard loads. crowd-update-000000",
        status=IncidentStatus.INVESTIGATING,
        component_statuses={unchecked[-1]: ComponentStatus.DEGRADED_PERFORMANCE},
        deliver_notifications=False,
    )
    print(json.dumps({"incident": incident.pk, "checks": Check.objects.count()}), flush=True)


def staff(incident_id: int, seconds: float) -> None:
    """Post an update a second until `seconds` have passed; print each one's commit time."""
    _django()
    from incidents import services
    from incidents.models import Incident, IncidentStatus

    statuses = [IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING]
    started = time.monotonic()
    for number in range(1, int(seconds) + 1):
        due = started + number - 1
        time.sleep(max(0.0, due - time.monotonic()))
        incident = Incident.objects.get(pk=incident_id)
        began = time.time()
        services.incident_post_update(
            incident=incident,
            status=statuses[number % 2],
            body=f"Dashboards load slowly for some customers. crowd-update-{number:06d}",
        )
        committed = time.time()
        print(
            json.dumps({"n": number, "began": began, "committed": committed}),
            flush=True,
        )


def report(since: float, until: float) -> None:
    """What the worker did in the window, from the database."""
    _django()
    import datetime as dt

    from checker.models import AutomatedIncident, CheckResult, CheckTransition
    from notifications.models import Delivery, NotificationEvent

    start = dt.datetime.fromtimestamp(since, dt.UTC)
    end = dt.datetime.fromtimestamp(until, dt.UTC)
    print(
        json.dumps(
            {
                "probes": CheckResult.objects.filter(at__gte=start, at__lt=end).count(),
                "probes_failed": CheckResult.objects.filter(at__gte=start, at__lt=end)
                .exclude(level=0)
                .count(),
                "transitions": CheckTransition.objects.filter(at__gte=start, at__lt=end).count(),
                "automated_incidents": AutomatedIncident.objects.count(),
                "events": NotificationEvent.objects.count(),
                "deliveries": dict(
                    Counter(Delivery.objects.values_list("status", flat=True)).most_common()
                ),
            }
        )
    )


# The bench.


@dataclasses.dataclass
class Update:
    number: int
    began: float
    committed: float


class LagPoller:
    """Reads `/` ten times a second and notes when each staff marker first shows."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.first_seen: dict[int, float] = {}
        self.errors: Counter = Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                status, headers, body = http_get(
                    self.port, "/", {"Accept-Encoding": "gzip"}, timeout=10
                )
                seen = time.time()
                if status != 200:
                    self.errors[status] += 1
                else:
                    if headers.get("content-encoding") == "gzip":
                        body = gzip.decompress(body)
                    for match in MARKER.finditer(body):
                        self.first_seen.setdefault(int(match.group(1)), seen)
            except OSError as error:
                self.errors[type(error).__name__] += 1
            self.stop.wait(0.1)

    def lags(self, updates: list[Update]) -> list[float | None]:
        """For each update: seconds from its commit until `/` showed it or a later update."""
        shown = sorted(self.first_seen.items())
        result: list[float | None] = []
        for update in updates:
            times = [at for number, at in shown if number >= update.number]
            result.append(min(times) - update.committed if times else None)
        return result


def reader_paths(manifest: dict[str, Any]) -> list[str]:
    """What a crowd of readers asks for: mostly the home page, its live poll and the API."""
    keys = list(manifest["artifacts"])
    incidents = [k for k in keys if k.startswith("/incidents/")][:20]
    components = [k for k in keys if k.startswith("/components/")][:10]
    badges = [k for k in keys if k.startswith("/badge/")][:10]
    paths: list[str] = []
    for n in range(20):
        paths += ["/", "/?cb={cb}", "/", "/live?v=0", "/api/v2/summary.json", "/"]
        paths += ["/api/v2/status.json", incidents[n % len(incidents)]]
        if n % 2 == 0:
            paths += ["/history", components[n % len(components)], badges[n % len(badges)]]
        if n % 5 == 0:
            paths += ["/history?page=3", "/history.atom", "/badge.svg"]
    return paths


def machine_busy_seconds() -> float:
    """Core-seconds this machine has spent busy since boot (all processes, anyone's)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds of each named process tree, of this process, and of the whole machine."""
    snapshot = {name: tree_cpu_seconds(pid)[0] for name, pid in pids.items()}
    times = os.times()
    snapshot["this script (SMTP sink, lag poller)"] = times.user + times.system
    snapshot["machine"] = machine_busy_seconds()
    return snapshot


def access_log_stats(path: Path, offset: int = 0) -> dict[str, dict[str, Any]]:
    """Statuses and server-side times per kind of URL from the server's access log, after
    `offset`: gunicorn's lines give microseconds, granian's (GRANIAN_ACCESS_FORMAT) milliseconds."""
    kinds: dict[str, dict[str, Any]] = defaultdict(lambda: {"statuses": Counter(), "us": []})
    if not path.exists():
        return {}
    with path.open(errors="replace") as handle:
        handle.seek(offset)
        lines = handle.read().splitlines()
    for line in lines:
        match = re.match(r'(?:ACCESS )?(\d{3}) ([\d.]+) "([^"]*)" "([^"]*)"', line)
        if not match:
            continue
        status, taken, url, query = match.groups()
        kind = url_kind(f"{url}?{query}" if query else url)
        kinds[kind]["statuses"][int(status)] += 1
        micros = float(taken) * 1000 if line.startswith("ACCESS ") else int(taken)
        kinds[kind]["us"].append(micros)
    return kinds


def published_lines(log: Path, offset: int) -> list[tuple[int, int, int, float]]:
    """The worker's publications after `offset`: answers rendered, brought up to date, reused,
    seconds."""
    with log.open(errors="replace") as handle:
        handle.seek(offset)
        text = handle.read()
    pattern = (
        r"published \w+: (\d+) answers rendered, (\d+) brought up to date, (\d+) reused,"
        r" ([\d.]+) s"
    )
    return [(int(a), int(b), int(c), float(d)) for a, b, c, d in re.findall(pattern, text)]


def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="statuspage-crowd-"))
    port = free_port()
    processes: list[subprocess.Popen] = []
    from bench.fanout import CountingSink, start_sink

    sink = CountingSink()
    smtp_port = start_sink(sink)
    extra = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "false",
    }
    database_url = None
    if args.postgres:
        postgres_recreate(POSTGRES_NAME)
        database_url = f"{POSTGRES_SERVER}/{POSTGRES_NAME}"
        extra |= {"CACHE_URL": REDIS_CACHE, "CELERY_BROKER_URL": REDIS_BROKER}
        for url in (REDIS_CACHE, REDIS_BROKER):
            subprocess.run(
                ["redis-cli", "-n", url.rsplit("/", 1)[1], "FLUSHDB"],
                check=True,
                capture_output=True,
            )
    try:
        site = build_site(folder, database_url=database_url, port=port, extra_env=extra)
        env = site.env
        python = sys.executable

        targets = subprocess.Popen(
            [python, __file__, "targets"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            start_new_session=True,  # stop_process ends the process group
        )
        processes.append(targets)
        assert targets.stdout is not None
        target_port = int(targets.stdout.readline())
        began = time.perf_counter()
        setup = subprocess.run(
            [python, __file__, "setup", "--target-port", str(target_port)],
            env=env, cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
        facts = json.loads(setup.stdout.strip().splitlines()[-1])
        print(
            f"{SUBSCRIBERS:,} subscribers, {facts['checks']} checks and the staff's incident "
            f"set up in {time.perf_counter() - began:.0f} s",
            flush=True,
        )

        worker_log = folder / "worker.log"
        with open(worker_log, "wb") as log:
            celery = f"{Path(python).parent / 'celery'} -A statuspage"
            worker = subprocess.Popen(
                [
                    *(["nice", "-n", str(args.worker_nice)] if args.worker_nice else []),
                    python, str(ROOT / "bin" / "supervise.py"),
                    f"worker={celery} worker --loglevel=INFO --concurrency=2 -n worker@%h",
                    f"control={celery} worker --loglevel=INFO --concurrency=1 -Q control,checks"
                    " -n control@%h",
                    f"beat={celery} beat --loglevel=INFO"
                    f" --schedule {folder / 'celerybeat-schedule'}",
                ],
                env={**env, "LOG_LEVEL": "INFO"}, cwd=ROOT, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        processes.append(worker)
        server = start_app_server(
            args.server, "statuspage.wsgi:application", env, port=port, workers=args.workers,
            threads=args.threads, log=folder / "server.log", access_log=True,
        )  # fmt: skip
        processes.append(server.process)
        manifest = current_manifest(site)
        paths = reader_paths(manifest)

        # Let the checker find its feet: every check probed once or twice, components flapping.
        print(f"warming up for {args.warmup:.0f} s (worker, beat, checker)", flush=True)
        time.sleep(args.warmup)
        # The answers from here on: gunicorn's access log is truncated, granian's (its own
        # log) is read from this offset.
        access = folder / ("server.access" if args.server == "gunicorn" else "server.log")
        if args.server == "gunicorn":
            access.write_text("")
        access_offset = access.stat().st_size
        log_offset = worker_log.stat().st_size
        sent_before = sink.accepted

        poller = LagPoller(port)
        staff_log = open(folder / "staff.log", "wb")  # noqa: SIM115 - closed with the folder
        staff_process = subprocess.Popen(
            [python, __file__, "staff", "--incident", str(facts["incident"]),
             "--seconds", str(args.seconds)],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=staff_log, text=True,
            start_new_session=True,
        )  # fmt: skip
        processes.append(staff_process)
        updates: list[Update] = []

        def read_staff() -> None:
            assert staff_process.stdout is not None
            for line in staff_process.stdout:
                data = json.loads(line)
                updates.append(Update(data["n"], data["began"], data["committed"]))

        staff_reader = threading.Thread(target=read_staff, daemon=True)
        staff_reader.start()
        poller.thread.start()
        window_start = time.time()
        tracked = {
            "app server (readers)": server.pid,
            "Celery workers + beat": worker.pid,
            "staff process": staff_process.pid,
            "HTTP targets": targets.pid,
        }
        cpu_start = cpu_snapshot(tracked)
        cpu_before = cpu_start["app server (readers)"]
        readers = wrk(
            port, paths, seconds=args.seconds, connections=READERS,
            encoding=CHROMIUM_ENCODING, folder=folder,
        )  # fmt: skip
        cpu_end = cpu_snapshot(tracked)
        cpu_after = cpu_end["app server (readers)"]
        readers.cpu_ms_per_request = (cpu_after - cpu_before) * 1000 / max(1, readers.requests)
        readers.load = load_average()
        window_end = time.time()
        staff_process.wait(timeout=60)
        staff_reader.join(10)
        # The last updates are published after the readers stop: wait for them to show.
        deadline = time.monotonic() + args.tail
        last = max((u.number for u in updates), default=0)
        while time.monotonic() < deadline and max(poller.first_seen, default=0) < last:
            time.sleep(0.5)
        poller.stop.set()
        poller.thread.join(15)
        sent = sink.accepted - sent_before
        publications = published_lines(worker_log, log_offset)
        stats = subprocess.run(
            [python, __file__, "report", "--since", str(window_start), "--until",
             str(window_end)],
            env=env, cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
        facts |= json.loads(stats.stdout.strip().splitlines()[-1])
        print_report(
            args, readers, access_log_stats(access, access_offset), updates, poller,
            publications, facts, sent, window_end - window_start,
        )  # fmt: skip
        print_cpu(cpu_start, cpu_end, window_end - window_start, os.cpu_count() or 1)
    finally:
        for process in reversed(processes):
            # Longer than bin/supervise.py's own stop timeout (20 s), so the supervisor is never
            # killed while its children are still stopping (they would outlive the run).
            stop_process(process, timeout=30)
        if args.postgres:
            for url in (REDIS_CACHE, REDIS_BROKER):
                subprocess.run(
                    ["redis-cli", "-n", url.rsplit("/", 1)[1], "FLUSHDB"], capture_output=True
                )
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def print_report(
    args: argparse.Namespace,
    readers: Any,
    kinds: dict[str, dict[str, Any]],
    updates: list[Update],
    poller: LagPoller,
    publications: list[tuple[int, int, int, float]],
    facts: dict[str, Any],
    sent: int,
    seconds: float,
) -> None:
    backend = "PostgreSQL + Redis" if args.postgres else "SQLite + file cache + file broker"
    print(
        f"\nthe crowd on {backend}: {seconds:.0f} s; {args.server} {args.workers} workers x "
        f"{args.threads} threads; the workers and beat as bin/start runs them"
    )
    print(
        f"\nreaders: wrk, {READERS} connections in a closed loop, {len(set(kinds))} kinds of URL "
        f"(Accept-Encoding: {CHROMIUM_ENCODING})"
    )
    print(
        f"  {'requests':>9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'5xx':>5} "
        f"{'non-2xx':>7} {'sock err':>8} {'CPU ms/req':>10}  load avg"
    )
    print(
        f"  {readers.requests:>9} {readers.rate:>7.0f} {readers.p50:>7.1f} {readers.p99:>7.1f} "
        f"{readers.max:>7.0f} {readers.server_errors:>5} {readers.non_2xx:>7} "
        f"{readers.socket_errors:>8} {readers.cpu_ms_per_request:>10.3f}  {readers.load}"
    )
    verdicts = [
        ("p99", f"<= {P99_TARGET_MS} ms", f"{readers.p99:.1f} ms", readers.p99 <= P99_TARGET_MS),
        ("max", f"<= {MAX_TARGET_MS} ms", f"{readers.max:.0f} ms", readers.max <= MAX_TARGET_MS),
        (
            "non-2xx and socket errors",
            "0",
            f"{readers.non_2xx + readers.socket_errors}",
            readers.non_2xx + readers.socket_errors == 0,
        ),
    ]
    for name, target, value, ok in verdicts:
        print(f"  {name:<26} target {target:<10} got {value:<10} {'meets' if ok else 'misses'}")

    print("\n  per kind of URL, server side (the server's access log, readers and poller):")
    print(
        f"  {'URL kind':<36} {'requests':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'non-2xx':>7}  statuses"
    )
    for kind, data in sorted(kinds.items(), key=lambda item: -len(item[1]["us"])):
        times = [us / 1000 for us in data["us"]]
        non2 = sum(n for s, n in data["statuses"].items() if not 200 <= s < 300)
        shown = " ".join(f"{s}x{n}" for s, n in sorted(data["statuses"].items()))
        print(
            f"  {kind:<36} {len(times):>8} {percentile(times, 0.5):>7.1f} "
            f"{percentile(times, 0.99):>7.1f} {max(times):>7.0f} {non2:>7}  {shown}"
        )

    expected = int(seconds)
    calls = [u.committed - u.began for u in updates]
    print("\nstaff updates (incidents.services.incident_post_update from their own process):")
    print(
        f"  expected {expected}, posted {len(updates)}; the service call took p50 "
        f"{percentile(calls, 0.5) * 1000:.0f} ms, p99 {percentile(calls, 0.99) * 1000:.0f} ms, "
        f"max {max(calls, default=0) * 1000:.0f} ms"
    )
    lags = poller.lags(updates)
    shown_lags = [lag for lag in lags if lag is not None]
    missing = sum(1 for lag in lags if lag is None)
    print("publication lag (commit to `/` showing the update or a later one, polled every 0.1 s):")
    if shown_lags:
        print(
            f"  p50 {percentile(shown_lags, 0.5):.1f} s, p99 {percentile(shown_lags, 0.99):.1f} s, "
            f"max {max(shown_lags):.1f} s over {len(shown_lags)} updates"
            + (f"; {missing} never showed within the wait" if missing else "")
            + f"; {len(poller.first_seen)} distinct updates ever shown on `/`"
        )
    else:
        print(f"  no update showed on `/` within {args.tail:.0f} s of the end")
    if poller.errors:
        print(f"  the poller's failed reads: {dict(poller.errors)}")
    if publications:
        durations = [d for _, _, _, d in publications]
        print(
            f"publications by the worker from the window's start: {len(publications)}, "
            f"{statistics.median(durations):.1f} s median, {max(durations):.1f} s longest; "
            f"answers rendered {sum(r for r, _, _, _ in publications):,}, "
            f"brought up to date {sum(s for _, s, _, _ in publications):,}, "
            f"reused {sum(u for _, _, u, _ in publications):,}"
        )
    else:
        print("publications by the worker from the window's start: none")
    print(
        f"checker: {facts['probes']:,} probes in the window ({facts['probes_failed']:,} failed; "
        f"due {facts['checks'] / CHECK_INTERVAL * seconds:,.0f}), {facts['transitions']} "
        f"confirmed state changes, {facts['automated_incidents']} incidents opened by it in all"
    )
    deliveries = facts["deliveries"]
    print(
        f"notifications: {facts['events']} events, deliveries {deliveries}; "
        f"{sent:,} emails accepted by the sink from the window's start"
    )


def print_cpu(start: dict[str, float], end: dict[str, float], seconds: float, cores: int) -> None:
    """Where the machine's processor time went in the window, in cores."""
    used = {name: (end[name] - start[name]) / seconds for name in start}
    machine = used.pop("machine")
    print(f"\nprocessor time in the window, in cores ({cores} on this machine):")
    for name, value in used.items():
        print(f"  {name:<46} {value:5.2f}")
    rest = machine - sum(used.values())
    print(f"  {'the rest (PostgreSQL, Redis, wrk, other users)':<46} {rest:5.2f}")
    print(f"  {'the machine, busy':<46} {machine:5.2f}  (load average {load_average()})")


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "targets":
        serve_targets()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if command in ("setup", "staff", "report"):
        parser.add_argument("command")
        parser.add_argument("--target-port", type=int)
        parser.add_argument("--incident", type=int)
        parser.add_argument("--seconds", type=float)
        parser.add_argument("--since", type=float)
        parser.add_argument("--until", type=float)
        child = parser.parse_args()
        if command == "setup":
            set_up_data(child.target_port)
        elif command == "staff":
            staff(child.incident, child.seconds)
        else:
            report(child.since, child.until)
        return
    parser.add_argument("--seconds", type=float, default=60, help="length of the crowd")
    parser.add_argument("--warmup", type=float, default=25, help="seconds before it")
    parser.add_argument(
        "--tail", type=float, default=180, help="longest wait for the last update to show"
    )
    # As bin/start and the README's production line run the application server.
    parser.add_argument("--server", choices=SERVERS, default="granian")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis")
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="the background processes' niceness (bin/start's WORKER_NICE, 10 by default)",
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup, args.tail = 15, 10, 60
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    run(args)


if __name__ == "__main__":
    main()
