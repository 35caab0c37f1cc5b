"""Debian's nginx with the shipped configuration (deploy/nginx/) serves the published mirror, and
keeps serving every public URL when gunicorn is stopped."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")


def _require(condition: bool, message: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int, *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


class Site:
    """A project instance of its own: a SQLite file, demo data, a publication, gunicorn and
    nginx in front, all under one temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.app_port = _free_port()
        self.nginx_port = _free_port()
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
        self.gunicorn: subprocess.Popen[bytes] | None = None
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

    def start_gunicorn(self) -> None:
        self.gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "statuspage.wsgi", "--bind",
             f"127.0.0.1:{self.app_port}", "--workers", "1", "--log-level", "warning"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for(self.app_port)

    def stop_gunicorn(self) -> None:
        assert self.gunicorn is not None
        self.gunicorn.send_signal(signal.SIGTERM)
        self.gunicorn.wait(timeout=20)

    def start_nginx(self) -> None:
        shipped = (ROOT / "deploy/nginx/statuspage.conf").read_text()
        proxy = (ROOT / "deploy/nginx/statuspage-proxy.conf").read_text()
        (self.folder / "statuspage-proxy.conf").write_text(proxy)
        server = (
            shipped.replace("/srv/statuspage/var/public", self.env["PUBLISH_ROOT"])
            .replace("/srv/statuspage/staticfiles", self.env["STATIC_ROOT"])
            .replace("127.0.0.1:8000", f"127.0.0.1:{self.app_port}")
            .replace("listen 80;", f"listen 127.0.0.1:{self.nginx_port};")
            .replace("/etc/nginx/statuspage-proxy.conf", str(self.folder / "statuspage-proxy.conf"))
        )
        (self.folder / "statuspage.conf").write_text(server)
        user = "user root;\n" if os.getuid() == 0 else ""
        (self.folder / "nginx.conf").write_text(
            f"{user}worker_processes 1;\n"
            f"load_module {BROTLI_MODULE};\n"
            f"error_log {self.folder / 'nginx-error.log'} warn;\n"
            f"pid {self.folder / 'nginx.pid'};\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            "  include /etc/nginx/mime.types;\n"
            "  default_type application/octet-stream;\n"
            "  access_log off;\n"
            f"  include {self.folder / 'statuspage.conf'};\n"
            "}\n"
        )
        self.nginx = subprocess.Popen(
            [NGINX, "-p", f"{self.folder}/", "-c", str(self.folder / "nginx.conf"),
             "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        _wait_for(self.nginx_port)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.nginx_port}{path}"

    def close(self) -> None:
        # SIGTERM, not SIGKILL: nginx's master then stops its workers, which would otherwise be
        # left running (and holding the port) after the test.
        for process in (self.nginx, self.gunicorn):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    _require(os.path.exists(NGINX), "nginx is not installed (apt-get install nginx-light)")
    _require(
        BROTLI_MODULE.exists(),
        "nginx's brotli module is not installed (apt-get install libnginx-mod-http-brotli-static)",
    )
    instance = Site(tmp_path_factory.mktemp("nginx-site"))
    try:
        instance.prepare()
        instance.start_gunicorn()
        instance.start_nginx()
        yield instance
    finally:
        instance.close()


def _public_urls(site: Site) -> list[str]:
    summary = httpx.get(site.url("/api/v2/summary.json")).json()
    incidents = httpx.get(site.url("/api/v2/incidents.json")).json()["incidents"]
    component = next(c for c in summary["components"] if not c["group"])
    incident = incidents[0]
    return [
        "/",
        "/?utm_source=newsletter",
        "/history",
        "/history?page=2",
        "/history.atom",
        "/history.rss",
        "/badge.svg",
        f"/badge/{component['id']}.svg",
        f"/components/{component['id']}",
        f"/incidents/{incident['id']}",
        "/live",
        "/api/v2/summary.json",
        "/api/v2/status.json",
        "/api/v2/components.json",
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
        f"/api/v2/incidents/{incident['id']}.json",
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/scheduled-maintenances/active.json",
    ]


def test_nginx_serves_the_published_site_as_gunicorn_would(site):
    for path in ("/api/v2/summary.json", "/api/v2/components.json", "/history.atom"):
        direct = httpx.get(f"http://127.0.0.1:{site.app_port}{path}")
        through = httpx.get(site.url(path))
        assert through.status_code == 200
        assert through.content == direct.content, path
        assert through.headers["content-type"] == direct.headers["content-type"], path
    api = httpx.get(site.url("/api/v2/summary.json"))
    assert api.headers["access-control-allow-origin"] == "*"
    assert json.loads(api.content)["page"]["name"]


def test_nginx_sends_the_precompressed_bodies(site):
    packed = httpx.get(site.url("/"), headers={"Accept-Encoding": "br"})
    assert packed.headers["content-encoding"] == "br"
    zipped = httpx.get(site.url("/"), headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    plain = httpx.get(site.url("/"), headers={"Accept-Encoding": "identity"})
    # httpx decodes both; what travelled is the published compressed file.
    assert packed.content == plain.content
    assert zipped.content == plain.content
    published = Path(site.env["PUBLISH_ROOT"]) / "current"
    assert packed.num_bytes_downloaded == (published / "index.html.br").stat().st_size
    assert zipped.num_bytes_downloaded == (published / "index.html.gz").stat().st_size


def test_the_live_poll_is_empty_for_the_current_token(site):
    home = httpx.get(site.url("/")).text
    token = home.split("/live?v=", 1)[1].split('"', 1)[0]
    current = httpx.get(site.url(f"/live?v={token}"))
    assert current.status_code == 200
    assert current.content == b""
    stale = httpx.get(site.url("/live?v=0"))
    assert 'id="components"' in stale.text
    assert httpx.get(site.url("/live?v=../index.html")).content != home.encode()


def test_a_hostile_page_parameter_stays_inside_the_mirror(site):
    page = httpx.get(site.url("/history?page=../../../../etc/passwd"))
    assert page.status_code == 200
    assert "root:" not in page.text


def test_with_the_database_gone_published_pages_answer_and_the_rest_say_503(site):
    database = Path(site.env["DATABASE_URL"].removeprefix("sqlite:///"))
    kept = database.with_suffix(".kept")
    database.rename(kept)
    try:
        database.write_bytes(b"this file is not a database " * 100)
        assert httpx.get(site.url("/")).status_code == 200
        assert httpx.get(site.url("/api/v2/summary.json")).status_code == 200
        for path in ("/subscriptions/", "/incidents/not-published-yet"):
            answer = httpx.get(f"http://127.0.0.1:{site.app_port}{path}")
            assert answer.status_code == 503, path
            assert answer.headers["retry-after"] == "30"
    finally:
        kept.replace(database)
    assert httpx.get(f"http://127.0.0.1:{site.app_port}/subscriptions/").status_code == 200


def test_with_gunicorn_stopped_every_public_url_still_answers(site):
    urls = _public_urls(site)
    before = {path: httpx.get(site.url(path)).content for path in urls}
    site.stop_gunicorn()
    for path in urls:
        response = httpx.get(site.url(path))
        assert response.status_code == 200, path
        assert response.content == before[path], path
    stylesheet = before["/"].decode().split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
    assert httpx.get(site.url(stylesheet)).status_code == 200
    missing = httpx.get(site.url("/incidents/doesnotexist"))
    assert missing.status_code == 503
    assert httpx.get(site.url("/subscriptions/")).status_code == 503
