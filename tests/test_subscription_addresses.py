"""One mailbox, one subscriber: every spelling of an address is counted, stored and looked up
under its canonical form, and addresses that cannot get public mail are refused."""

import pytest
from django.test import Client

from notifications.addresses import EmailRefused, canonical_email
from notifications.models import Subscriber

pytestmark = pytest.mark.django_db

SUBSCRIBE = "/subscriptions/"

SPELLINGS_OF_VICTIM = [
    "victim@example.org",
    '"victim"@example.org',
    '"vic\\tim"@example.org',
    "victim@EXAMPLE.org",
    "victim@example.org.",
    "VICTIM@example.org",
]


@pytest.mark.parametrize("spelling", SPELLINGS_OF_VICTIM)
def test_every_spelling_of_one_mailbox_has_one_canonical_form(spelling):
    assert canonical_email(spelling).lower() == "victim@example.org"


def test_an_idn_domain_and_its_punycode_are_the_same_address():
    assert canonical_email("victim@EXÄMPLE.org") == "victim@xn--exmple-cua.org"
    assert canonical_email("victim@xn--exmple-cua.org") == "victim@xn--exmple-cua.org"
    assert canonical_email("victim@exämple.org") == "victim@xn--exmple-cua.org"


@pytest.mark.parametrize(
    "address",
    [
        "a@localhost",
        "a@[127.0.0.1]",
        "a@[IPv6:::1]",
        "a@127.0.0.1",
        "a@intranet",
        "a@printer.local",
        "a@db.internal",
        '"victim@other.org"@example.org',
        '"vic tim"@example.org',
        '"vic\\"tim"@example.org',
        "vic\\tim@example.org",
        "victim@exa_mple.org",
    ],
)
def test_addresses_that_cannot_get_public_mail_or_need_quotes_are_refused(address):
    with pytest.raises(EmailRefused):
        canonical_email(address)


def subscribe(client: Client, email: str):
    return client.post(SUBSCRIBE, {"email": email})


def test_spellings_of_one_mailbox_share_the_per_address_limit(client, settings):
    settings.NOTIFY_SUBSCRIBE_LIMIT_PER_EMAIL = 3
    settings.NOTIFY_SUBSCRIBE_LIMIT_PER_IP = 1000
    answers = [
        subscribe(client, spelling).status_code
        for spelling in ['"victim"@example.org', '"vic\\tim"@example.org', "victim@EXAMPLE.org"]
    ]
    assert answers == [200, 200, 200]
    assert subscribe(client, "victim@example.org").status_code == 429
    assert Subscriber.objects.count() == 1


def test_spellings_of_one_mailbox_make_one_subscriber_stored_canonically(client):
    for spelling in ['"victim"@exämple.org', "victim@EXÄMPLE.org", "victim@xn--exmple-cua.org"]:
        assert subscribe(client, spelling).status_code == 200
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["victim@xn--exmple-cua.org"]


def test_the_form_refuses_a_quoted_local_part_that_would_reach_another_mailbox(client):
    response = subscribe(client, '"victim@other.org"@example.org')
    assert "plain address" in response.content.decode()
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize("address", ["a@localhost", "a@[127.0.0.1]", "a@intranet"])
def test_the_form_refuses_addresses_that_cannot_get_public_mail(client, address):
    response = subscribe(client, address)
    assert response.status_code == 200
    assert "Check your inbox" not in response.content.decode()
    assert not Subscriber.objects.exists()
