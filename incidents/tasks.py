"""Celery tasks for incidents: thin wrappers that call the services."""

from celery import shared_task

from incidents import services


@shared_task(name="incidents.advance_maintenances", ignore_result=True)
def advance_maintenances() -> tuple[int, int]:
    return services.maintenances_advance()
