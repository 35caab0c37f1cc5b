"""Store every email subscriber under its canonical spelling (notifications/addresses.py).

Rows that are spellings of one mailbox become one row: the one that is active (else the one
confirmed most recently, else the oldest) stays, with the components of every active spelling
(all components when one of them followed all); the others go, with their delivery records.
An address we would now refuse is disabled with the reason, not deleted, so staff see it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import migrations
from django.utils import timezone

from notifications.addresses import EmailRefused, canonical_email

_REFUSED_REASON = "The address cannot receive email from the public internet: {reason}"


def _active(row: Any) -> bool:
    return (
        row.confirmed_at is not None and row.unsubscribed_at is None and row.disabled_at is None
    )


def _preference(row: Any) -> tuple[int, float, int]:
    confirmed = row.confirmed_at.timestamp() if row.confirmed_at else 0.0
    return (0 if _active(row) else 1, -confirmed, row.pk)


def canonicalise(apps: Any, schema_editor: Any) -> None:
    Subscriber = apps.get_model("notifications", "Subscriber")
    groups: dict[str, list[Any]] = defaultdict(list)
    now = timezone.now()
    for row in Subscriber.objects.filter(kind="email").order_by("pk"):
        try:
            canonical = canonical_email(row.email)
        except EmailRefused as refused:
            if row.disabled_at is None:
                row.disabled_at = now
                row.disabled_reason = _REFUSED_REASON.format(reason=refused.message)
                row.save(update_fields=["disabled_at", "disabled_reason"])
            continue
        groups[canonical.lower()].append((canonical, row))
    for spellings in groups.values():
        rows = sorted((row for _, row in spellings), key=_preference)
        keeper, others = rows[0], rows[1:]
        canonical = next(c for c, row in spellings if row.pk == keeper.pk)
        if others:
            active = [row for row in rows if _active(row)]
            chosen = [set(row.components.values_list("pk", flat=True)) for row in active]
            Subscriber.objects.filter(pk__in=[row.pk for row in others]).delete()
            if chosen:
                follows_all = any(not components for components in chosen)
                keeper.components.set([] if follows_all else set().union(*chosen))
        if keeper.email != canonical:
            keeper.email = canonical
            keeper.save(update_fields=["email"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_subscriber_export_permission"),
    ]

    operations = [
        migrations.RunPython(canonicalise, migrations.RunPython.noop),
    ]
