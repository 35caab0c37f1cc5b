"""Uptime Kuma's public status page, set up to be measured beside the published site by
bench/serving.py (`--kuma`).

Usage (from the repository root):

    .venv/bin/python bench/kuma.py               # Kuma's figures alone, 20 s per measurement
    .venv/bin/python bench/kuma.py --quick       # a short smoke run (5 s per measurement)

Uptime Kuma KUMA_VERSION (the only 2.x release on the npm registry) is installed from the
registry into --kuma-dir (default KUMA_DIR from the environment, else
~/.cache/statuspage-bench/kuma) the first time, with `--build-from-source --nodedir=/usr`:
its SQLite module is compiled against the installed Node's headers instead of downloading a
prebuilt binary. Where npm does not run that module's install script, it is built with `npm
rebuild @louislam/sqlite3` the same way. The package ships seven of its SQLite patches in db/
while its code reads them from db/old_migrations/: they are copied there.

Each run starts Kuma (`node server/server.js`) on a free port of 127.0.0.1 with a fresh data
folder in the temporary folder given, on SQLite, its update check switched off in the database
before it starts (and any HTTP proxy of its pointed at a closed local port), so that nothing it
does leaves the machine. It is then set up through its own socket.io API, as its web front end
does: the admin user, MONITORS push monitors in GROUPS groups on one status page (`/status/`
SLUG), and HEARTBEATS heartbeats pushed to each through `/api/push/<token>`, what a Kuma that
has run for about an hour at one beat a minute shows. The push monitors have a long interval,
so Kuma checks nothing while it is measured: its CPU is the status page's.

What a cold visit fetches is recorded on each run by loading the page once in Chromium
(Playwright with Debian's /usr/bin/chromium; requests to anywhere but the server are refused),
with the icons the HTML links that headless Chromium leaves out. For this version that is the
HTML (the page's configuration and monitor list inlined in it), the script bundle, the
stylesheet, the icon and `/api/status-page/heartbeat/<slug>` (the heartbeats and uptimes; Kuma
caches it for a minute, the HTML for five). bench/serving.py replays the list with wrk, as it
does the published site's.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import http.client
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.serving import (  # noqa: E402 - the repository root is on the path from here
    CHROMIUM_ENCODING,
    LoadResult,
    Server,
    cold_views,
    decoded,
    free_port,
    http_get,
    linked_assets,
    load_average,
    measured,
    print_load,
    print_load_header,
    print_transfer,
    raw_get,
    start_server,
    stop_process,
    wrk,
)

KUMA_VERSION = "2.0.0-dev.0"
KUMA_DIR = Path(os.environ.get("KUMA_DIR", Path.home() / ".cache" / "statuspage-bench" / "kuma"))
NODE_HEADERS = Path("/usr/include/node")
CHROMIUM = "/usr/bin/chromium"
SLUG = "bench"
MONITORS = 60
GROUPS = 8
HEARTBEATS = 50
# Kuma checks a push monitor for a missed beat once an interval: a day is longer than any run.
PUSH_INTERVAL = 86400

# Kuma's own socket.io calls, in the order its front end makes them for a new installation.
SETUP_SCRIPT = r"""
const { io } = require("socket.io-client");
const [url, monitors, groups, slug] = process.argv.slice(2);
const socket = io(url, { transports: ["websocket"], reconnection: false });

function call(event, ...args) {
    return new Promise((resolve, reject) => {
        socket.emit(event, ...args, (answer) => {
            if (answer && answer.ok) {
                resolve(answer);
            } else {
                reject(new Error(`${event}: ${answer && answer.msg}`));
            }
        });
    });
}

socket.on("connect_error", (error) => {
    console.error(`cannot connect: ${error.message}`);
    process.exit(1);
});

