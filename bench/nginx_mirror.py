"""Benchmark of the production setup the README describes: nginx with deploy/nginx/ in front of
the published mirror, beside the application server's fast path alone, in one run.

Usage (from the repository root):

    .venv/bin/python bench/nginx_mirror.py            # 20 s per measurement
    .venv/bin/python bench/nginx_mirror.py --quick    # 5 s

`manage.py demo --large` is built and published in a temporary folder (bench/serving.py's
build_site); granian runs as bin/start runs it and Debian's nginx (with the brotli static
module) runs the shipped configuration, its paths pointed at that folder. For each server:
cached `/` with 64 connections (Accept-Encoding gzip), and complete cold views (`/` and every
asset it links, Chromium's Accept-Encoding, a new connection per view). CPU is the serving
process tree's utime + stime over the requests. Every request goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.serving import (  # noqa: E402 - the repository root is on the path from here
    CHROMIUM_ENCODING,
    LoadResult,
    Server,
    build_site,
    decoded,
    free_port,
    http_get,
    linked_assets,
    load_average,
    measured,
    print_load,
    print_load_header,
    start_app_server,
    stop_process,
    wrk,
)
from tests.site_processes import BROTLI_MODULE, write_nginx_config  # noqa: E402 - as above


class Nginx:
    """nginx in the foreground with the shipped server block."""

    def __init__(self, folder: Path, site_env: dict[str, str], app_port: int) -> None:
        self.port = free_port()
        write_nginx_config(
            folder,
            publish_root=site_env["PUBLISH_ROOT"],
            static_root=site_env["STATIC_ROOT"],
            app_port=app_port,
            port=self.port,
            workers=2,
        )
        self.process = subprocess.Popen(
            ["nginx", "-p", f"{folder}/", "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if http_get(self.port, "/")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("nginx did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup = 5, 1
    if not BROTLI_MODULE.exists():
        raise SystemExit("apt-get install nginx-light libnginx-mod-http-brotli-static wrk")

    with tempfile.TemporaryDirectory(prefix="nginx-bench-") as name:
        folder = Path(name)
        app_port = free_port()
        site = build_site(folder, database_url=None, port=app_port)
        env = {**site.env, "PUBLISH_INTERVAL_SECONDS": "3600"}
        app_server = start_app_server(
            "granian", "statuspage.wsgi:application", env, port=app_port, workers=2, threads=4,
            log=folder / "g.log", ready_path="/",
        )  # fmt: skip
        nginx = Nginx(folder, env, app_port)
        try:
            _, headers, body = http_get(app_port, "/", {"Accept-Encoding": "gzip"})
            view = ["/", *linked_assets(decoded(body, headers.get("content-encoding")).decode())]
            print(
                f"{os.cpu_count()} cores; wrk -t2 -c{args.connections}, {args.seconds:.0f} s per "
                f"measurement after {args.warmup:.0f} s; load average before: {load_average()}"
            )
            servers = {
                "granian (fast path)": app_server,
                "nginx (mirror)": Server(nginx.process, nginx.port, folder / "nginx-error.log"),
            }
            results: dict[str, dict[str, LoadResult]] = {}
            for title, paths, encoding, close_every in (
                ("cached / (Accept-Encoding: gzip)", ["/"], "gzip", 0),
                (
                    f"complete cold views: / and its {len(view) - 1} assets, a connection per "
                    f"view (Accept-Encoding: {CHROMIUM_ENCODING})",
                    view,
                    CHROMIUM_ENCODING,
                    len(view),
                ),
            ):
                print(f"\n{title}")
                print_load_header()
                for label, server in servers.items():
                    run = functools.partial(
                        wrk,
                        server.port,
                        paths,
                        connections=args.connections,
                        encoding=encoding,
                        close_every=close_every,
                        folder=folder,
                    )
                    run(seconds=args.warmup)
                    result = measured(server, functools.partial(run, seconds=args.seconds))
                    results.setdefault(title, {})[label] = result
                    per = f"  ({result.rate / len(paths):.0f} views/s)" if close_every else ""
                    print_load(label, result, per=per)
            cold = list(results.values())[1]
            ratio = cold["nginx (mirror)"].rate / cold["granian (fast path)"].rate
            print(f"\ncold views, nginx over granian in this run: {ratio:.1f}x")
        finally:
            stop_process(nginx.process)
            stop_process(app_server.process)


if __name__ == "__main__":
    main()
