"""Benchmark of the checker: one worker process probing 1,000 and 10,000 HTTP checks at 60 s.

It starts a small HTTP server in a separate process, a real Celery worker on the "checks" queue
(solo pool: one process, the probes run on its event loop) with its beat scheduler, lets every
check run once, then measures for a while and prints:

- checks per second sustained (results written in the measured window),
- the worker process's CPU (share of one core) and peak memory (VmHWM),
- database rows written per second,
- the database's growth per day of raw results, the bound the retention puts on it, and the
  size of a year of rollups for 1,000 checks.

Usage (from the project's root; needs Redis, uses its database 3):

    .venv/bin/python bench/checker.py                      # SQLite file in a temporary folder
    .venv/bin/python bench/checker.py --postgres           # PostgreSQL: checker_dev, recreated
    .venv/bin/python bench/checker.py --checks 1000 --measure 120 --warmup 75

This is not a test: it prints figures, it does not judge them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/3"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/checker_dev"
INTERVAL = 60
TICK_LINE = re.compile(
    r"checker\.run_due_checks\[[^\]]+\] succeeded in (?P<seconds>[\d.]+)s: (?P<claimed>\d+)"
)
RETENTION_DAYS = 7


# The target: a tiny keep-alive HTTP/1.1 server answering 200 to everything.


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    body = b'{"status": "ok"}'
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                break
            writer.write(answer)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve() -> None:
    server = await asyncio.start_server(_serve_connection, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


# Reading a process's CPU time and peak memory from /proc.


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ticks_in_log(path: Path, offset: int) -> tuple[list[float], list[int]]:
    """Durations and claimed counts of the ticks the worker logged after `offset`."""
    with path.open() as log:
        log.seek(offset)
        lines = log.read().splitlines()
    durations, claimed = [], []
    for line in lines:
        match = TICK_LINE.search(line)
        if match:
            durations.append(float(match["seconds"]))
            claimed.append(int(match["claimed"]))
    return durations, claimed


# The run.


def setup_django(database_url: str, var_dir: Path) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["VAR_DIR"] = str(var_dir)
    os.environ["CELERY_BROKER_URL"] = REDIS_URL
    # A key of the run's own: the settings refuse to start without one when DEBUG is off.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare_postgres() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS checker_dev WITH (FORCE)")
        conn.execute("CREATE DATABASE checker_dev")


def create_checks(count: int, port: int) -> None:
    from django.utils import timezone

    from checker.models import Check, CheckState
    from statuspage.models import Component

    component = Component.objects.create(name="Benchmark target")
    Check.objects.bulk_create(
        [
            Check(
                component=component,
                name=f"bench {n}",
                url=f"http://127.0.0.1:{port}/c/{n}",
                interval_seconds=INTERVAL,
                timeout_seconds=10,
            )
            for n in range(count)
        ],
        batch_size=1000,
    )
    now = timezone.now()
    # As the scheduler does for new checks: first runs spread over the first interval.
    CheckState.objects.bulk_create(
        [
            CheckState(owner_id=pk, next_run_at=now + dt.timedelta(seconds=random.uniform(0, 60)))
            for pk in Check.objects.values_list("pk", flat=True)
        ],
        batch_size=1000,
    )


def rows_written() -> int | None:
    """Rows inserted, updated and deleted so far (PostgreSQL's statistics), or None."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables"
        )
        return int(cursor.fetchone()[0])


def table_bytes(tables: list[str]) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CHECKPOINT")
            total = 0
            for table in tables:
                cursor.execute("SELECT pg_total_relation_size(%s)", [table])
                total += int(cursor.fetchone()[0])
            return total
        marks = ",".join("%s" for _ in tables)
        cursor.execute(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN "
            f"(SELECT name FROM sqlite_master WHERE tbl_name IN ({marks}))",
            tables,
        )
        return int(cursor.fetchone()[0])


def synthetic_rollup_bytes(samples: int) -> float:
    """Bytes one check's month of rollups takes in this database, measured on `samples` rows
    of realistic figures (hourly means around 120 ms, a failure now and then)."""
    from checker.models import Check, CheckRollup
    from checker.rollups import Figures, MonthSeries

    rng = random.Random(1)
    ids = list(Check.objects.values_list("pk", flat=True)[:samples])
    before = table_bytes(["checker_checkrollup"])
    rows = []
    for pk in ids:
        hours, days = MonthSeries(31 * 24), MonthSeries(31)
        base = rng.uniform(40, 400)
        for slot in range(31 * 24):
            mean = max(1, round(rng.gauss(base, base * 0.12)))
            failures = 1 if rng.random() < 0.01 else 0
            hours.set(slot, Figures(60, failures, 0, mean, mean + rng.randint(5, round(base))))
        for slot in range(31):
            mean = max(1, round(rng.gauss(base, base * 0.05)))
            days.set(slot, Figures(1440, rng.randint(0, 3), 0, mean, round(mean * 1.6)))
        rows.append(
            CheckRollup(
                owner_id=pk, month=dt.date(2000, 1, 1), hours=hours.encode(), days=days.encode()
            )
        )
    CheckRollup.objects.bulk_create(rows, batch_size=500)
    return (table_bytes(["checker_checkrollup"]) - before) / len(ids)


