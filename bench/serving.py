"""Benchmark of the public serving path: the published site, answered by the fast path under
the application server (granian, as bin/start runs it; --server gunicorn for gunicorn), each
figure beside a bare WSGI floor.

Usage (from the repository root):

    .venv/bin/python bench/serving.py                 # SQLite, 20 s per measurement
    .venv/bin/python bench/serving.py --quick         # a short smoke run (5 s per measurement)
    .venv/bin/python bench/serving.py --postgres      # PostgreSQL (statuspage_bench, rebuilt)
    .venv/bin/python bench/serving.py --kuma          # and Uptime Kuma's page beside ours

Everything lives in a temporary folder (VAR_DIR, PUBLISH_ROOT, STATIC_ROOT and, on SQLite, the
database): `manage.py demo --large` is built there, the static files collected and the site
published once with `manage.py publish`. The cache is a private redis-server this script starts
on a free port of 127.0.0.1. The server runs as bin/start runs it (2 workers x 4 threads).
Nothing changes during the run, so the publication is left alone (PUBLISH_INTERVAL_SECONDS=3600):
the cost of publishing under change is what bench/crowd.py measures.

The floor is a WSGI application of a few lines (`floor` below) under the same server
settings, answering each URL of the run with the very status, headers and bytes the published
site gave for it and that Accept-Encoding: what serving costs with no work at all.

Measurements, each for the floor and for the published site:

- cached `/`: wrk, 64 connections, Accept-Encoding gzip; CPU per request is the server's
  process tree's CPU time (master and workers, utime + stime from /proc) over the requests;
- complete cold views: `/` and every asset it links (stylesheets, scripts, icon) with
  Chromium's Accept-Encoding, each connection closed after a view's worth of requests, as a
  new visitor's; views/s is requests/s over the requests one view makes;
- the bytes a cold visitor transfers, per resource, headers included;
- `/?cb=<random>`: a fresh query string on every request;

and, on the published site alone, under a steady load of every kind of public URL:

- the cache (the private Redis) killed for 30 s, then started again;
- the database down for 30 s: on SQLite its file replaced by one that is not a database, on
  PostgreSQL the connections going through a TCP proxy this script stops (and kills the open
  connections of) for that long.

With --kuma, Uptime Kuma's public status page (bench/kuma.py installs and sets it up) is
measured in the same run with the same wrk loads and CPU accounting (its node process): the
cached page, complete cold views (what Chromium fetches for it) and the bytes of a cold visit,
printed beside ours against the targets. Ours are given twice: the application server alone, and the
production setup of the README, Debian's nginx with deploy/nginx/ serving the mirror (the
shipped configuration, as bench/nginx_mirror.py runs it).

Every loop is bounded in time and every request goes to 127.0.0.1. This is not a test: it
prints figures and says which targets they meet.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import gzip
import json
import os
import pickle
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CHROMIUM_ENCODING = "gzip, deflate, br, zstd"
POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432"
POSTGRES_NAME = "statuspage_bench"
FLOOR_SNAPSHOT = "SERVING_FLOOR_SNAPSHOT"
CPU_TARGET_MS = 0.25
OLD_COLD_VIEWS = 347
OUTAGE_SECONDS = 30
# The targets beside Uptime Kuma (--kuma): our rates over Kuma's, Kuma's bytes over ours.
KUMA_RATE_TARGET = 1.5
KUMA_NGINX_TARGET = 5
KUMA_BYTES_TARGET = 10


# The floor: no framework, no lookups beyond one dictionary.


_floor_answers: dict[tuple[str, str], tuple[str, list[tuple[str, str]], bytes]] | None = None


def floor(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer each recorded URL with the bytes the published site gave for it."""
    global _floor_answers
    if _floor_answers is None:
        _floor_answers = pickle.loads(Path(os.environ[FLOOR_SNAPSHOT]).read_bytes())
    answer = _floor_answers.get(
        (environ.get("PATH_INFO", "/"), environ.get("HTTP_ACCEPT_ENCODING", ""))
    )
    if answer is None:
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    status, headers, body = answer
    start_response(status, headers)
    return [body]


# Processes: the application server, redis-server, and their CPU time.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stat_fields(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(root: int) -> list[int]:
    """The process and its descendants (the server's workers are its children)."""
    parents: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(_stat_fields(int(entry.name))[1])].append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    tree, queue = [], [root]
    while queue:
        pid = queue.pop()
        tree.append(pid)
        queue.extend(parents.get(pid, []))
    return tree


