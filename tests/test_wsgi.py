"""The served application: what a process loads before its first request is left out of the
garbage collector's full passes, which would otherwise stop every thread of a web process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wsgi_module_freezes_what_it_loaded_including_the_views() -> None:
    probe = (
        "import gc, sys\n"
        "import statuspage.wsgi\n"
        "print(gc.get_freeze_count(), 'website.views' in sys.modules, gc.get_count()[2])\n"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="statuspage.settings", PUBLISH_MODE="off")
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    frozen, views_loaded, oldest_pending = completed.stdout.split()
    # A Django process holds tens of thousands of objects once its URL configuration is in.
    assert int(frozen) > 20_000
    assert views_loaded == "True"
    assert oldest_pending == "0"