socket.on("connect", async () => {
    try {
        await call("setup", "admin", "bench-admin-1", );
        await call("login", { username: "admin", password: "bench-admin-1", token: "" });
        const created = [];
        for (let i = 1; i <= Number(monitors); i++) {
            const pushToken = `bench${String(i).padStart(4, "0")}`;
            const answer = await call("add", {
                type: "push",
                name: `Service ${String(i).padStart(2, "0")}`,
                pushToken,
                interval: INTERVAL,
                retryInterval: INTERVAL,
                resendInterval: 0,
                maxretries: 0,
                timeout: 48,
                notificationIDList: {},
                accepted_statuscodes: ["200-299"],
                kafkaProducerBrokers: [],
                kafkaProducerSaslOptions: { mechanism: "None" },
            });
            created.push({ id: answer.monitorID, pushToken });
        }
        await call("addStatusPage", "Bench status", slug);
        const perGroup = Math.ceil(created.length / Number(groups));
        const publicGroupList = [];
        for (let g = 0; g < Number(groups); g++) {
            publicGroupList.push({
                name: `Group ${g + 1}`,
                monitorList: created
                    .slice(g * perGroup, (g + 1) * perGroup)
                    .map((m) => ({ id: m.id })),
            });
        }
        const config = {
            slug, title: "Bench status", description: "", logo: "", theme: "light",
            showTags: false, footerText: "", customCSS: "", showPoweredBy: true,
            showCertificateExpiry: false, googleAnalyticsId: "", domainNameList: [],
        };
        await call("saveStatusPage", slug, config, "/icon.svg", publicGroupList);
        console.log(JSON.stringify(created.map((m) => m.pushToken)));
        socket.close();
        process.exit(0);
    } catch (error) {
        console.error(error.message);
        process.exit(1);
    }
});
""".replace("INTERVAL", str(PUSH_INTERVAL))


# Installation: npm, then the SQLite module built here.


def package_dir(kuma_dir: Path) -> Path:
    return kuma_dir / "node_modules" / "uptime-kuma"


def _npm(kuma_dir: Path, *arguments: str) -> None:
    completed = subprocess.run(
        ["npm", "--prefix", str(kuma_dir), *arguments, "--no-audit", "--no-fund"],
        cwd=kuma_dir,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise SystemExit(f"npm {' '.join(arguments)} failed:\n{completed.stderr[-3000:]}")


def _sqlite_loads(package: Path) -> bool:
    return (
        subprocess.run(
            ["node", "-e", "require('@louislam/sqlite3')"], cwd=package, capture_output=True
        ).returncode
        == 0
    )


def install(kuma_dir: Path) -> Path:
    """Uptime Kuma KUMA_VERSION in kuma_dir, ready to start; the package's folder."""
    if not shutil.which("node") or not shutil.which("npm"):
        raise SystemExit("node and npm are needed: apt-get install -y nodejs npm")
    package = package_dir(kuma_dir)
    manifest = package / "package.json"
    # The headers of the installed Node: node-gyp would download them otherwise.
    nodedir = [f"--nodedir={NODE_HEADERS.parent.parent}"] if NODE_HEADERS.is_dir() else []
    if not manifest.exists() or json.loads(manifest.read_text())["version"] != KUMA_VERSION:
        kuma_dir.mkdir(parents=True, exist_ok=True)
        if not (kuma_dir / "package.json").exists():
            (kuma_dir / "package.json").write_text('{"private": true}\n')
        print(f"installing uptime-kuma@{KUMA_VERSION} into {kuma_dir}", flush=True)
        _npm(kuma_dir, "install", f"uptime-kuma@{KUMA_VERSION}", "--build-from-source", *nodedir)
    if not _sqlite_loads(package):
        # npm did not run the module's install script (npm's allowScripts): build it now.
        print("building Kuma's SQLite module from source", flush=True)
        _npm(kuma_dir, "rebuild", "@louislam/sqlite3", "--build-from-source", *nodedir)
        if not _sqlite_loads(package):
            raise SystemExit("Kuma's SQLite module does not load after building it")
    for patch in (package / "db").glob("patch-*.sql"):
        if not (package / "db" / "old_migrations" / patch.name).exists():
            shutil.copy(patch, package / "db" / "old_migrations" / patch.name)
    return package


# A running Kuma, set up.


@dataclasses.dataclass
class Kuma:
    server: Server
    package: Path
    push_tokens: list[str]

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def pid(self) -> int:
        """The root of the process tree whose CPU is counted (node runs alone)."""
        return self.server.pid

    @property
    def page(self) -> str:
        return f"/status/{SLUG}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.page}"

    def cold_view(self) -> list[str]:
        return cold_view(self.port, self.page)


def start(package: Path, folder: Path) -> Server:
    """node server/server.js on a free port, its data in folder/kuma-data."""
    data = folder / "kuma-data"
    data.mkdir(parents=True, exist_ok=True)
    # Kuma starts from its template database when there is none: one with the update check off.
    database = data / "kuma.db"
    shutil.copy(package / "db" / "kuma.db", database)
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO setting (key, value, type) VALUES ('checkUpdate', 'false', 'general')"
        )
    connection.close()
    closed = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "NODE_ENV": "production",
        "UPTIME_KUMA_DB_TYPE": "sqlite",
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "http_proxy": closed,
        "https_proxy": closed,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    port = free_port()
    command = ["node", "server/server.js", "--host=127.0.0.1", f"--port={port}",
               f"--data-dir={data}/"]  # fmt: skip
    return start_server(command, env, port=port, log=folder / "kuma.log", cwd=package, timeout=120)


