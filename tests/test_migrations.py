"""Migrations apply to an empty database and roll back to zero, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db.migrations.loader import MigrationLoader

ROOT = Path(__file__).resolve().parent.parent
OUR_APPS = ["statuspage", "incidents", "notifications", "checker", "manage"]


def manage(database_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def our_plan(database_url: str) -> list[str]:
    """Our apps' lines of the migration plan (it also lists Django's, which stay applied)."""
    plan = manage(database_url, "showmigrations", *OUR_APPS, "--plan")
    return [
        line
        for line in plan.splitlines()
        if any(line[5:].startswith(f"{app}.") for app in OUR_APPS)
    ]


def round_trip(database_url: str) -> None:
    manage(database_url, "migrate", "--no-input")
    applied = our_plan(database_url)
    assert applied and all(line.startswith("[X]") for line in applied), applied
    for app in reversed(OUR_APPS):
        manage(database_url, "migrate", app, "zero", "--no-input")
    unapplied = our_plan(database_url)
    assert unapplied and all(line.startswith("[ ]") for line in unapplied), unapplied
    manage(database_url, "migrate", "--no-input")


def test_migrations_round_trip_on_sqlite(tmp_path):
    round_trip(f"sqlite:///{tmp_path / 'migrations.sqlite3'}")


def postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def test_migrations_round_trip_on_postgresql():
    url = postgres_url()
    if url is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the tests against PostgreSQL (set DATABASE_URL)")
        pytest.skip("DATABASE_URL does not point at PostgreSQL")
    import psycopg

    base, _, _ = url.rpartition("/")
    name = f"statuspage_migrations_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        round_trip(f"{base}/{name}")
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_every_migration_of_ours_runs_in_a_transaction():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    ours = [m for (app, _), m in loader.disk_migrations.items() if app in OUR_APPS]
    assert ours
    assert all(migration.atomic for migration in ours)
