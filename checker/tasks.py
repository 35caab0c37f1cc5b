"""Celery tasks of the checker, on the "checks" queue: thin wrappers that call the services."""

from celery import shared_task

from checker import alerts, rollups, services
from statuspage.models import HeartbeatKind
from statuspage.services import heartbeat_record


@shared_task(name="checker.run_due_checks", ignore_result=True)
def run_due_checks() -> int:
    probed = services.checks_run_due()
    heartbeat_record(kind=HeartbeatKind.CHECKER)
    return probed


@shared_task(name="checker.roll_up_results", ignore_result=True)
def roll_up_results() -> dict[str, int]:
    return rollups.rollups_advance()


@shared_task(name="checker.prune_results", ignore_result=True)
def prune_results() -> int:
    return rollups.results_prune() + alerts.alerts_prune()
