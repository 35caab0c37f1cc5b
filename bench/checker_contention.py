"""The checker on SQLite under contention: does every tick claim the checks that are due?

The Celery processes are bin/start's (a worker for every queue with two processes, a worker for
the control and checks queues, beat), or with `--layout single` one worker consuming every
queue with its beat (`--beat --concurrency=2`, as bin/start ran it before, and as a small
deployment may). Beside them, the load bench/crowd.py puts on the database, without the web
readers: 300 HTTP checks every 10 s against targets that fail for 30 s and pass for 30 s
(bench/crowd.py's, so the checker opens and resolves incidents all the time), 1,000 email
subscribers told of each change (mail taken by an SMTP server that, like a real relay, takes
100 ms to accept a message), and a staff process posting an update a second. Meanwhile the
bench reads the database every second. Run it with CHECKER_MIN_OUTAGE_SECONDS=0 and
NOTIFY_MIN_INTERVAL_SECONDS=0 for the storm as it was before flap damping and coalescing.

It prints each tick the worker logged (when it ended, how long it took, how many checks it
claimed) beside how many checks were overdue (due more than 15 s ago) at that moment, and a
summary: probes made against probes due, ticks the worker discarded because they had expired
while waiting, the longest time without a tick, and the most checks overdue at once.

What it showed: the stall of issue 11 was not SQLite refusing claims but ticks that never ran.
With the worker's two processes each busy for 20 to 30 s with a batch of emails, a tick waited
in the queue longer than its expiry (one tick, 10 s) and was discarded on arrival, tick after
tick: no check was probed for over a minute. Ticks now expire after 300 s.

Usage (from the repository root; SQLite in a temporary folder, the embedded broker by default):

    .venv/bin/python bench/checker_contention.py                  # 90 s, bin/start's processes
    .venv/bin/python bench/checker_contention.py --layout single --seconds 60 --redis

This is not a test: it prints figures, it does not judge them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serving import stop_process  # noqa: E402 - the repository root is on the path now

CROWD = ROOT / "bench" / "crowd.py"
REDIS_BROKER = "redis://127.0.0.1:6379/7"
OVERDUE = dt.timedelta(seconds=15)
# A tick as the worker logs it: one structured line (statuspage's log format), or Celery's own.
TICK_LINES = [
    re.compile(
        r"^ts=(?P<at>\S+) .*event=checker\.tick .*probed=(?P<claimed>\d+)"
        r".*task_id=(?P<task>[\w-]+) runtime_seconds=(?P<seconds>[\d.]+)"
    ),
    re.compile(
        r"\[(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+: \w+/(?P<task>[\w-]+)\].*"
        r"checker\.run_due_checks\[[^\]]+\] succeeded in (?P<seconds>[\d.]+)s: (?P<claimed>\d+)"
    ),
]


def tick_time(text: str) -> float:
    if "T" in text:
        return dt.datetime.fromisoformat(text).timestamp()
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC).timestamp()


def set_up() -> None:
    """51 components, then bench/crowd.py's checks, subscribers and staff incident."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
    import django

    django.setup()
    from statuspage.models import Component

    Component.objects.bulk_create(
        [Component(name=f"Service {n:02d}", position=n) for n in range(51)]
    )
    from bench import crowd

    crowd.set_up_data(int(sys.argv[2]))


def overdue_now() -> tuple[int, int]:
    """(checks overdue by more than OVERDUE, active checks), read as any process would."""
    from django.db import connection
    from django.utils import timezone

    from checker.models import CheckState

    now = timezone.now()
    try:
        late = CheckState.objects.filter(
            owner__is_active=True, next_run_at__lt=now - OVERDUE
        ).count()
        total = CheckState.objects.filter(owner__is_active=True).count()
    finally:
        connection.close()
    return late, total


def probes_since(began: float) -> int:
    from django.db import connection

    from checker.models import CheckResult

    try:
        return CheckResult.objects.filter(at__gte=dt.datetime.fromtimestamp(began, dt.UTC)).count()
    finally:
        connection.close()


