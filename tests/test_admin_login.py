"""Staff login: failed logins are counted per address and per account at an address, and past
the limit even the right password is refused until the cool-off has passed; the admin's path
is a setting."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-staff-password"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def ada() -> User:
    return User.objects.create_user("ada", password=PASSWORD, is_staff=True)


def log_in(client: Client, username: str, password: str, *, address: str = "192.0.2.10"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def is_logged_in(client: Client) -> bool:
    return client.get(reverse("admin:index")).status_code == 200


def test_a_few_wrong_passwords_do_not_stop_the_right_one(client: Client, ada: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "ada", "wrong").status_code == 200
    assert log_in(client, "ada", PASSWORD).status_code == 302
    assert is_logged_in(client)


def test_after_the_limit_of_wrong_passwords_the_right_one_is_refused(
    client: Client, ada: User
) -> None:
    for _ in range(40):
        log_in(client, "ada", "wrong")
    response = log_in(client, "ada", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not is_logged_in(client)


def test_the_lockout_begins_exactly_at_the_limit(client: Client, ada: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "ada", "wrong")
    assert log_in(client, "ada", PASSWORD).status_code == 429


def test_an_address_guessing_many_usernames_is_locked_out_for_all_of_them(
    client: Client, ada: User
) -> None:
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess{n}", "wrong", address="198.51.100.7")
    assert log_in(client, "ada", PASSWORD, address="198.51.100.7").status_code == 429
    assert not is_logged_in(client)


def test_a_lockout_from_one_address_leaves_the_account_open_from_another(
    client: Client, ada: User
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "ada", "wrong", address="198.51.100.7")
    assert log_in(client, "ada", PASSWORD, address="192.0.2.10").status_code == 302
    assert is_logged_in(client)


def test_the_lockout_ends_after_the_cool_off(client: Client, ada: User) -> None:
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            log_in(client, "ada", "wrong")
    with time_machine.travel(start + settings.AXES_COOLOFF_TIME + dt.timedelta(minutes=1)):
        assert log_in(client, "ada", PASSWORD).status_code == 302


def test_a_try_during_the_lockout_starts_the_cool_off_again(client: Client, ada: User) -> None:
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    cool_off = settings.AXES_COOLOFF_TIME
    with time_machine.travel(start, tick=False):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            log_in(client, "ada", "wrong")
    late_try = start + cool_off - dt.timedelta(minutes=1)
    with time_machine.travel(late_try, tick=False):
        assert log_in(client, "ada", PASSWORD).status_code == 429
    # Past the first pause, but within the one the late try started (and so starting another).
    refused_again = start + cool_off + dt.timedelta(minutes=1)
    with time_machine.travel(refused_again, tick=False):
        assert log_in(client, "ada", PASSWORD).status_code == 429
    with time_machine.travel(refused_again + cool_off + dt.timedelta(minutes=1), tick=False):
        assert log_in(client, "ada", PASSWORD).status_code == 302


def test_behind_trusted_proxies_the_forwarded_address_is_the_one_locked_out(
    client: Client, ada: User, settings
) -> None:
    settings.NOTIFY_TRUSTED_PROXY_HOPS = 1
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("admin:login"),
            {"username": "ada", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="198.51.100.7",
        )
    other_visitor = client.post(
        reverse("admin:login"),
        {"username": "ada", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="192.0.2.10",
    )
    assert other_visitor.status_code == 302


def test_logging_in_without_a_form_still_works_for_tests(client: Client, ada: User) -> None:
    client.force_login(ada)
    assert is_logged_in(client)


def _settings_subprocess(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "statuspage.settings",
            "SECRET_KEY": "test-only",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_admin_is_served_at_the_configured_path() -> None:
    result = _settings_subprocess(
        "import django; django.setup(); from django.urls import reverse, resolve; "
        "print(reverse('admin:index')); print(resolve('/staff/ops/login/').view_name)",
        ADMIN_PATH="staff/ops/",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/staff/ops/", "admin:login"]


@pytest.mark.parametrize("path", ["/admin/", "admin", "", "ad min/", "../admin/"])
def test_a_malformed_admin_path_stops_the_start(path: str) -> None:
    result = _settings_subprocess("import django; django.setup()", ADMIN_PATH=path)
    assert result.returncode != 0
    assert "ADMIN_PATH must be" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"), [("LOGIN_FAILURE_LIMIT", "0"), ("LOGIN_COOLOFF_MINUTES", "0")]
)
def test_login_limits_out_of_range_stop_the_start(variable: str, value: str) -> None:
    result = _settings_subprocess("import django; django.setup()", **{variable: value})
    assert result.returncode != 0
    assert f"{variable} must be between" in result.stderr
