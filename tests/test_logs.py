"""Structured logs: one line per event with its name and ids (statuspage/logs.py), and one line
for each task's outcome and each checker tick (statuspage/celery.py)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from statuspage.celery import app
from statuspage.logs import KeyValueFormatter

ROOT = Path(__file__).resolve().parents[1]


@app.task(name="tests.explode")
def explode() -> None:
    raise RuntimeError("the probe fell over\nsecond line")


def log_line(code: str, **env: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", f"import django, logging\ndjango.setup()\n{code}"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "statuspage.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stderr.splitlines() if "demo." in line]


def test_the_site_logs_one_key_value_line_per_event():
    code = (
        "try:\n    1/0\nexcept ZeroDivisionError:\n"
        "    logging.getLogger('x').exception('it broke', extra={'event': 'demo.failed', 'n': 3})"
    )
    (line,) = log_line(code)
    assert "level=error event=demo.failed logger=x" in line
    assert 'msg="it broke" n=3' in line
    assert 'exc="Traceback' in line and "ZeroDivisionError" in line


def test_the_site_logs_json_lines_when_asked():
    code = "logging.getLogger('x').warning('hello', extra={'event': 'demo.said'})"
    (line,) = log_line(code, LOG_FORMAT="json")
    fields = json.loads(line)
    assert fields["event"] == "demo.said" and fields["msg"] == "hello"


def test_a_message_that_names_its_event_keeps_it():
    record = logging.makeLogRecord(
        {"name": "statuspage.broker", "levelname": "ERROR", "msg": "event=broker.x queue=a"}
    )
    assert "event=broker.x" in KeyValueFormatter().format(record)


@pytest.mark.django_db
def test_a_failed_task_is_one_line_with_its_id_and_traceback(caplog):
    with caplog.at_level(logging.INFO, logger="statuspage.tasks"):
        result = explode.apply()
    (record,) = [r for r in caplog.records if getattr(r, "event", "") == "task.failed"]
    line = KeyValueFormatter().format(record)
    assert "\n" not in line
    assert f"task=tests.explode task_id={result.id} error=RuntimeError" in line
    assert "the probe fell over" in line


@pytest.mark.django_db
def test_each_checker_tick_is_logged_with_what_it_probed(caplog):
    from checker.tasks import run_due_checks

    with caplog.at_level(logging.INFO, logger="statuspage.tasks"):
        run_due_checks.apply()
    (record,) = [r for r in caplog.records if getattr(r, "event", "") == "checker.tick"]
    line = KeyValueFormatter().format(record)
    assert "event=checker.tick" in line and "probed=0" in line