def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="checker-contention-"))
    from bench.fanout import CountingSink, start_sink

    class SlowSink(CountingSink):
        """An SMTP server taking `--smtp-ms` to accept each message, as a real relay does: a
        worker's batch of 200 emails then takes tens of seconds."""

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            await asyncio.sleep(args.smtp_ms / 1000)
            return await super().handle_DATA(server, session, envelope)

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # the SMTP server's chatter
    sink = SlowSink()
    smtp_port = start_sink(sink, kind="aiosmtpd")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
        "VAR_DIR": str(folder),
        "SECRET_KEY": "checker-contention-benchmark",
        "PUBLISH_ROOT": str(folder / "public"),
        "STATIC_ROOT": str(folder / "static"),
        "SITE_URL": "http://127.0.0.1:8000",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
    }
    if args.redis:
        env["CELERY_BROKER_URL"] = REDIS_BROKER
        subprocess.run(["redis-cli", "-n", "7", "FLUSHDB"], check=True, capture_output=True)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "VAR_DIR", "SECRET_KEY")})
    processes: list[subprocess.Popen] = []
    python = sys.executable
    try:
        for command in (["migrate", "--no-input"], ["collectstatic", "--no-input"]):
            subprocess.run(
                [python, "manage.py", *command, "-v", "0"], env=env, cwd=ROOT, check=True
            )
        targets = subprocess.Popen(
            [python, str(CROWD), "targets"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            start_new_session=True,
        )
        processes.append(targets)
        assert targets.stdout is not None
        target_port = int(targets.stdout.readline())
        setup = subprocess.run(
            [python, __file__, "setup", str(target_port)],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        facts = json.loads(setup.stdout.strip().splitlines()[-1])
        # Every process logs to one file: the ticks are found in it whichever worker ran them.
        worker_log = folder / "worker.log"
        celery = [str(Path(python).parent / "celery"), "-A", "statuspage"]
        if args.layout == "single":
            commands = [
                [*celery, "worker", "--beat", "--loglevel=INFO", "--concurrency=2",
                 "--schedule", str(folder / "celerybeat-schedule")],
            ]  # fmt: skip
        else:  # bin/start's: a worker for every queue, one for control and checks, beat
            commands = [
                [*celery, "worker", "--loglevel=INFO", "--concurrency=2", "-n", "worker@%h"],
                [*celery, "worker", "--loglevel=INFO", "--concurrency=1", "-Q", "control,checks",
                 "-n", "control@%h"],
                [*celery, "beat", "--loglevel=INFO", "--schedule",
                 str(folder / "celerybeat-schedule")],
            ]  # fmt: skip
        with open(worker_log, "ab") as log:
            for command in commands:
                processes.append(
                    subprocess.Popen(
                        command,
                        env={**env, "LOG_LEVEL": "INFO"},
                        cwd=ROOT,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        staff = subprocess.Popen(
            [
                python,
                str(CROWD),
                "staff",
                "--incident",
                str(facts["incident"]),
                "--seconds",
                str(args.seconds),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        processes.append(staff)

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
        import django

        django.setup()
        samples: list[tuple[float, int]] = []
        total = facts["checks"]
        began = time.time()
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            late, total = overdue_now()
            samples.append((time.time(), late))
            time.sleep(1)
        report(worker_log, samples, total, args, sink.accepted, probes_since(began))
    finally:
        for process in reversed(processes):
            stop_process(process)
        if args.redis:
            subprocess.run(["redis-cli", "-n", "7", "FLUSHDB"], capture_output=True)
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def report(
    worker_log: Path,
    samples: list[tuple[float, int]],
    total: int,
    args: argparse.Namespace,
    mails: int,
    probes: int,
) -> None:
    text = worker_log.read_text(errors="replace")
    ticks: list[tuple[float, str, float, int]] = []
    for line in text.splitlines():
        match = next((m for m in (p.search(line) for p in TICK_LINES) if m), None)
        if match:
            ticks.append(
                (
                    tick_time(match["at"]),
                    match["task"][:18],
                    float(match["seconds"]),
                    int(match["claimed"]),
                )
            )
    broker = "Redis" if args.redis else "the embedded broker"
    layout = (
        "one worker --beat --concurrency=2"
        if args.layout == "single"
        else "bin/start's processes (worker, control worker, beat)"
    )
    print(
        f"\n{total} checks every 10 s on SQLite, {broker}, {args.seconds:.0f} s, {layout} "
        f"(staff update a second, 1,000 subscribers, SMTP {args.smtp_ms:.0f} ms a message)"
    )
    print(f"  {'tick ended':>10} {'task':<18} {'seconds':>7} {'claimed':>7} {'overdue':>7}")
    starved = run_length = longest = 0
    for ended, task, seconds, claimed in ticks:
        near = [late for at, late in samples if abs(at - ended) <= 1.5]
        late = max(near, default=0)
        clock = dt.datetime.fromtimestamp(ended, dt.UTC).strftime("%H:%M:%S")
        print(f"  {clock:>10} {task:<18} {seconds:>7.1f} {claimed:>7} {late:>7}")
        if claimed == 0 and late > 0:
            starved += 1
            run_length += 1
            longest = max(longest, run_length)
        else:
            run_length = 0
    errors = len(re.findall(r"database is locked", text))
    discarded = len(re.findall(r"Discarding revoked task: checker\.run_due_checks", text))
    ends = [samples[0][0]] + [ended for ended, *_ in ticks] + [samples[-1][0]] if samples else []
    gap = max((b - a for a, b in zip(ends, ends[1:], strict=False)), default=0.0)
    print(
        f"\nprobes: {probes:,} made, {total * args.seconds / 10:,.0f} due; ticks run: "
        f"{len(ticks)}, discarded as expired: {discarded}; longest time without a tick: "
        f"{gap:.0f} s\nticks that claimed nothing while checks were overdue: {starved} "
        f"(longest run {longest}); most checks overdue at once: "
        f"{max((late for _, late in samples), default=0)} of {total}; "
        f"'database is locked' in the worker's log: {errors}; mails accepted: {mails:,}"
    )


def main() -> None:
    if sys.argv[1:2] == ["setup"]:
        set_up()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90, help="length of the run")
    parser.add_argument(
        "--layout",
        choices=["start", "single"],
        default="start",
        help="bin/start's processes (default), or one worker with --beat for every queue",
    )
    parser.add_argument("--redis", action="store_true", help="Redis as the broker (db 7)")
    parser.add_argument(
        "--smtp-ms", type=float, default=100, help="milliseconds the SMTP server takes a message"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