def tree_cpu_seconds(root: int) -> tuple[float, frozenset[int]]:
    """utime + stime of the tree, and which processes it counted."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, pids = 0, []
    for pid in process_tree(root):
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        pids.append(pid)
    return total / ticks, frozenset(pids)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclasses.dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


# One line per answer in granian's log: status, milliseconds, path, query.
GRANIAN_ACCESS_FORMAT = 'ACCESS %(status)d %(dt_ms).3f "%(path)s" "%(query_string)s"'
SERVERS = ("granian", "gunicorn")


def start_app_server(
    kind: str,
    app: str,
    env: dict[str, str],
    *,
    port: int,
    workers: int,
    threads: int,
    log: Path,
    ready_path: str = "/api/v2/status.json",
    access_log: bool = False,
) -> Server:
    """The WSGI application `app` ("module:name") under granian, as bin/start runs it, or
    gunicorn (gthread, keep-alive 30 s): `workers` processes of `threads` threads on 127.0.0.1.
    With `access_log`, each answer's status and time go to `log` (granian) or to `log` with
    the suffix .access (gunicorn)."""
    module, _, name = app.partition(":")
    target = f"{module}:{name or 'application'}"
    if kind == "gunicorn":
        command = [
            str(VENV_BIN / "gunicorn"), target,
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--worker-class", "gthread",
            "--threads", str(threads),
            "--keep-alive", "30",
            "--backlog", "2048",
            "--error-logfile", str(log),
        ]  # fmt: skip
        if access_log:
            # Status and the time taken in microseconds, to attribute every answer to its URL.
            command += [
                "--access-logfile", str(log.with_suffix(".access")),
                "--access-logformat", '%(s)s %(D)s "%(U)s" "%(q)s"',
            ]  # fmt: skip
    else:
        command = [
            str(VENV_BIN / "granian"), "--interface", "wsgi",
            "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--blocking-threads", str(threads),
            "--backlog", "2048", "--no-ws",
        ]  # fmt: skip
        if access_log:
            command += ["--access-log", "--access-log-fmt", GRANIAN_ACCESS_FORMAT]
        command.append(target)
    # Every worker loads the publication on its first request: let them all.
    return start_server(
        command, env, port=port, log=log, ready_path=ready_path, warm_requests=workers * threads * 4
    )


def start_server(
    command: list[str],
    env: dict[str, str],
    *,
    port: int,
    log: Path,
    cwd: Path = ROOT,
    ready_path: str = "/",
    warm_requests: int = 0,
    timeout: float = 60,
) -> Server:
    """Run `command` in a process group of its own, its output in `log`, and wait until it
    answers `ready_path` on `port` with anything but a 5xx; then make `warm_requests` more."""
    with open(log, "ab") as output:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if http_get(port, ready_path, timeout=5)[0] < 500:
                for _ in range(warm_requests):
                    http_get(port, ready_path)
                return server
        except OSError:
            time.sleep(0.2)
    stop_process(process)
    raise SystemExit(f"{' '.join(command[:2])} did not start:\n{log.read_text()[-3000:]}")


def stop_process(process: subprocess.Popen, *, timeout: float = 20) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class PrivateRedis:
    """A redis-server of our own on a free port: killing it touches nobody else's data."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class TcpProxy:
    """A TCP relay to PostgreSQL that can be taken down: while down it refuses connections and
    the ones it carried are cut, as when the database's host goes away."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.AbstractServer | None = None
        self.transports: set[asyncio.StreamWriter] = set()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.transports |= {writer, up_writer}
        try:
            await asyncio.gather(self._relay(reader, up_writer), self._relay(up_reader, writer))
        finally:
            self.transports -= {writer, up_writer}

    def up(self) -> None:
        async def listen() -> None:
            self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

        asyncio.run_coroutine_threadsafe(listen(), self.loop).result(10)

    def down(self) -> None:
        async def cut() -> None:
            if self.server is not None:
                self.server.close()
                self.server = None
            for writer in list(self.transports):
                writer.transport.abort()
            self.transports.clear()

        asyncio.run_coroutine_threadsafe(cut(), self.loop).result(10)


# Plain HTTP, for single requests and exact byte counts.


def http_get(
    port: int, path: str, headers: dict[str, str] | None = None, *, timeout: float = 30
) -> tuple[int, dict[str, str], bytes]:
    """One GET on a fresh connection; the body as sent (not decoded)."""
    status, response_headers, body, _ = raw_get(port, path, headers, timeout=timeout)
    return status, response_headers, body


def raw_get(
    port: int, path: str, headers: dict[str, str] | None = None, *, timeout: float = 30
) -> tuple[int, dict[str, str], bytes, int]:
    """GET with `Connection: close`, reading to the end: status, headers, body and the number of
    bytes on the wire (status line and headers included)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    if parsed.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return int(status_line.split()[1]), parsed, body, len(data)


def _dechunk(data: bytes) -> bytes:
    out, rest = [], data
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return b"".join(out)


def decoded(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "br":
        import brotli

        return brotli.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def linked_assets(html: str) -> list[str]:
    """What a browser fetches for the page: stylesheets, scripts, icons and images (feeds named
    in `<link rel="alternate">` are not fetched)."""
    assets = []
    for tag in re.findall(r"<(?:link|script|img)\b[^>]*>", html):
        rel = re.search(r'\brel="([^"]*)"', tag)
        if rel and rel.group(1) not in ("stylesheet", "icon", "preload", "modulepreload"):
            continue
        source = re.search(r'\b(?:href|src)="([^"]+)"', tag)
        if source and source.group(1).startswith("/") and source.group(1) not in assets:
            assets.append(source.group(1))
    return assets


# wrk: a closed loop of N connections, latencies and statuses reported by its Lua script.


@dataclasses.dataclass
class LoadResult:
    requests: int
    seconds: float
    p50: float
    p99: float
    max: float
    statuses: Counter
    socket_errors: int
    cpu_ms_per_request: float | None = None
    load: str = ""
    worker_change: bool = False

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)


