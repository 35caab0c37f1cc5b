"""Celery tasks for notifications: thin wrappers that take ids and call the services."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings

from incidents.services import maintenance_record_reminders
from notifications import fanout, ratelimit, sending, subscriptions, sweeper


@shared_task(name="notifications.fan_out_event", ignore_result=True)
def fan_out_event(event_id: int) -> None:
    fanout.event_fan_out(event_id=event_id)


@shared_task(name="notifications.send_deliveries", ignore_result=True)
def send_deliveries(channel: str) -> None:
    sending.deliveries_send(channel=channel)


@shared_task(name="notifications.send_subscriber_notice", ignore_result=True)
def send_subscriber_notice(subscriber_id: int) -> None:
    subscriptions.subscriber_send_notice(subscriber_id=subscriber_id)


@shared_task(name="notifications.send_webhook_challenge", ignore_result=True)
def send_webhook_challenge(subscriber_id: int) -> None:
    subscriptions.webhook_challenge_send(subscriber_id=subscriber_id)


@shared_task(name="notifications.sweep", ignore_result=True)
def sweep() -> None:
    sweeper.outbox_sweep()


@shared_task(name="notifications.prune_deliveries", ignore_result=True)
def prune_deliveries() -> None:
    sweeper.deliveries_prune()


@shared_task(name="notifications.prune_subscriptions", ignore_result=True)
def prune_subscriptions() -> None:
    subscriptions.subscribers_prune_unconfirmed()
    ratelimit.counters_prune()


@shared_task(name="notifications.record_maintenance_reminders", ignore_result=True)
def record_maintenance_reminders() -> None:
    maintenance_record_reminders(
        lead_time=dt.timedelta(minutes=settings.NOTIFY_REMINDER_LEAD_MINUTES)
    )
