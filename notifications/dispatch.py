"""Enqueueing notification tasks: only after the transaction commits, never failing the caller.

When the broker is down the work is not lost: the outbox event, the pending deliveries or the
requested notice are rows in the database, and the sweeper on Celery beat enqueues them again.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def publish(task_name: str, *args: Any, eta: dt.datetime | None = None) -> bool:
    """Send one of notifications.tasks to the broker now (to run at `eta`, if given); log and
    return False if the broker cannot take it."""
    from notifications import tasks
    from statuspage.celery import app

    task = getattr(tasks, task_name)
    try:
        if app.conf.task_always_eager:
            if eta is None:  # eager tasks run at once: a later one is left to the sweeper
                task.apply_async(args=args)
        else:
            # One attempt to reach the broker: a staff member posting an update must not wait
            # through reconnection back-offs while the sweeper can enqueue the work later.
            with app.pool.acquire(block=True) as connection:
                # celery-types calls app.pool a producer pool; it is the connection pool.
                connection.ensure_connection(max_retries=0)  # type: ignore[attr-defined]
                task.apply_async(args=args, retry=False, connection=connection, eta=eta)
    except Exception:  # the broker's client raises many kinds; every one means "not queued"
        logger.warning(
            "Could not enqueue %s%r; the notifications sweeper will pick the work up",
            task_name,
            args,
            exc_info=True,
        )
        return False
    return True


def publish_after_commit(task_name: str, *args: Any, eta: dt.datetime | None = None) -> None:
    transaction.on_commit(lambda: publish(task_name, *args, eta=eta))
