"""A whole instance of the project in processes of its own, for the tests that need real
servers: a SQLite file with demo data and a publication, the application server (granian),
and Debian's nginx with the shipped configuration in front; and the small helpers such tests
share."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")


def write_nginx_config(
    folder: Path,
    *,
    publish_root: str,
    static_root: str,
    app_port: int,
    port: int,
    workers: int = 1,
) -> Path:
    """The shipped deploy/nginx/ configuration, pointed at this instance's folders and ports,
    inside a main nginx.conf of its own in `folder`; returns that file."""
    shipped = (ROOT / "deploy/nginx/statuspage.conf").read_text()
    proxy = folder / "statuspage-proxy.conf"
    proxy.write_text((ROOT / "deploy/nginx/statuspage-proxy.conf").read_text())
    server = (
        shipped.replace("/srv/statuspage/var/public", publish_root)
        .replace("/srv/statuspage/staticfiles", static_root)
        .replace("127.0.0.1:8000", f"127.0.0.1:{app_port}")
        .replace("listen 80;", f"listen 127.0.0.1:{port} backlog=2048;")
        .replace("/etc/nginx/statuspage-proxy.conf", str(proxy))
    )
    (folder / "statuspage.conf").write_text(server)
    user = "user root;\n" if os.getuid() == 0 else ""
    main = folder / "nginx.conf"
    main.write_text(
        f"{user}worker_processes {workers};\n"
        f"load_module {BROTLI_MODULE};\n"
        f"error_log {folder / 'nginx-error.log'} warn;\n"
        f"pid {folder / 'nginx.pid'};\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        "  include /etc/nginx/mime.types;\n"
        "  default_type application/octet-stream;\n"
        "  access_log off;\n"
        "  keepalive_timeout 30;\n"
        f"  include {folder / 'statuspage.conf'};\n"
        "}\n"
    )
    return main


def require(condition: bool, message: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


class Site:
    """A project instance of its own: a SQLite file, demo data, a publication, the application
    server (granian, as bin/start runs it) and nginx in front, all under one temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.app_port = free_port()
        self.nginx_port = free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
            "VAR_DIR": str(folder / "var"),
            "PUBLISH_ROOT": str(folder / "var" / "public"),
            "STATIC_ROOT": str(folder / "staticfiles"),
            "CACHE_URL": "locmem://",
            "DEBUG": "false",
            "SECRET_KEY": "a test key that is long enough to be a key for this test only",
            "SITE_URL": "http://127.0.0.1",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PUBLISH_MODE": "off",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.app_server: subprocess.Popen[bytes] | None = None
        self.nginx: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def prepare(self) -> None:
        self.manage("migrate", "--no-input", "-v", "0")
        self.manage("collectstatic", "--no-input", "-v", "0")
        self.manage("demo")
        self.manage("publish")

    def start_app(self) -> None:
        """The application server as bin/start runs it (granian), one worker."""
        granian = Path(sys.executable).with_name("granian")
        self.app_server = subprocess.Popen(
            [str(granian), "--interface", "wsgi", "--host", "127.0.0.1",
             "--port", str(self.app_port), "--workers", "1", "--blocking-threads", "4",
             "--no-ws", "--log-level", "warning", "statuspage.wsgi:application"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self.app_port)

    def stop_app(self) -> None:
        assert self.app_server is not None
        self.app_server.send_signal(signal.SIGTERM)
        self.app_server.wait(timeout=20)

    def start_nginx(self) -> None:
        write_nginx_config(
            self.folder,
            publish_root=self.env["PUBLISH_ROOT"],
            static_root=self.env["STATIC_ROOT"],
            app_port=self.app_port,
            port=self.nginx_port,
        )
        self.nginx = subprocess.Popen(
            [NGINX, "-p", f"{self.folder}/", "-c", str(self.folder / "nginx.conf"),
             "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        wait_for(self.nginx_port)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.nginx_port}{path}"

    def close(self) -> None:
        # SIGTERM, not SIGKILL: nginx's master then stops its workers, which would otherwise be
        # left running (and holding the port) after the test.
        for process in (self.nginx, self.app_server):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextmanager
def running_site(folder: Path) -> Iterator[Site]:
    """A prepared site with the application server and nginx running, stopped on leaving."""
    require(os.path.exists(NGINX), "nginx is not installed (apt-get install nginx-light)")
    require(
        BROTLI_MODULE.exists(),
        "nginx's brotli module is not installed (apt-get install libnginx-mod-http-brotli-static)",
    )
    instance = Site(folder)
    try:
        instance.prepare()
        instance.start_app()
        instance.start_nginx()
        yield instance
    finally:
        instance.close()