_WRK_SCRIPT = """
local paths = {%(paths)s}
local headers = {["Accept-Encoding"] = "%(encoding)s"}
local closing = {["Accept-Encoding"] = "%(encoding)s", ["Connection"] = "close"}
local close_every = %(close_every)d
local n = 0
-- global, so that done() can read each thread's copy
statuses = {}

function init(args)
  math.randomseed(os.time() + tonumber(tostring(statuses):sub(8), 16) %% 100000)
end

function request()
  n = n + 1
  local path = paths[(n - 1) %% #paths + 1]
  path = path:gsub("{cb}", tostring(math.random(1, 1000000000)))
  if close_every > 0 and n %% close_every == 0 then
    return wrk.format("GET", path, closing)
  end
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      merged[tostring(status)] = (merged[tostring(status)] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do
    table.insert(parts, string.format('"%%s": %%d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests": %%d, "duration_us": %%d, "p50": %%d, "p99": %%d, "max": %%d, ' ..
    '"socket_errors": %%d, "statuses": {%%s}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, errors.connect + errors.read + errors.write + errors.timeout,
    table.concat(parts, ", ")))
end
"""


def wrk(
    port: int,
    paths: list[str],
    *,
    seconds: float,
    connections: int = 64,
    encoding: str = "gzip",
    close_every: int = 0,
    folder: Path,
) -> LoadResult:
    script = folder / "load.lua"
    script.write_text(
        _WRK_SCRIPT
        % {
            "paths": ", ".join(json.dumps(p) for p in paths),
            "encoding": encoding,
            "close_every": close_every,
        }
    )
    completed = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    match = re.search(r"^WRK-RESULT (.*)$", completed.stdout, re.MULTILINE)
    if match is None:
        raise SystemExit(f"wrk failed:\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(match.group(1))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50=data["p50"] / 1000,
        p99=data["p99"] / 1000,
        max=data["max"] / 1000,
        statuses=Counter({int(k): v for k, v in data["statuses"].items()}),
        socket_errors=data["socket_errors"],
    )


def cold_views(
    port: int, view: list[str], *, seconds: float, connections: int, folder: Path
) -> LoadResult:
    """wrk over complete cold views: each connection asks for `view` (a page and every
    resource a browser fetches for it) with Chromium's Accept-Encoding, then closes, as a new
    visitor's would."""
    return wrk(
        port,
        view,
        seconds=seconds,
        connections=connections,
        encoding=CHROMIUM_ENCODING,
        close_every=len(view),
        folder=folder,
    )


def measured(server: Server, run: Callable[[], LoadResult]) -> LoadResult:
    """Run a load with the server's CPU time read before and after."""
    before, pids_before = tree_cpu_seconds(server.pid)
    result = run()
    after, pids_after = tree_cpu_seconds(server.pid)
    result.cpu_ms_per_request = (after - before) * 1000 / max(1, result.requests)
    result.load = load_average()
    # A worker that died or was replaced took its CPU time with it: the figure would be low.
    result.worker_change = pids_before != pids_after
    return result


# A Python load generator that knows which URL got which answer (for the outage rows).


@dataclasses.dataclass
class UrlStats:
    statuses: Counter = dataclasses.field(default_factory=Counter)
    latencies: list[float] = dataclasses.field(default_factory=list)
    errors: int = 0


class Sampler:
    """N keep-alive connections, each walking the URL list from its own offset, recording every
    answer by phase and URL kind. `{cb}` in a URL becomes a random number on each request."""

    def __init__(self, port: int, urls: list[tuple[str, str]], connections: int = 8) -> None:
        self.port = port
        self.urls = urls
        self.connections = connections
        self.phase = "before"
        self.stats: dict[tuple[str, str], UrlStats] = defaultdict(UrlStats)
        self.stop_at = 0.0

    def run(self, seconds: float) -> None:
        self.stop_at = time.monotonic() + seconds
        asyncio.run(self._main())

    async def _main(self) -> None:
        await asyncio.gather(*(self._client(i) for i in range(self.connections)))

    async def _client(self, index: int) -> None:
        position = index * max(1, len(self.urls) // self.connections)
        reader = writer = None
        while time.monotonic() < self.stop_at:
            kind, url = self.urls[position % len(self.urls)]
            position += 1
            url = url.replace("{cb}", str(random.randrange(10**9)))
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", self.port), 5
                    )
                assert reader is not None and writer is not None
                status, keep = await asyncio.wait_for(self._get(reader, writer, url), 10)
                # Counted in the phase it ends in: a request the outage caught belongs to it.
                stats = self.stats[(self.phase, kind)]
                stats.statuses[status] += 1
                stats.latencies.append((time.perf_counter() - started) * 1000)
                if not keep:
                    writer.close()
                    writer = None
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                self.stats[(self.phase, kind)].errors += 1
                if writer is not None:
                    writer.close()
                writer = None
                await asyncio.sleep(0.05)
        if writer is not None:
            writer.close()

    async def _get(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, url: str
    ) -> tuple[int, bool]:
        writer.write(
            f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Accept-Encoding: {CHROMIUM_ENCODING}\r\n\r\n".encode()
        )
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        if "content-length" in headers:
            await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        elif status not in (204, 304):
            await reader.read()
            return status, False
        return status, headers.get("connection") != "close"


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# Setting up the site.


