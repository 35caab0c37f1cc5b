"""The workers' heartbeat: beat sends this task to every queue, and whichever worker takes it
notes that the queue is served."""

from celery import shared_task

from statuspage.models import HeartbeatKind
from statuspage.services import heartbeat_record


@shared_task(name="health.record_worker_heartbeat", ignore_result=True)
def record_worker_heartbeat(queue: str) -> None:
    heartbeat_record(kind=HeartbeatKind.WORKER, name=queue)
