"""Secrets and security settings: no start without a signing key, the quick start's own key,
the production settings that pass Django's deploy check, and the Content-Security-Policy of
every HTML answer, from Django, the published site and nginx."""

import os
import re
import secrets
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.template.loader import render_to_string
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.factories import make_component, make_incident
from tests.site_processes import Site, running_site
from tests.test_published_site import Counting, call
from website.fastpath import PublishedSite

PROJECT = Path(__file__).resolve().parent.parent


def run(command: list[str], drop: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess:
    """Run a command in the project as a deployment would, without the variables in drop."""
    environ = {k: v for k, v in os.environ.items() if k not in drop}
    environ |= {"DJANGO_SETTINGS_MODULE": "statuspage.settings", **env}
    return subprocess.run(command, cwd=PROJECT, env=environ, capture_output=True, text=True)


def manage(*args: str, drop: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", *args], drop, **env)


def test_without_a_secret_key_and_debug_off_nothing_starts_and_the_message_names_it():
    result = manage("check", drop=("SECRET_KEY",), DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_an_empty_secret_key_counts_as_none():
    result = manage("check", DEBUG="false", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_mode_starts_without_a_secret_key():
    result = manage("check", drop=("SECRET_KEY",), DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_the_quick_start_key_is_made_once_kept_private_and_reused(tmp_path):
    key_file = tmp_path / "var" / "secret-key"
    first = run(["bash", "bin/secret-key", str(key_file)])
    second = run(["bash", "bin/secret-key", str(key_file)])
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50
    assert second.stdout.strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert list(key_file.parent.iterdir()) == [key_file]
    # Another installation gets another key.
    other = run(["bash", "bin/secret-key", str(tmp_path / "other")])
    assert other.stdout.strip() != key
    started = manage("check", DEBUG="false", SECRET_KEY=key)
    assert started.returncode == 0, started.stderr


def documented_production_settings() -> dict[str, str]:
    """The variables of the README's "Running in production" block, placeholders filled in."""
    readme = (PROJECT / "README.md").read_text()
    section = readme.split("## Running in production", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    variables = {}
    for line in block.splitlines():
        name, _, value = line.partition("=")
        variables[name] = re.sub(r"<[^>]*>", secrets.token_urlsafe(50), value)
    return variables


def deploy_check(
    variables: dict[str, str], drop: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    environ = {k: v for k, v in os.environ.items() if k not in drop}
    environ |= {"DJANGO_SETTINGS_MODULE": "statuspage.settings", **variables}
    return subprocess.run(command, cwd=PROJECT, env=environ, capture_output=True, text=True)


def test_the_documented_production_settings_pass_the_deploy_check():
    production = documented_production_settings()
    assert production["DEBUG"] == "false"
    result = deploy_check(production)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_check_names_what_the_production_settings_leave_out():
    production = documented_production_settings()
    del production["SECURE_HSTS_SECONDS"], production["SECURE_SSL_REDIRECT"]
    result = deploy_check(production, drop=("SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT"))
    assert result.returncode != 0
    assert "security.W004" in result.stderr
    assert "security.W008" in result.stderr


def test_a_redirect_to_https_needs_an_https_site_url():
    result = manage("check", SECURE_SSL_REDIRECT="true", SITE_URL="http://status.example.com")
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT needs a SITE_URL that starts with https://" in result.stderr


def test_hsts_seconds_have_a_range():
    result = manage("check", SECURE_HSTS_SECONDS="-1")
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS must be between 0 and 63072000" in result.stderr


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in policy.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def test_the_public_policy_allows_nothing_inline_nor_foreign_but_images():
    policy = directives(settings.CONTENT_SECURITY_POLICY)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    admin = directives(settings.CONTENT_SECURITY_POLICY_ADMIN)
    assert admin.pop("style-src") == ["'self'", "'unsafe-inline'"]
    assert admin == {k: v for k, v in policy.items() if k != "style-src"}


@pytest.fixture
def story():
    api = make_component("API")
    make_incident("Elevated API errors", components={api: "major_outage"})
    return api


@pytest.mark.django_db
def test_public_html_answers_carry_the_public_policy(client, story):
    for path in ("/", "/history", f"/components/{story.public_id}", "/subscriptions/", "/nowhere"):
        response = client.get(path)
        assert response["Content-Type"].startswith("text/html"), path
        assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY, path


@pytest.mark.django_db
def test_answers_that_are_not_html_carry_no_policy_of_ours(client, story):
    assert "Content-Security-Policy" not in client.get("/api/v2/summary.json")
    assert "Content-Security-Policy" not in client.get("/history.atom")
    # The badge brings its own, stricter one.
    badge = client.get("/badge.svg")["Content-Security-Policy"]
    assert badge != settings.CONTENT_SECURITY_POLICY


@pytest.mark.django_db
def test_the_admin_gets_the_admin_policy(client, admin_user):
    assert (
        client.get("/admin/login/")["Content-Security-Policy"]
        == settings.CONTENT_SECURITY_POLICY_ADMIN
    )
    client.force_login(admin_user)
    for path in ("/admin/", "/admin/incidents/incident/add/", "/admin/missing/"):
        response = client.get(path, follow=True)
        assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY_ADMIN, path


class InlineCode(HTMLParser):
    """Collects what a policy without 'unsafe-inline' would refuse to run or apply."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        if "style" in names:
            self.found.append(f"style= on <{tag}>")
        self.found += [f"{name}= on <{tag}>" for name in names if name.startswith("on")]
        if tag == "a" and any((v or "").startswith("javascript:") for n, v in attrs if n == "href"):
            self.found.append("javascript: link")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_the_inline_code_finder_finds_inline_code():
    page = '<p style="x" onclick="y"><script>z()</script><style>p{}</style></p>'
    assert inline_code(page) == [
        "style= on <p>",
        "onclick= on <p>",
        "<script> without src",
        "<style>",
    ]
    assert inline_code('<script src="/static/a.js" defer></script>') == []


@pytest.mark.django_db
def test_public_pages_hold_no_inline_script_or_style(client, story):
    for path in ("/", "/history", f"/components/{story.public_id}", "/subscriptions/", "/nowhere"):
        assert inline_code(client.get(path).content.decode()) == [], path
    assert inline_code(render_to_string("500.html")) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.published
def test_published_pages_carry_the_policy(settings, story):
    settings.PUBLISH_RELOAD_MS = 0
    site = PublishedSite(Counting())
    page = call(site, "/")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == settings.CONTENT_SECURITY_POLICY
    history = call(site, "/history")
    assert history.headers["content-security-policy"] == settings.CONTENT_SECURITY_POLICY


@pytest.fixture(scope="module")
def nginx_site(tmp_path_factory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("nginx-csp")) as instance:
        yield instance


def test_nginx_sends_the_policy_once_with_the_files_it_serves_and_keeps_the_admins(nginx_site):
    public = settings.CONTENT_SECURITY_POLICY
    home = httpx.get(nginx_site.url("/"))
    assert home.headers.get_list("content-security-policy") == [public]
    assert httpx.get(nginx_site.url("/history")).headers.get_list("content-security-policy") == [
        public
    ]
    login = httpx.get(nginx_site.url("/admin/login/"))
    assert login.status_code == 200
    assert login.headers.get_list("content-security-policy") == [
        settings.CONTENT_SECURITY_POLICY_ADMIN
    ]
    summary = httpx.get(nginx_site.url("/api/v2/summary.json"))
    assert summary.headers.get_list("content-security-policy") == []
    nginx_site.stop_app()
    standby = httpx.get(nginx_site.url("/subscriptions/"))
    assert standby.status_code == 200
    assert standby.headers.get_list("content-security-policy") == [public]
    down = httpx.get(nginx_site.url("/incidents/not-published"))
    assert down.status_code == 503
    assert down.headers.get_list("content-security-policy") == [public]


LOCK = PROJECT / "requirements" / "lock.txt"


def locked_versions() -> dict[str, tuple[str, int]]:
    """Each package of the lock file: its pinned version and how many hashes it lists."""
    locked: dict[str, tuple[str, int]] = {}
    name = ""
    for line in LOCK.read_text().splitlines():
        pin = re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line)
        if pin:
            name = canonicalize_name(pin.group(1))
            locked[name] = (pin.group(2), 0)
        elif line.strip().startswith("--hash=sha256:"):
            version, hashes = locked[name]
            locked[name] = (version, hashes + 1)
    return locked


def test_the_lock_pins_every_dependency_with_hashes_within_its_range():
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    declared = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["dev"],
        *project["build-system"]["requires"],
    ]
    locked = locked_versions()
    for line in declared:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements/lock.txt"
        version, _ = locked[name]
        assert requirement.specifier.contains(version, prereleases=True), (name, version)
    assert all(hashes > 0 for _, hashes in locked.values())