@dataclasses.dataclass
class Site:
    folder: Path
    env: dict[str, str]
    database_url: str
    sqlite_path: Path | None


def postgres_recreate(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def build_site(
    folder: Path,
    *,
    database_url: str | None,
    port: int,
    extra_env: dict[str, str] | None = None,
    publish: bool = True,
) -> Site:
    """migrate, collectstatic, demo --large and a first publication, in `folder`."""
    sqlite_path = None
    if database_url is None:
        sqlite_path = folder / "site.sqlite3"
        database_url = f"sqlite:///{sqlite_path}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VAR_DIR": str(folder),
        "PUBLISH_ROOT": str(folder / "public"),
        "STATIC_ROOT": str(folder / "static"),
        "DEBUG": "false",
        "SECRET_KEY": "serving-benchmark",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    manage = [sys.executable, "manage.py"]
    began = time.perf_counter()
    for command in (["migrate", "--no-input"], ["collectstatic", "--no-input"]):
        subprocess.run([*manage, *command, "-v", "0"], env=env, cwd=ROOT, check=True)
    subprocess.run(
        [*manage, "demo", "--large", "--reset", "-v", "0"],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    built = time.perf_counter() - began
    line = f"demo --large built in {built:.0f} s ({database_url.split(':')[0]})"
    if publish:
        published = subprocess.run(
            [*manage, "publish"], env=env, cwd=ROOT, check=True, capture_output=True, text=True
        )
        line += "; " + published.stdout.strip().replace(f" into {folder}/public", "")
    print(line, flush=True)
    return Site(folder, env, database_url, sqlite_path)


def current_manifest(site: Site) -> dict[str, Any]:
    public = site.folder / "public"
    return json.loads((public / os.readlink(public / "current") / "manifest.json").read_bytes())


def url_kind(url: str) -> str:
    """A URL with its public id or page number left out: `/incidents/<id>`, `/history?page=N`."""
    path, _, query = url.partition("?")
    if path.startswith("/static/"):
        return "static asset"
    kind = re.sub(r"/[0-9a-z]{12}(?=\.json|\.svg|/|$)", "/<id>", path)
    if query.startswith("cb="):
        return f"{kind}?cb=<random>"
    return f"{kind}?{re.sub(r'=[^&]*', '=N', query)}" if query else kind


def public_urls(site: Site, assets: list[str]) -> list[tuple[str, str]]:
    """A sample of every kind of public URL, as (kind, URL): a few of each kind of published
    answer, the assets, and the public URLs the fast path leaves to the application (pages it
    never published, the sign-up pages and the charts, of which it keeps standby copies)."""
    manifest = current_manifest(site)
    kinds: dict[str, list[str]] = defaultdict(list)
    for key in manifest["artifacts"]:
        if key.startswith("/"):
            kinds[url_kind(key)].append(key)
    chosen: list[tuple[str, str]] = []
    rng = random.Random(7)
    for kind, keys in sorted(kinds.items()):
        for key in rng.sample(keys, min(len(keys), 10 if "<id>" in kind else 3)):
            chosen.append((kind, key))
    chosen.append(("/?cb=<random>", "/?cb={cb}"))
    chosen.append(("/live?v=<current>", f"/live?v={manifest['token']}"))
    chosen.append(("/live?v=<older>", "/live?v=0123abcd"))
    chosen += [("static asset", asset) for asset in assets]
    component = next(k for k in manifest["artifacts"] if k.startswith("/components/"))
    chosen += [
        ("(not published) /incidents/<missing>", "/incidents/no-such-incident"),
        ("(not published) /history?page=<past end>", "/history?page=99999"),
        ("(standby) /subscriptions/", "/subscriptions/"),
        ("(standby) /subscriptions/webhooks", "/subscriptions/webhooks"),
        ("(standby) /subscriptions/chat", "/subscriptions/chat"),
        ("(standby) response-time chart", f"{component}/response-time.svg?range=24h"),
    ]
    return chosen


HEALTH = ("(not a page) /health", "/health")
# The kinds the application answers itself while the database is up.
APPLICATION = ("(not published)", "(standby)")


# The rows.


def print_load_header() -> None:
    print(
        f"  {'server':<16} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'5xx':>5} {'non-2xx':>7} {'sock err':>8} {'CPU ms/req':>10}  load avg"
    )


def print_load(label: str, result: LoadResult, *, per: str = "") -> None:
    cpu = "" if result.cpu_ms_per_request is None else f"{result.cpu_ms_per_request:.3f}"
    if result.worker_change:
        cpu += "*"
    print(
        f"  {label:<16} {result.requests:>9} {result.rate:>8.0f} {result.p50:>7.1f} "
        f"{result.p99:>7.1f} {result.max:>7.0f} {result.server_errors:>5} {result.non_2xx:>7} "
        f"{result.socket_errors:>8} {cpu:>10}  {result.load}{per}",
        flush=True,
    )


def print_transfer(transfer: list[tuple[str, tuple[int, dict[str, str], bytes, int]]]) -> int:
    """The bytes of each resource of a cold view, headers included; their total."""
    print(f"  {'resource':<52} {'status':>6} {'encoding':<9} {'on the wire':>11} {'body':>8}")
    wire_total = body_total = 0
    for path, (status, headers, body, wire) in transfer:
        wire_total += wire
        body_total += len(body)
        print(
            f"  {path:<52} {status:>6} {headers.get('content-encoding', 'identity'):<9} "
            f"{wire:>11,} {len(body):>8,}"
        )
    print(f"  {'total':<52} {'':>6} {'':<9} {wire_total:>11,} {body_total:>8,}")
    return wire_total


def snapshot(port: int, paths: list[str], encodings: list[str], target: Path) -> None:
    """What the published site answers for each path and encoding, for the floor to replay."""
    answers = {}
    for path in paths:
        for encoding in encodings:
            status, headers, body, _ = raw_get(port, path, {"Accept-Encoding": encoding})
            kept = [
                (name.title(), value)
                for name, value in headers.items()
                if name not in ("connection", "date", "server", "transfer-encoding")
            ]
            if "content-length" not in headers:
                kept.append(("Content-Length", str(len(body))))
            reason = {200: "OK", 204: "No Content", 304: "Not Modified"}.get(status, "Status")
            answers[(path.split("?")[0], encoding)] = (f"{status} {reason}", kept, body)
    target.write_bytes(pickle.dumps(answers))


@contextmanager
def running(app: str, env: dict[str, str], args: argparse.Namespace, log: Path) -> Iterator[Server]:
    server = start_app_server(
        args.server, app, env, port=args.port, workers=args.workers, threads=args.threads,
        log=log, ready_path="/",
    )  # fmt: skip
    try:
        yield server
    finally:
        stop_process(server.process)


def measure_pair(
    title: str,
    servers: dict[str, tuple[str, dict[str, str]]],
    args: argparse.Namespace,
    folder: Path,
    run: Callable[[int, float], LoadResult],
    per_view: int = 1,
) -> dict[str, LoadResult]:
    print(f"\n{title}")
    print_load_header()
    results = {}
    for label, (app, env) in servers.items():
        with running(app, env, args, folder / f"{label}.log") as server:
            run(server.port, args.warmup)
            result = measured(server, functools.partial(run, server.port, args.seconds))
        results[label] = result
        per = f"  ({result.rate / per_view:.0f} views/s)" if per_view > 1 else ""
        print_load(label, result, per=per)
    return results


def outage_row(
    title: str,
    server: Server,
    urls: list[tuple[str, str]],
    *,
    take_down: Callable[[], None],
    bring_back: Callable[[], None],
    seconds: float,
    connections: int,
) -> tuple[int, int]:
    """Load every kind of public URL before, during and after an outage; print what each kind
    got while the backend was down and after it came back; return the 5xx (and failed
    requests) of the published answers and of the public pages the application answers."""
    sampler = Sampler(server.port, urls, connections)
    before, after = 5.0, 10.0
    thread = threading.Thread(target=sampler.run, args=(before + seconds + after,))
    cpu_before, _ = tree_cpu_seconds(server.pid)
    thread.start()
    time.sleep(before)
    sampler.phase = "down"
    take_down()
    time.sleep(seconds)
    bring_back()
    sampler.phase = "after"
    thread.join()
    cpu_after, _ = tree_cpu_seconds(server.pid)
    print(f"\n{title}")
    print(
        f"  {'URL kind':<44} {'phase':<6} {'requests':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'5xx':>5} {'non-2xx':>7} {'errors':>6}  statuses"
    )
    failures: Counter[bool] = Counter()
    total = 0
    for phase in ("before", "down", "after"):
        for kind in dict.fromkeys(k for k, _ in urls):
            stats = sampler.stats.get((phase, kind))
            if stats is None:
                continue
            total += sum(stats.statuses.values())
            errors5 = sum(n for s, n in stats.statuses.items() if s >= 500)
            if kind != HEALTH[0]:
                failures[kind.startswith(APPLICATION)] += errors5 + stats.errors
            if phase == "before" and not errors5 and not stats.errors:
                continue
            non2 = sum(n for s, n in stats.statuses.items() if not 200 <= s < 300)
            shown = " ".join(f"{s}x{n}" for s, n in sorted(stats.statuses.items()))
            print(
                f"  {kind:<44} {phase:<6} {sum(stats.statuses.values()):>8} "
                f"{percentile(stats.latencies, 0.5):>7.1f} "
                f"{percentile(stats.latencies, 0.99):>7.1f} "
                f"{max(stats.latencies, default=float('nan')):>7.0f} {errors5:>5} {non2:>7} "
                f"{stats.errors:>6}  {shown}"
            )
    print(
        f"  {total} requests over {before + seconds + after:.0f} s ({connections} connections, "
        f"Accept-Encoding: {CHROMIUM_ENCODING}); server CPU "
        f"{(cpu_after - cpu_before) * 1000 / max(1, total):.2f} ms/request; load {load_average()}"
    )
    print(
        f"  5xx and failed requests: {failures[False]} on published answers, "
        f"{failures[True]} on public pages the application answers (target: 0 and 0)"
    )
    return failures[False], failures[True]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3, help="seconds before each")
    parser.add_argument("--outage", type=float, default=OUTAGE_SECONDS, help="seconds down")
    parser.add_argument("--connections", type=int, default=64)
    # As bin/start and the README's production line run the application server.
    parser.add_argument("--server", choices=SERVERS, default="granian")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--postgres", action="store_true", help=f"PostgreSQL ({POSTGRES_NAME}, recreated)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--kuma", action="store_true", help="measure Uptime Kuma's status page too (bench/kuma.py)"
    )
    parser.add_argument(
        "--kuma-dir",
        type=Path,
        help="where Uptime Kuma is installed (default: KUMA_DIR or ~/.cache/statuspage-bench/kuma)",
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup, args.outage = 5, 1, 8
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    args.port = free_port()

    folder = Path(tempfile.mkdtemp(prefix="statuspage-serving-"))
    redis = PrivateRedis(folder)
    proxy: TcpProxy | None = None
    try:
        redis.start()
        database_url = None
        if args.postgres:
            postgres_recreate(POSTGRES_NAME)
            database_url = f"{POSTGRES_SERVER}/{POSTGRES_NAME}"
        site = build_site(
            folder,
            database_url=database_url,
            port=args.port,
            extra_env={"CACHE_URL": redis.url, "PUBLISH_INTERVAL_SECONDS": "3600"},
        )
        served_env = dict(site.env)
        if args.postgres:
            proxy = TcpProxy(5432)
            proxy.up()
            served_env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{proxy.port}/" + (
                POSTGRES_NAME
            )
        run_rows(args, folder, site, served_env, redis, proxy)
    finally:
        redis.kill()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def run_rows(
    args: argparse.Namespace,
    folder: Path,
    site: Site,
    served_env: dict[str, str],
    redis: PrivateRedis,
    proxy: TcpProxy | None,
) -> None:
    app = "statuspage.wsgi"
    # The page, its assets and the floor's copy of them.
    with running(app, served_env, args, folder / "probe.log") as server:
        _, headers, body = http_get(server.port, "/", {"Accept-Encoding": "gzip"})
        html = decoded(body, headers.get("content-encoding")).decode()
        assets = linked_assets(html)
        view = ["/", *assets]
        snapshot_file = folder / "floor.pickle"
        snapshot(server.port, view, ["gzip", CHROMIUM_ENCODING], snapshot_file)
        transfer = [
            (path, raw_get(server.port, path, {"Accept-Encoding": CHROMIUM_ENCODING}))
            for path in view
        ]
        _, plain_headers, plain = http_get(server.port, "/", {"Accept-Encoding": "gzip"})
        _, cb_headers, cb_body = http_get(server.port, "/?cb=8451", {"Accept-Encoding": "gzip"})
    floor_env = {**os.environ, FLOOR_SNAPSHOT: str(snapshot_file), "PYTHONPATH": str(ROOT)}
    servers = {"floor": ("bench.serving:floor", floor_env), "published": (app, served_env)}

    tool = f"wrk -t2 -c{args.connections}"
    kind = "gthread, keep-alive 30 s" if args.server == "gunicorn" else "WSGI"
    print(
        f"{args.server} ({kind}), {args.workers} workers x {args.threads} threads; "
        f"{tool}, {args.seconds:.0f} s per measurement after {args.warmup:.0f} s of warm-up; "
        f"{os.cpu_count()} cores; load average before: {load_average()}"
    )
    print(f"CPU ms/req: the {args.server} process tree's utime + stime over the requests answered")

    cached = measure_pair(
        "cached / (Accept-Encoding: gzip)",
        servers,
        args,
        folder,
        lambda port, seconds: wrk(
            port, ["/"], seconds=seconds, connections=args.connections, folder=folder
        ),
    )
    cold = measure_pair(
        f"complete cold views: / and its {len(assets)} assets, a connection per view "
        f"(Accept-Encoding: {CHROMIUM_ENCODING})",
        servers,
        args,
        folder,
        lambda port, seconds: cold_views(
            port, view, seconds=seconds, connections=args.connections, folder=folder
        ),
        per_view=len(view),
    )
    busted = measure_pair(
        "/?cb=<random> (Accept-Encoding: gzip)",
        servers,
        args,
        folder,
        lambda port, seconds: wrk(
            port,
            ["/?cb={cb}"],
            seconds=seconds,
            connections=args.connections,
            folder=folder,
        ),  # fmt: skip
    )
    same = cb_headers.get("etag") == plain_headers.get("etag") and cb_body == plain
    print(
        f"  /?cb=8451 answers the published / byte for byte: {'yes' if same else 'NO'} "
        f"(ETag {cb_headers.get('etag')})"
    )

    print(f"\nbytes a cold visitor transfers (Accept-Encoding: {CHROMIUM_ENCODING})")
    wire_total = print_transfer(transfer)
    behind_nginx = measure_nginx(args, folder, served_env, view) if args.kuma else None
    kuma_figures = None
    if args.kuma:
        sys.path.insert(0, str(ROOT))
        from bench import kuma

        kuma_figures = kuma.measure(args, folder, args.kuma_dir or kuma.KUMA_DIR)

    urls = public_urls(site, assets) + [HEALTH]
    kinds = len(dict.fromkeys(k for k, _ in urls))
    print(f"\noutages: {len(urls)} URLs of {kinds} kinds, walked in turn by 8 connections")
    with running(app, served_env, args, folder / "outages.log") as server:
        redis_5xx = outage_row(
            f"cache (private Redis) killed for {args.outage:.0f} s, then started again",
            server,
            urls,
            take_down=redis.kill,
            bring_back=redis.start,
            seconds=args.outage,
            connections=8,
        )
        if proxy is not None:
            down, back = proxy.down, proxy.up
            how = "PostgreSQL's proxy stopped, its connections cut"
        else:
            down, back = sqlite_breaker(site)
            how = "the SQLite file replaced by a file that is not a database"
        database_5xx = outage_row(
            f"database down for {args.outage:.0f} s ({how})",
            server,
            urls,
            take_down=down,
            bring_back=back,
            seconds=args.outage,
            connections=8,
        )

    floor_cpu = cached["floor"].cpu_ms_per_request or 0.0
    cpu = cached["published"].cpu_ms_per_request or 0.0
    views = cold["published"].rate / len(view)
    print("\nsummary")
    print(f"  {'figure':<44} {'target':<22} {'floor':>10} {'published':>10}  verdict")
    rows = [
        (
            "cached / CPU ms per request",
            f"<= {CPU_TARGET_MS} ms",
            f"{floor_cpu:.3f}",
            f"{cpu:.3f}",
            "meets" if cpu <= CPU_TARGET_MS else f"misses by {cpu - CPU_TARGET_MS:.3f} ms",
        ),
        (
            "cached / req/s",
            "report",
            f"{cached['floor'].rate:.0f}",
            f"{cached['published'].rate:.0f}",
            "",
        ),
        (
            "complete cold views/s",
            f"high; was {OLD_COLD_VIEWS}/s",
            f"{cold['floor'].rate / len(view):.0f}",
            f"{views:.0f}",
            f"{views / OLD_COLD_VIEWS:.1f}x the old figure",
        ),
        ("bytes a cold visitor transfers", "report", "", f"{wire_total:,}", ""),
        (
            "/?cb=<random> req/s",
            "same as /",
            f"{busted['floor'].rate:.0f}",
            f"{busted['published'].rate:.0f}",
            f"{busted['published'].rate / cached['published'].rate:.0%} of / "
            + ("(the published page)" if same else "(NOT the published page)"),
        ),
    ]
    for name, (published, other) in (("cache", redis_5xx), ("database", database_5xx)):
        rows.append(
            (
                f"{name} down {args.outage:.0f} s: 5xx, published answers",
                "0",
                "",
                f"{published}",
                "meets" if published == 0 else "misses",
            )
        )
        rows.append(
            (
                f"{name} down {args.outage:.0f} s: 5xx, other public pages",
                "0",
                "",
                f"{other}",
                "meets" if other == 0 else "misses",
            )
        )
    for figure, target, floor_value, value, verdict in rows:
        print(f"  {figure:<44} {target:<22} {floor_value:>10} {value:>10}  {verdict}")
    if any(r.worker_change for r in (*cached.values(), *cold.values(), *busted.values())):
        print("  * a server worker was replaced during that measurement: its CPU is undercounted")
    if kuma_figures is not None:
        assert behind_nginx is not None
        kuma_rows(
            cached["published"],
            views,
            wire_total,
            behind_nginx,
            kuma_figures.cached,
            kuma_figures.views_per_second,
            kuma_figures.wire_total,
            f"Uptime Kuma {kuma.KUMA_VERSION}",
            args.server,
        )


