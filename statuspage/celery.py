"""The Celery application shared by workers, beat and the web process (which only enqueues)."""

import os

import kombu.transport
from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")

# filesystem:// is the embedded broker of statuspage/broker.py, not kombu's own file transport,
# which loses or chokes on messages under load (see that module). Every process that sends or
# takes a task imports this module first (statuspage/__init__.py), so all of them agree.
kombu.transport.TRANSPORT_ALIASES["filesystem"] = "statuspage.broker:Transport"

app = Celery("statuspage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
