"""Benchmark of the public home page and summary.json on the standard demo and the large data set.

Usage (from the repository root):

    .venv/bin/python bench/home_page.py                  # both data sets, 50 renders each
    .venv/bin/python bench/home_page.py --runs 200       # more renders
    .venv/bin/python bench/home_page.py --only large     # one data set: "demo" or "large"

Each data set is built with `manage.py demo` (or `demo --large`) in its own fresh SQLite file
in a temporary directory, by a child process of this script whose DATABASE_URL points there
and which publishes nothing (PUBLISH_MODE=off), so only the requests below are timed.
The child then requests "/" and "/api/v2/summary.json" with Django's test client and
reports, for each of them on that data set:

- queries: the SQL queries of one full render,
- KB: the size of the body, raw and gzipped (level 6),
- rendered: median and p90 time of a request when nothing is cached (the cache is switched
  to Django's dummy backend), which is the cost of the first visitor after every change,
- cpu: the median processor time of the uncached request in this process (SQLite runs in
  it too), which other work on a busy machine barely disturbs, unlike the wall-clock times,
- cached: median and p90 time with the configured cache, what a crowd mostly gets.

Times are wall-clock milliseconds through the whole Django stack (middleware included),
on SQLite; they are for comparing the two data sets and spotting regressions, not absolute.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_SETS = {"demo": [], "large": ["--large"]}
PATHS = {"home": "/", "summary": "/api/v2/summary.json"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="renders per measurement")
    parser.add_argument("--only", choices=sorted(DATA_SETS), help="benchmark one data set")
    parser.add_argument("--child", choices=sorted(DATA_SETS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.runs)))
        return

    names = [args.only] if args.only else list(DATA_SETS)
    print(f"Home page and summary.json, {args.runs} requests per measurement, SQLite")
    print(
        f"{'data set':<10} {'build s':>8} {'path':<8} {'queries':>8} {'KB':>6} {'gzip KB':>8} "
        f"{'rendered median':>16} {'p90':>7} {'cpu':>7} {'cached median':>14} {'p90':>7}"
    )
    for name in names:
        result = run_child(name, args.runs)
        build = f"{result['build_seconds']:>8.1f}"
        for page in PATHS:
            row = result[page]
            print(
                f"{name:<10} {build} {page:<8} {row['queries']:>8} "
                f"{row['kilobytes']:>6.0f} {row['gzip_kilobytes']:>8.1f} "
                f"{row['rendered_median_ms']:>13.1f} ms "
                f"{row['rendered_p90_ms']:>7.1f} {row['rendered_cpu_ms']:>7.1f} "
                f"{row['cached_median_ms']:>11.2f} ms "
                f"{row['cached_p90_ms']:>7.2f}"
            )
            build = f"{'':>8}"


def run_child(name: str, runs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="statuspage-bench-") as directory:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=f"sqlite:///{directory}/bench.sqlite3",
            VAR_DIR=directory,
            DJANGO_SETTINGS_MODULE="statuspage.settings",
            DEBUG="false",
            # Production settings want a key; this throwaway one lives as long as the data.
            SECRET_KEY=secrets.token_urlsafe(50),
            # No background publisher: it would render the site in this process while it is
            # being timed.
            PUBLISH_MODE="off",
        )
        completed = subprocess.run(
            [sys.executable, __file__, "--child", name, "--runs", str(runs)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    if completed.returncode != 0:
        sys.exit(f"benchmarking {name} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(name: str, runs: int) -> dict:
    """In the child process: build the data set, then time the home page and summary.json."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    call_command("demo", *DATA_SETS[name], verbosity=0, stdout=io.StringIO())
    result: dict = {"build_seconds": time.perf_counter() - began}
    for page, path in PATHS.items():
        result[page] = measure_path(path, runs)
    return result


def measure_path(path: str, runs: int) -> dict[str, float]:
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    client = Client()
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    storages = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    dummy = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

    def timed() -> tuple[list[float], list[float]]:
        times, processor_times = [], []
        for _ in range(runs):
            start, processor_start = time.perf_counter(), time.process_time()
            response = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            processor_times.append((time.process_time() - processor_start) * 1000)
            assert response.status_code == 200, response.status_code
        return times, processor_times

    with override_settings(STORAGES=storages | {"staticfiles": static}):
        with override_settings(CACHES=dummy):
            client.get(path)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path)
            # Count now: every request starts by clearing the connection's query log.
            query_count = len(queries)
            rendered, rendered_cpu = timed()
        client.get(path)
        cached, _ = timed()
    return {
        "queries": query_count,
        "kilobytes": len(response.content) / 1024,
        "gzip_kilobytes": len(gzip.compress(response.content, compresslevel=6)) / 1024,
        "rendered_median_ms": statistics.median(rendered),
        "rendered_p90_ms": percentile(rendered, 0.9),
        "rendered_cpu_ms": statistics.median(rendered_cpu),
        "cached_median_ms": statistics.median(cached),
        "cached_p90_ms": percentile(cached, 0.9),
    }


if __name__ == "__main__":
    main()