def set_up(server: Server, package: Path, folder: Path) -> list[str]:
    """The admin, the monitors and the status page, then the heartbeats: the push tokens."""
    script = folder / "kuma-setup.js"
    script.write_text(SETUP_SCRIPT)
    completed = subprocess.run(
        ["node", str(script), f"http://127.0.0.1:{server.port}", str(MONITORS), str(GROUPS), SLUG],
        cwd=package,
        env={**os.environ, "NODE_PATH": str(package.parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if completed.returncode != 0:
        raise SystemExit(f"setting Kuma up failed:\n{completed.stdout}\n{completed.stderr}")
    tokens: list[str] = json.loads(completed.stdout.strip().splitlines()[-1])
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    rng = random.Random(7)
    for _ in range(HEARTBEATS):
        for token in tokens:
            connection.request(
                "GET", f"/api/push/{token}?status=up&msg=OK&ping={rng.randint(8, 90)}"
            )
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"push to Kuma failed: {response.status} {body[:200]!r}")
    connection.close()
    return tokens


@contextmanager
def running(kuma_dir: Path, folder: Path) -> Iterator[Kuma]:
    """Kuma installed, started and set up; stopped at the end."""
    package = install(kuma_dir)
    server = start(package, folder)
    try:
        tokens = set_up(server, package, folder)
        yield Kuma(server, package, tokens)
    finally:
        stop_process(server.process)


def cold_view(port: int, page: str) -> list[str]:
    """Every path a new visitor's Chromium fetches from the server for the page, in order,
    and the icons the HTML links (headless Chromium does not fetch them)."""
    from playwright.sync_api import Route, sync_playwright

    origin = f"http://127.0.0.1:{port}"
    fetched: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(origin + "/"):
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context()
            context.route("**/*", only_local)
            browser_page = context.new_page()
            browser_page.on("request", lambda request: fetched.append(request.url))
            browser_page.goto(origin + page, wait_until="networkidle")
            browser_page.get_by_text(f"Service {MONITORS:02d}").first.wait_for(timeout=30000)
            browser_page.wait_for_load_state("networkidle")
        finally:
            browser.close()
    paths = []
    for url in fetched:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if url.startswith(origin + "/") and path not in paths:
            paths.append(path)
    _, headers, body = http_get(port, page, {"Accept-Encoding": "gzip"})
    html = decoded(body, headers.get("content-encoding")).decode()
    for asset in linked_assets(html):
        if asset not in paths and not _legacy(html, asset):
            paths.append(asset)
    return paths


def _legacy(html: str, asset: str) -> bool:
    """A `nomodule` script: a current browser does not fetch it."""
    return any(asset in tag and "nomodule" in tag for tag in html.split("<script")[1:])


# Kuma's rows, measured as bench/serving.py measures the published site's.


@dataclasses.dataclass
class Figures:
    cached: LoadResult
    cold: LoadResult
    view: list[str]
    wire_total: int

    @property
    def views_per_second(self) -> float:
        return self.cold.rate / len(self.view)


def measure(args: argparse.Namespace, folder: Path, kuma_dir: Path) -> Figures:
    """Kuma's cached status page, complete cold views and the bytes of a cold visit, with
    bench/serving.py's wrk and CPU accounting and its settings (connections, seconds)."""
    with running(kuma_dir, folder) as kuma:
        view = kuma.cold_view()
        transfer = [
            (path, raw_get(kuma.port, path, {"Accept-Encoding": CHROMIUM_ENCODING}))
            for path in view
        ]
        print(
            f"\nUptime Kuma {KUMA_VERSION} (node {_node_version()}, SQLite): {kuma.page}, "
            f"{MONITORS} push monitors in {GROUPS} groups, {HEARTBEATS} heartbeats each; "
            f"CPU ms/req: the node process's utime + stime; load {load_average()}"
        )

        def cached_run(port: int, seconds: float) -> LoadResult:
            return wrk(
                port, [kuma.page], seconds=seconds, connections=args.connections, folder=folder
            )

        def cold_run(port: int, seconds: float) -> LoadResult:
            return cold_views(
                port, view, seconds=seconds, connections=args.connections, folder=folder
            )

        results = {}
        for name, title, run in (
            ("cached", f"cached {kuma.page} (Accept-Encoding: gzip)", cached_run),
            (
                "cold",
                f"complete cold views: {kuma.page} and the {len(view) - 1} other resources a "
                f"browser fetches, a connection per view (Accept-Encoding: {CHROMIUM_ENCODING})",
                cold_run,
            ),
        ):
            print(f"\n{title}")
            print_load_header()
            run(kuma.port, args.warmup)
            result = measured(kuma.server, functools.partial(run, kuma.port, args.seconds))
            per = f"  ({result.rate / len(view):.0f} views/s)" if name == "cold" else ""
            print_load("kuma", result, per=per)
            results[name] = result
        print(f"\nbytes a cold visitor of Kuma transfers (Accept-Encoding: {CHROMIUM_ENCODING})")
        wire_total = print_transfer(transfer)
    return Figures(results["cached"], results["cold"], view, wire_total)


def _node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3, help="seconds before each")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--kuma-dir", type=Path, default=KUMA_DIR, help="where Kuma is installed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup = 5, 1
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    folder = Path(tempfile.mkdtemp(prefix="statuspage-kuma-"))
    try:
        figures = measure(args, folder, args.kuma_dir)
        print(
            f"\nKuma: {figures.cached.rate:.0f} req/s cached, "
            f"{figures.cached.cpu_ms_per_request or 0:.3f} CPU ms/request, "
            f"{figures.views_per_second:.0f} complete cold views/s, "
            f"{figures.wire_total:,} bytes a cold visit"
        )
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
