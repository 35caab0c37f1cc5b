"""Run the notification pipeline in the test process, the same services the workers call."""

from __future__ import annotations

from incidents.models import OutboxEvent
from notifications import fanout, sending
from notifications.models import SubscriberKind


def fan_out_pending() -> int:
    ids = OutboxEvent.objects.filter(processed_at__isnull=True).values_list("pk", flat=True)
    return sum(fanout.event_fan_out(event_id=event_id) or 0 for event_id in list(ids))


def send_due() -> int:
    """Send batches until no delivery is due; returns how many deliveries were claimed."""
    total = 0
    for channel in SubscriberKind.values:
        while claimed := sending.deliveries_send_batch(channel=channel):
            total += claimed
    return total


def deliver_everything() -> int:
    fan_out_pending()
    return send_due()
