"""The TCP and TLS probes against real sockets on 127.0.0.1, with certificates made here."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from checker.models import CheckKind, Level
from checker.probes.tls import judge_expiry
from tests.checker.factories import probe_once
from tests.checker.servers import (
    Reply,
    closed_port,
    local_server,
    make_certificate,
    silent_port,
)

NOW = dt.datetime.now(dt.UTC)


def tcp(port: int, **fields):
    return probe_once(kind=CheckKind.TCP, host="127.0.0.1", port=port, **fields)


def tls(port: int, **fields):
    return probe_once(kind=CheckKind.TLS, host="127.0.0.1", port=port, **fields)


def test_tcp_passes_when_the_port_accepts():
    with local_server() as server:
        outcome = tcp(server.port)
    assert outcome.level == Level.UP
    assert outcome.latency_ms is not None


def test_tcp_fails_on_a_closed_port():
    with closed_port() as port:
        outcome = tcp(port)
    assert outcome.level == Level.DOWN
    assert outcome.error == "connection refused"


@pytest.fixture
def valid_for_90_days(tmp_path):
    return make_certificate(
        tmp_path, not_before=NOW - dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=90)
    )


@pytest.fixture
def expired(tmp_path):
    return make_certificate(
        tmp_path,
        not_before=NOW - dt.timedelta(days=60),
        not_after=NOW - dt.timedelta(days=3, hours=1),
        name="expired",
    )


def test_tls_passes_with_days_to_spare(valid_for_90_days):
    with local_server(certificate=valid_for_90_days) as server:
        server.routes["/"] = Reply()
        outcome = tls(server.port, tls_verify=False, tls_days_left_threshold=14)
    assert outcome.level == Level.UP


def test_tls_is_degraded_within_the_days_left_threshold(valid_for_90_days):
    with local_server(certificate=valid_for_90_days) as server:
        outcome = tls(server.port, tls_verify=False, tls_days_left_threshold=100)
    assert outcome.level == Level.DEGRADED
    expires = (NOW + dt.timedelta(days=90)).date().isoformat()
    assert outcome.error == f"the TLS certificate expires on {expires}, in 89 days"


def test_tls_is_down_when_the_certificate_expired(expired):
    with local_server(certificate=expired) as server:
        outcome = tls(server.port, tls_verify=False)
    assert outcome.level == Level.DOWN
    assert outcome.error.startswith("the TLS certificate expired on ")
    assert outcome.error.endswith("(4 days ago)")


def test_tls_with_verification_rejects_an_expired_certificate(expired):
    with local_server(certificate=expired) as server:
        outcome = tls(server.port, tls_verify=True)
    assert outcome.level == Level.DOWN
    assert outcome.error.startswith("TLS certificate not valid: ")


def test_tls_with_verification_rejects_a_self_signed_certificate(valid_for_90_days):
    with local_server(certificate=valid_for_90_days) as server:
        outcome = tls(server.port, tls_verify=True)
    assert outcome.level == Level.DOWN
    assert outcome.error == "TLS certificate not valid: self-signed certificate"


def test_tls_fails_on_a_closed_port():
    with closed_port() as port:
        assert tls(port).error == "connection refused"


def test_tls_gives_up_on_a_server_that_never_answers_the_handshake():
    with silent_port() as port:
        outcome = tls(port, timeout_seconds=0.3)
    assert outcome.level == Level.DOWN
    assert outcome.error == "TLS handshake did not finish within 0.3 s"


def test_days_left_are_counted_from_the_current_time():
    not_after = dt.datetime(2026, 3, 31, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        assert judge_expiry(not_after, threshold_days=30).level == Level.UP
        assert judge_expiry(not_after, threshold_days=31).level == Level.DEGRADED
    with time_machine.travel(dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        outcome = judge_expiry(not_after, threshold_days=14)
    assert outcome.level == Level.DOWN
    assert outcome.error == "the TLS certificate expired on 2026-03-31 (1 day ago)"
