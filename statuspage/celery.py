"""The Celery application shared by workers, beat and the web process (which only enqueues)."""

import os
from pathlib import Path
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")

app = Celery("statuspage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


@app.on_after_finalize.connect
def make_broker_folders(sender: Celery, **kwargs: Any) -> None:
    """The file broker reads and writes its folders but does not create them. Every process
    that publishes or consumes a task (web, worker, beat) finalizes the app first, so this is
    the one moment they all pass through before they touch the broker."""
    if not str(sender.conf.broker_url).startswith("filesystem://"):
        return
    options = sender.conf.broker_transport_options or {}
    for key in _BROKER_FOLDERS:
        if key in options:
            Path(options[key]).mkdir(parents=True, exist_ok=True)
