"""Secrets and security settings: no start without a signing key, the quick start's own key."""

import os
import stat
import subprocess
import sys
from pathlib import Path

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