def run(count: int, *, postgres: bool, warmup: float, measure: float) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="checker-bench-"))
    if postgres:
        prepare_postgres()
        database_url = POSTGRES_URL
    else:
        database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VAR_DIR": str(workdir),
        "CELERY_BROKER_URL": REDIS_URL,
        "CHECKER_RESULT_RETENTION_DAYS": str(RETENTION_DAYS),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    subprocess.run(["redis-cli", "-n", "3", "FLUSHDB"], check=True, capture_output=True)
    setup_django(database_url, workdir)
    from django.db import connection
    from django.utils import timezone

    from checker.models import CheckResult, CheckState

    target = subprocess.Popen(
        [python, __file__, "serve"], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert target.stdout is not None
    port = int(target.stdout.readline())
    create_checks(count, port)
    connection.close()
    log = open(workdir / "worker.log", "w")  # noqa: SIM115 (closed when the worker stops)
    worker = subprocess.Popen(
        [
            str(Path(python).parent / "celery"),
            "-A",
            "statuspage",
            "worker",
            "-Q",
            "checks",
            "--pool",
            "solo",
            "--beat",
            "--schedule",
            str(workdir / "beat-schedule"),
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        print(f"\n== {count:,} HTTP checks every {INTERVAL} s, {connection.vendor} ==", flush=True)
        time.sleep(warmup)
        log.flush()
        log_offset = (workdir / "worker.log").stat().st_size
        start_cpu, start_rows, start = cpu_seconds(worker.pid), rows_written(), timezone.now()
        time.sleep(measure)
        end_cpu, end_rows, end = cpu_seconds(worker.pid), rows_written(), timezone.now()
        peak = peak_rss_mb(worker.pid)
        # Results are written when their tick ends: let the ticks of the window finish.
        time.sleep(25)
        connection.close()
        results = CheckResult.objects.filter(at__gte=start, at__lt=end).count()
        seconds = (end - start).total_seconds()
        rate = results / seconds
        behind = CheckState.objects.filter(next_run_at__lt=end - dt.timedelta(seconds=30)).count()
        print(
            f"checks/s sustained:          {rate:,.1f}  ({rate * 60:,.0f} per minute; "
            f"due {count / INTERVAL:,.1f}/s)"
        )
        print(f"checks more than 30 s late:  {behind:,}")
        durations, claimed = ticks_in_log(workdir / "worker.log", log_offset)
        if durations:
            print(
                f"ticks:                       {len(durations)}, "
                f"{sum(claimed) / len(claimed):,.0f} checks each, "
                f"{statistics.median(durations):.1f} s median, {max(durations):.1f} s longest "
                "(each waits for the probes due in the next 10 s)"
            )
        print(
            f"worker CPU:                  {(end_cpu - start_cpu) / seconds * 100:.1f}% of one core"
        )
        print(f"worker peak memory (VmHWM):  {peak:,.0f} MB")
        if start_rows is not None and end_rows is not None:
            print(
                f"DB rows written/s:           {(end_rows - start_rows) / seconds:,.0f}  "
                "(PostgreSQL statistics: inserts + updates + deletes)"
            )
        else:
            print(
                f"DB rows written/s:           {rate * 3:,.0f}  (per probe: 1 result inserted, "
                "its state updated at claim and at record)"
            )

        raw = CheckResult.objects.count()
        raw_bytes = table_bytes(["checker_checkresult"]) / raw
        per_day_1000 = 1000 * 86400 / INTERVAL
        print(
            f"raw result size:             {raw_bytes:,.0f} bytes a row, indexes included "
            f"({raw:,} rows)"
        )
        print(
            f"growth per day of results:   {per_day_1000 * raw_bytes / 1e6:,.0f} MB "
            "for 1,000 checks "
            f"({count * 86400 / INTERVAL * raw_bytes / 1e6:,.0f} MB for {count:,})"
        )
        print(
            "raw results bounded at:      "
            f"{per_day_1000 * raw_bytes * RETENTION_DAYS / 1e6:,.0f} MB "
            f"for 1,000 checks (retention {RETENTION_DAYS} days)"
        )
        month = synthetic_rollup_bytes(min(count, 1000))
        print(
            f"rollups:                     {month:,.0f} bytes a check-month; "
            f"{month * 12 * 1000 / 1e6:,.1f} MB a year for 1,000 checks"
        )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        target.terminate()
        target.wait(10)
        connection.close()
        subprocess.run(["redis-cli", "-n", "3", "FLUSHDB"], capture_output=True)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        asyncio.run(_serve())
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", default="1000,10000", help="comma-separated counts")
    parser.add_argument(
        "--postgres", action="store_true", help="use PostgreSQL (checker_dev, recreated)"
    )
    parser.add_argument("--warmup", type=float, default=75.0, help="seconds before measuring")
    parser.add_argument("--measure", type=float, default=120.0, help="seconds measured")
    args = parser.parse_args()
    counts = [int(c) for c in args.checks.split(",")]
    if len(counts) > 1:
        # Django is set up once per process: each count runs in a process of its own.
        for count in counts:
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--checks",
                    str(count),
                    "--warmup",
                    str(args.warmup),
                    "--measure",
                    str(args.measure),
                ]
                + (["--postgres"] if args.postgres else []),
                check=True,
            )
        return
    run(counts[0], postgres=args.postgres, warmup=args.warmup, measure=args.measure)


if __name__ == "__main__":
    main()
