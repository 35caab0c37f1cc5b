"""The Celery application shared by workers, beat and the web process (which only enqueues)."""

import logging
import os
import time
from typing import Any

import kombu.transport
from celery import Celery
from celery.signals import task_failure, task_postrun, task_prerun, task_retry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")

# filesystem:// is the embedded broker of statuspage/broker.py, not kombu's own file transport,
# which loses or chokes on messages under load (see that module). Every process that sends or
# takes a task imports this module first (statuspage/__init__.py), so all of them agree.
kombu.transport.TRANSPORT_ALIASES["filesystem"] = "statuspage.broker:Transport"

app = Celery("statuspage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# One log line per task outcome (statuspage/logs.py formats them), in place of Celery's own
# trace lines (LOGGING quiets celery.app.trace).
task_logger = logging.getLogger("statuspage.tasks")
_started: dict[str, float] = {}


@task_prerun.connect
def note_task_start(task_id: str, **kwargs: Any) -> None:
    _started[task_id] = time.monotonic()


@task_postrun.connect
def log_task_done(
    task_id: str, task: Any, retval: Any = None, state: str = "", **kwargs: Any
) -> None:
    began = _started.pop(task_id, None)
    if state != "SUCCESS":
        return
    runtime = round(time.monotonic() - began, 3) if began is not None else None
    fields = {"task": task.name, "task_id": task_id, "runtime_seconds": runtime}
    if task.name == "checker.run_due_checks":
        task_logger.info("", extra={"event": "checker.tick", "probed": retval, **fields})
    else:
        task_logger.info("", extra={"event": "task.succeeded", **fields})


@task_failure.connect
def log_task_failure(
    task_id: str, exception: BaseException, sender: Any = None, einfo: Any = None, **kwargs: Any
) -> None:
    task_logger.error(
        str(exception),
        exc_info=(type(exception), exception, exception.__traceback__),
        extra={
            "event": "task.failed",
            "task": getattr(sender, "name", None),
            "task_id": task_id,
            "error": type(exception).__name__,
        },
    )


@task_retry.connect
def log_task_retry(request: Any = None, reason: Any = None, **kwargs: Any) -> None:
    task_logger.warning(
        str(reason),
        extra={
            "event": "task.retried",
            "task": getattr(request, "task", None),
            "task_id": getattr(request, "id", None),
        },
    )