def measure_nginx(
    args: argparse.Namespace, folder: Path, served_env: dict[str, str], view: list[str]
) -> tuple[LoadResult, float]:
    """The production setup the README describes, in this run: nginx with deploy/nginx/ serving
    the mirror (the application server behind it for what the mirror lacks). Cached / and
    complete cold views, measured as above; CPU is nginx's process tree."""
    sys.path.insert(0, str(ROOT))
    from bench.nginx_mirror import Nginx

    print(f"\nnginx (deploy/nginx/) in front of the published mirror, {args.server} behind it")
    print_load_header()
    results = []
    with running("statuspage.wsgi", served_env, args, folder / "behind-nginx.log") as app:
        nginx = Nginx(folder, served_env, app.port)
        server = Server(nginx.process, nginx.port, folder / "nginx-error.log")
        try:
            for label, paths, encoding, close_every in (
                ("cached / (gzip)", ["/"], "gzip", 0),
                ("complete cold views", view, CHROMIUM_ENCODING, len(view)),
            ):
                run = functools.partial(
                    wrk, server.port, paths, connections=args.connections, encoding=encoding,
                    close_every=close_every, folder=folder,
                )  # fmt: skip
                run(seconds=args.warmup)
                result = measured(server, functools.partial(run, seconds=args.seconds))
                per = f"  ({result.rate / len(paths):.0f} views/s)" if close_every else ""
                print_load(label, result, per=per)
                results.append(result)
        finally:
            stop_process(nginx.process)
    return results[0], results[1].rate / len(view)


