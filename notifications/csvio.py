"""Subscribers to and from CSV, for staff moving a list between systems.

Columns: kind, email, url, components, state, created_at, confirmed_at. Components are names
(or public ids) separated by semicolons; empty means every component. An import needs only an
`email` column; it checks every line first and imports nothing if any line is wrong.

Addresses and names come from strangers and staff: a cell a spreadsheet would take for a
formula is written with a quote in front, and an import takes that quote off again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from notifications.addresses import INVALID_ADDRESS, EmailRefused, canonical_email
from notifications.models import Subscriber, SubscriberKind
from notifications.subscriptions import subscription_request
from statuspage.models import Component

EXPORT_COLUMNS = ["kind", "email", "url", "components", "state", "created_at", "confirmed_at"]
MAX_ERRORS_SHOWN = 50
# Spreadsheets evaluate a cell that starts with one of these (some skip a leading tab or CR
# first); a leading quote makes it text. A cell that starts with a quote gets one more, so that
# taking one off on import gives back exactly what was exported.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"


def neutralize_cell(value: str) -> str:
    """The cell as written to a CSV file: never a formula to a spreadsheet."""
    return TEXT_MARK + value if value.startswith((*FORMULA_STARTS, TEXT_MARK)) else value


def restore_cell(value: str) -> str:
    """The value a neutralized cell stood for (other cells as they are)."""
    if value.startswith(TEXT_MARK) and value[1:].startswith((*FORMULA_STARTS, TEXT_MARK)):
        return value[1:]
    return value


def subscribers_export(subscribers: Iterable[Subscriber]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for subscriber in subscribers:
        writer.writerow(
            neutralize_cell(cell)
            for cell in [
                subscriber.kind,
                subscriber.email,
                subscriber.url,
                "; ".join(c.name for c in subscriber.components.all()),
                subscriber.state,
                subscriber.created_at.isoformat(),
                subscriber.confirmed_at.isoformat() if subscriber.confirmed_at else "",
            ]
        )
    return out.getvalue()


@dataclass
class ImportReport:
    created: int = 0
    already_there: int = 0
    webhooks_skipped: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def shown_errors(self) -> list[str]:
        extra = len(self.errors) - MAX_ERRORS_SHOWN
        shown = self.errors[:MAX_ERRORS_SHOWN]
        return shown + [f"... and {extra} more."] if extra > 0 else shown


@dataclass(frozen=True)
class _Row:
    email: str
    components: list[Component]


def _component_index() -> dict[str, Component]:
    index: dict[str, Component] = {}
    for component in Component.objects.all():
        index[component.public_id] = component
        index.setdefault(component.name.strip().lower(), component)
    return index


def _parse(text: str, report: ImportReport) -> list[_Row]:
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    if "email" not in columns:
        report.errors.append(
            'The first line must name the columns, and one of them must be "email" '
            '(optional: "components", names separated by semicolons).'
        )
        return []
    reader.fieldnames = columns
    index = _component_index()
    rows: list[_Row] = []
    seen: set[str] = set()
    for cells in reader:
        line = reader.line_num
        row = {name: restore_cell(value) for name, value in cells.items() if isinstance(value, str)}
        kind = (row.get("kind") or SubscriberKind.EMAIL).strip().lower()
        if kind == SubscriberKind.WEBHOOK:
            report.webhooks_skipped += 1
            continue
        if kind != SubscriberKind.EMAIL:
            report.errors.append(
                f'Line {line}: the kind must be "email" or "webhook", not "{kind}".'
            )
            continue
        raw_email = (row.get("email") or "").strip()
        if not raw_email:
            report.errors.append(f"Line {line}: the email address is missing.")
            continue
        # The same canonical spelling and the same refusals as the subscribe form.
        try:
            email = canonical_email(raw_email)
        except EmailRefused as refusal:
            report.errors.append(
                f'Line {line}: "{raw_email}" is not a valid email address.'
                if refusal.args[0] == INVALID_ADDRESS
                else f'Line {line}: "{raw_email}": {refusal}'
            )
            continue
        components: list[Component] = []
        for name in (row.get("components") or "").split(";"):
            if not name.strip():
                continue
            component = index.get(name.strip()) or index.get(name.strip().lower())
            if component is None:
                report.errors.append(f'Line {line}: there is no component called "{name.strip()}".')
            else:
                components.append(component)
        if email.lower() in seen:
            report.already_there += 1
            continue
        seen.add(email.lower())
        rows.append(_Row(email, components))
    return rows


def subscribers_import(*, text: str, confirmed: bool) -> ImportReport:
    """Add the email subscribers of a CSV file, all or none.

    With `confirmed`, staff vouch that these people opted in elsewhere: they are active at once.
    Otherwise each address gets a confirmation email, as if it had used the subscribe form.
    Addresses already here are left as they are.
    """
    report = ImportReport()
    rows = _parse(text, report)
    if report.errors:
        return report
    with transaction.atomic():
        existing = {
            e.lower()
            for e in Subscriber.objects.filter(kind=SubscriberKind.EMAIL).values_list(
                "email", flat=True
            )
        }
        now = timezone.now()
        for row in rows:
            if row.email.lower() in existing:
                report.already_there += 1
                continue
            if confirmed:
                subscriber = Subscriber.objects.create(
                    kind=SubscriberKind.EMAIL, email=row.email, confirmed_at=now
                )
                subscriber.components.set(row.components)
            else:
                subscription_request(email=row.email, components=row.components)
            report.created += 1
    return report
