"""Settings read from the environment: good values are taken, bad ones fail loudly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from statuspage.env import env_bool, env_int, env_list, parse_cache_url


def test_it_reads_booleans(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", True) is False
    monkeypatch.delenv("FLAG")
    assert env_bool("FLAG", True) is True


def test_it_refuses_a_malformed_boolean(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG", False)


def test_it_refuses_a_malformed_integer(monkeypatch):
    monkeypatch.setenv("PORT_NUMBER", "eighty")
    with pytest.raises(ImproperlyConfigured, match="PORT_NUMBER"):
        env_int("PORT_NUMBER", 80, minimum=1, maximum=65535)


def test_it_takes_integers_at_both_ends_of_their_range(monkeypatch):
    monkeypatch.setenv("PORT_NUMBER", "1")
    assert env_int("PORT_NUMBER", 80, minimum=1, maximum=65535) == 1
    monkeypatch.setenv("PORT_NUMBER", "65535")
    assert env_int("PORT_NUMBER", 80, minimum=1, maximum=65535) == 65535
    monkeypatch.delenv("PORT_NUMBER")
    assert env_int("PORT_NUMBER", 80, minimum=1, maximum=65535) == 80


@pytest.mark.parametrize("raw", ["0", "-25", "65536"])
def test_it_refuses_an_integer_out_of_its_range_and_names_it(monkeypatch, raw):
    monkeypatch.setenv("PORT_NUMBER", raw)
    with pytest.raises(
        ImproperlyConfigured, match=f"PORT_NUMBER must be between 1 and 65535, got {raw}"
    ):
        env_int("PORT_NUMBER", 80, minimum=1, maximum=65535)


def test_it_splits_lists(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_it_parses_cache_urls():
    assert parse_cache_url("redis://127.0.0.1:6379/1") == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/1",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
    assert parse_cache_url("locmem://x") == {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "x",
    }
    with pytest.raises(ImproperlyConfigured):
        parse_cache_url("memcached://x")


PROJECT = Path(__file__).resolve().parent.parent


def start(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run a fresh Python in the project, as a deployment would start, with these variables."""
    return subprocess.run(
        [sys.executable, *command],
        cwd=PROJECT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "statuspage.settings", **env},
        capture_output=True,
        text=True,
    )


def test_a_bad_time_zone_stops_the_start():
    result = start(["manage.py", "check"], TIME_ZONE="Mars/Olympus")
    assert result.returncode != 0
    assert "Mars/Olympus" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("EMAIL_PORT", "70000", "between 1 and 65535"),
        ("CHECKER_TICK_SECONDS", "0", "between 1 and 300"),
        ("PUBLIC_CACHE_MAX_AGE", "-1", "between 0 and 3600"),
        ("NOTIFY_WEBHOOK_TIMEOUT", "100000", "between 1 and 300"),
    ],
)
def test_an_out_of_range_number_stops_the_start_and_says_which(name, value, allowed):
    result = start(["-c", "import statuspage.settings"], **{name: value})
    assert result.returncode != 0
    assert f"{name} must be {allowed}, got {value}" in result.stderr


def test_the_retry_cap_may_not_be_below_the_first_retry():
    result = start(
        ["-c", "import statuspage.settings"],
        NOTIFY_RETRY_BASE_SECONDS="600",
        NOTIFY_RETRY_MAX_SECONDS="300",
    )
    assert result.returncode != 0
    assert "NOTIFY_RETRY_MAX_SECONDS must be between 600 and" in result.stderr


def test_starting_django_creates_no_folders(tmp_path):
    var = tmp_path / "var"
    result = start(
        ["-c", "import django; django.setup()"],
        VAR_DIR=str(var),
        CELERY_BROKER_URL="filesystem://",
    )
    assert result.returncode == 0, result.stderr
    assert not var.exists()


def test_the_file_broker_folders_are_made_before_the_first_task_is_sent(tmp_path):
    var = tmp_path / "var"
    send = (
        "import django; django.setup(); "
        "from incidents.tasks import advance_maintenances; advance_maintenances.delay()"
    )
    result = start(["-c", send], VAR_DIR=str(var), CELERY_BROKER_URL="filesystem://")
    assert result.returncode == 0, result.stderr
    assert len(list((var / "broker" / "queues" / "control").iterdir())) == 1