def kuma_rows(
    ours: LoadResult,
    views: float,
    wire: int,
    behind_nginx: tuple[LoadResult, float],
    theirs: LoadResult,
    their_views: float,
    their_wire: int,
    name: str,
    server: str,
) -> None:
    """Our figures beside Kuma's, measured in the same run the same way, against the targets.
    The ratio is ours over Kuma's."""

    def ratio(value: float, their_value: float) -> str:
        if not value or not their_value:
            return ""
        share = value / their_value
        return f"{share:.1f}x" if share >= 1 else f"1/{1 / share:.1f}"

    cpu, their_cpu = ours.cpu_ms_per_request or 0.0, theirs.cpu_ms_per_request or 0.0
    nginx_cached, nginx_views = behind_nginx
    nginx_cpu = nginx_cached.cpu_ms_per_request or 0.0
    rows = [
        (f"cached page CPU ms per request, {server} alone", f"{cpu:.3f}", f"{their_cpu:.3f}",
         ratio(cpu, their_cpu), "report", ""),
        ("cached page CPU ms per request, behind nginx", f"{nginx_cpu:.3f}", f"{their_cpu:.3f}",
         ratio(nginx_cpu, their_cpu), "report", ""),
        (f"cached page req/s, {server} alone", f"{ours.rate:.0f}", f"{theirs.rate:.0f}",
         ratio(ours.rate, theirs.rate), f">= {KUMA_RATE_TARGET}x Kuma",
         "meets" if ours.rate >= KUMA_RATE_TARGET * theirs.rate else "misses"),
        ("cached page req/s, behind nginx", f"{nginx_cached.rate:.0f}", f"{theirs.rate:.0f}",
         ratio(nginx_cached.rate, theirs.rate), f">= {KUMA_RATE_TARGET}x Kuma",
         "meets" if nginx_cached.rate >= KUMA_RATE_TARGET * theirs.rate else "misses"),
        (f"complete cold views/s, {server} alone", f"{views:.0f}", f"{their_views:.0f}",
         ratio(views, their_views), f">= {KUMA_RATE_TARGET}x Kuma",
         "meets" if views >= KUMA_RATE_TARGET * their_views else "misses"),
        ("complete cold views/s, behind nginx", f"{nginx_views:.0f}", f"{their_views:.0f}",
         ratio(nginx_views, their_views), f">= {KUMA_NGINX_TARGET}x Kuma",
         "meets" if nginx_views >= KUMA_NGINX_TARGET * their_views else "misses"),
        ("bytes a cold visitor transfers", f"{wire:,}", f"{their_wire:,}",
         ratio(wire, their_wire), f"<= 1/{KUMA_BYTES_TARGET} of Kuma",
         "meets" if wire * KUMA_BYTES_TARGET <= their_wire else "misses"),
    ]  # fmt: skip
    print(f"\nthe published site beside {name}, same run, same measurements (ratio: ours/Kuma)")
    print(f"  {'figure':<44} {'ours':>10} {'Kuma':>10} {'ratio':>7}  {'target':<16} verdict")
    for figure, value, their_value, share, target, verdict in rows:
        print(f"  {figure:<44} {value:>10} {their_value:>10} {share:>7}  {target:<16} {verdict}")
    if ours.worker_change or nginx_cached.worker_change or theirs.worker_change:
        print("  * a server process was replaced during a measurement: its CPU is undercounted")


def sqlite_breaker(site: Site) -> tuple[Callable[[], None], Callable[[], None]]:
    """Swap the database file for one that is not a database, and back."""
    assert site.sqlite_path is not None
    path = site.sqlite_path
    aside = path.with_name(path.name + ".aside")

    def take_down() -> None:
        with sqlite3.connect(path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        os.replace(path, aside)
        path.write_bytes(b"this is not a database\n" * 256)

    def bring_back() -> None:
        os.replace(aside, path)

    return take_down, bring_back


if __name__ == "__main__":
    main()
