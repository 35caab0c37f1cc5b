"""Load benchmark: the public page and summary.json under a crowd, served by gunicorn.

Usage (from the repository root):

    .venv/bin/python bench/load.py                    # 15 s per measurement, 64 connections
    .venv/bin/python bench/load.py --duration 30 --connections 64
    CACHE_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/load.py   # cache in Redis

It builds `manage.py demo --large` in a fresh SQLite file in a temporary directory (or uses
DATABASE_URL when it names PostgreSQL: that database is wiped by `demo --reset`), collects the
static files and starts gunicorn with production settings (DEBUG off) on 127.0.0.1. Then, with
`wrk` (Debian's package; a small Python load generator stands in when it is missing), it loads
`/` and `/api/v2/summary.json` with N concurrent connections and prints requests/s and p50/p99
latency for each:

- cached: the public cache on (files under the temporary directory unless CACHE_URL is set),
- uncached: Django's dummy cache, so every request renders the page afresh, the cost of the
  first visitor after each change.

It also checks that a conditional GET with the ETag gets `304` with an empty body, and prints
the SQL query count and median render time of an uncached home page (bench/home_page.py).
Traffic goes to 127.0.0.1 only; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
URLS = ["/", "/api/v2/summary.json"]
PORT = 8765
WARMUP_SECONDS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument(
        "--identity",
        action="store_true",
        help="ask for uncompressed answers (by default the load asks for gzip, as browsers do)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="statuspage-load-") as directory:
        env = dict(os.environ)
        database = env.get("DATABASE_URL", "")
        if not database.startswith(("postgres://", "postgresql://")):
            database = f"sqlite:///{directory}/load.sqlite3"
        env.update(
            DATABASE_URL=database,
            VAR_DIR=directory,
            STATIC_ROOT=f"{directory}/static",
            DEBUG="false",
            SECRET_KEY="load-benchmark",
            SITE_URL=f"http://127.0.0.1:{PORT}",
            LOG_LEVEL="WARNING",
        )
        cached_cache = env.get("CACHE_URL") or f"file://{directory}/cache"
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
        subprocess.run(
            [*manage, "collectstatic", "--no-input", "-v", "0"], env=env, cwd=ROOT, check=True
        )
        began = time.perf_counter()
        subprocess.run(
            [*manage, "demo", "--large", "--reset", "-v", "0"],
            env=env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(
            f"demo --large built in {time.perf_counter() - began:.1f} s ({database.split(':')[0]})"
        )
        tool = "wrk" if shutil.which("wrk") else "python load generator"
        print(
            f"gunicorn gthread, {args.workers} workers x {args.threads} threads; {tool}, "
            f"{args.connections} connections, {args.duration} s each, "
            f"Accept-Encoding: {'identity' if args.identity else 'gzip'}"
        )
        print(f"{'mode':<9} {'url':<22} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
        for mode, cache_url in (("cached", cached_cache), ("uncached", "dummy://")):
            server = start_gunicorn({**env, "CACHE_URL": cache_url}, args.workers, args.threads)
            try:
                for url in URLS:
                    # Warm up every worker and thread (their local copies, their pools), then
                    # measure the steady state.
                    load(url, args.connections, WARMUP_SECONDS, gzip=not args.identity)
                    rps, p50, p99 = load(
                        url, args.connections, args.duration, gzip=not args.identity
                    )
                    print(f"{mode:<9} {url:<22} {rps:>9.0f} {p50:>8.1f} {p99:>8.1f}")
                if mode == "cached":
                    check_not_modified()
            finally:
                stop(server)

    home_page = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "home_page.py"), "--only", "large", "--runs", "30"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    print("Uncached home page on the large data set (bench/home_page.py):")
    print("\n".join(home_page.stdout.strip().splitlines()[1:]))


def start_gunicorn(env: dict[str, str], workers: int, threads: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "statuspage.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--keep-alive",
            "30",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            get("/api/v2/status.json")
            return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise SystemExit("gunicorn did not start")


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        connection.request("GET", url, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def check_not_modified() -> None:
    for url in URLS:
        status, headers, _ = get(url)
        etag = headers.get("ETag", "")
        again, _, body = get(url, {"If-None-Match": etag})
        print(f"conditional GET {url}: {status} then {again} with a {len(body)}-byte body")


def load(url: str, connections: int, duration: int, *, gzip: bool) -> tuple[float, float, float]:
    encoding = "gzip" if gzip else "identity"
    if shutil.which("wrk"):
        return load_with_wrk(url, connections, duration, encoding)
    return load_with_python(url, connections, duration, encoding)


def load_with_wrk(
    url: str, connections: int, duration: int, encoding: str
) -> tuple[float, float, float]:
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-H",
            f"Accept-Encoding: {encoding}",
            f"http://127.0.0.1:{PORT}{url}",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert found, output
    rps = float(found.group(1))
    return rps, _wrk_latency(output, "50%"), _wrk_latency(output, "99%")


def _wrk_latency(output: str, label: str) -> float:
    found = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output)
    assert found, output
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def load_with_python(
    url: str, connections: int, duration: int, encoding: str
) -> tuple[float, float, float]:
    """Keep-alive connections in threads; slower than wrk, so a lower bound."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        mine = []
        while time.monotonic() < stop_at:
            start = time.perf_counter()
            connection.request("GET", url, headers={"Accept-Encoding": encoding})
            connection.getresponse().read()
            mine.append((time.perf_counter() - start) * 1000)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return len(latencies) / duration, statistics.median(latencies), p99


if __name__ == "__main__":
    main()
