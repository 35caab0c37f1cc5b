"""Settings read from the environment: good values are taken, bad ones fail loudly."""

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
        env_int("PORT_NUMBER", 80)


def test_it_splits_lists(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_it_parses_cache_urls():
    assert parse_cache_url("redis://127.0.0.1:6379/1") == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/1",
    }
    assert parse_cache_url("locmem://x")["BACKEND"].endswith("LocMemCache")
    with pytest.raises(ImproperlyConfigured):
        parse_cache_url("memcached://x")


def test_a_bad_time_zone_stops_the_start(tmp_path):
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=os.path.dirname(os.path.dirname(__file__)),
        env={**os.environ, "TIME_ZONE": "Mars/Olympus"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "Mars/Olympus" in result.stderr
