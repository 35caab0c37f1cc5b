"""The HTTP(S) probe against real servers on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from checker.models import CheckKind, Level
from tests.checker.factories import probe_once
from tests.checker.servers import Reply, Seen, closed_port, local_server, make_certificate


@pytest.fixture
def server():
    with local_server() as running:
        yield running


def http(url: str, **fields):
    return probe_once(kind=CheckKind.HTTP, url=url, **fields)


class HeldRoute:
    """A route that keeps each request until the test releases it, so the test can see
    whether the probe gave up while the server was still holding the request."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.arrived = threading.Event()
        self.released = threading.Event()
        self.answered = threading.Event()

    def __call__(self, seen: Seen) -> Reply:
        self.arrived.set()
        # Bounded only so that a probe ignoring its timeout fails the test instead of hanging it.
        self.released.wait(60)
        self.answered.set()
        return self.reply


def test_it_passes_on_200(server):
    server.routes["/health"] = Reply(body="ok")
    outcome = http(server.url("/health"))
    assert outcome.level == Level.UP
    assert outcome.error == ""
    assert outcome.latency_ms is not None and outcome.latency_ms >= 0


def test_it_fails_on_500_and_says_which_code(server):
    server.routes["/health"] = Reply(status=500, body="boom")
    outcome = http(server.url("/health"))
    assert outcome.level == Level.DOWN
    assert outcome.error == "HTTP 500 Internal Server Error (expected 200-299)"
    assert outcome.public == "HTTP 500"


def test_it_accepts_the_codes_it_is_told_to_expect(server):
    server.routes["/teapot"] = Reply(status=418)
    assert http(server.url("/teapot"), expected_status_codes="200,418").level == Level.UP
    assert http(server.url("/teapot"), expected_status_codes="200-299").level == Level.DOWN


def test_it_calls_a_slow_answer_degraded(server):
    server.routes["/slow"] = Reply(delay=0.3)
    outcome = http(server.url("/slow"), degraded_latency_ms=100)
    assert outcome.level == Level.DEGRADED
    assert outcome.latency_ms >= 300
    assert "slower than 100 ms" in outcome.error


def test_a_slow_answer_within_the_threshold_is_up(server):
    server.routes["/slow"] = Reply(delay=0.1)
    assert http(server.url("/slow"), degraded_latency_ms=2000).level == Level.UP


def test_it_gives_up_on_a_hanging_server_at_the_timeout(server):
    held = HeldRoute(Reply(hang=True))
    server.routes["/hang"] = held
    try:
        outcome = http(server.url("/hang"), timeout_seconds=0.5)
        gave_up_while_held = held.arrived.is_set() and not held.answered.is_set()
    finally:
        held.released.set()
    assert outcome.level == Level.DOWN
    assert outcome.error == "no response within 0.5 s"
    assert gave_up_while_held


def test_it_gives_up_on_an_answer_slower_than_the_timeout(server):
    held = HeldRoute(Reply(body="late but fine"))
    server.routes["/slow"] = held
    try:
        outcome = http(server.url("/slow"), timeout_seconds=0.4)
        gave_up_while_held = held.arrived.is_set() and not held.answered.is_set()
    finally:
        held.released.set()
    assert outcome.level == Level.DOWN
    assert outcome.error == "no response within 0.4 s"
    assert gave_up_while_held
    # Answered at once, the same route passes: the wait alone made the probe fail.
    assert http(server.url("/slow"), timeout_seconds=0.4).level == Level.UP


def test_it_waits_for_an_answer_that_comes_before_the_timeout(server):
    server.routes["/slow"] = Reply(delay=0.3)
    outcome = http(server.url("/slow"), timeout_seconds=30)
    assert outcome.level == Level.UP
    assert outcome.latency_ms >= 300


def test_garbage_bytes_are_not_a_valid_answer(server):
    server.routes["/garbage"] = Reply(garbage=True)
    outcome = http(server.url("/garbage"))
    assert outcome.level == Level.DOWN
    assert "not valid HTTP" in outcome.error


def test_it_stops_in_a_redirect_loop(server):
    server.routes["/loop"] = Reply(status=302, headers={"Location": "/loop"})
    outcome = http(server.url("/loop"))
    assert outcome.level == Level.DOWN
    assert "too many redirects" in outcome.error
    assert server.hits("/loop") > 5


def test_it_follows_redirects_or_not_as_told(server):
    server.routes["/old"] = Reply(status=301, headers={"Location": "/new"})
    server.routes["/new"] = Reply(body="moved here")
    assert http(server.url("/old"), follow_redirects=True).level == Level.UP
    not_followed = http(server.url("/old"), follow_redirects=False)
    assert not_followed.level == Level.DOWN
    assert not_followed.error.startswith("HTTP 301")
    assert server.hits("/new") == 1
    assert (
        http(server.url("/old"), follow_redirects=False, expected_status_codes="300-399").level
        == Level.UP
    )


def test_it_looks_for_text_in_the_body(server):
    server.routes["/health"] = Reply(body="database: ok; cache: ok")
    assert http(server.url("/health"), body_contains="database: ok").level == Level.UP
    outcome = http(server.url("/health"), body_contains="queue: ok")
    assert outcome.level == Level.DOWN
    assert outcome.error == "the response does not contain “queue: ok”"
    assert outcome.public == "the response lacks the expected text"


def test_it_checks_conditions_on_json_fields(server):
    server.routes["/status"] = Reply.json(
        {"status": {"indicator": "none"}, "queues": [{"depth": 12}], "ok": True}
    )
    url = server.url("/status")
    passing = [
        {"path": "status.indicator", "op": "==", "value": "none"},
        {"path": "queues.0.depth", "op": "<", "value": 100},
        {"path": "ok", "value": True},
        {"path": "status", "op": "exists"},
    ]
    assert http(url, json_conditions=passing).level == Level.UP
    outcome = http(url, json_conditions=[{"path": "queues.0.depth", "op": "<", "value": 10}])
    assert outcome.level == Level.DOWN
    assert outcome.error == "the JSON field queues.0.depth is 12, expected < 10"
    assert outcome.public == "a field of the JSON response is not as expected"
    missing = http(url, json_conditions=[{"path": "status.page", "op": "exists"}])
    assert missing.error == "the JSON field status.page is missing"


def test_a_body_that_is_not_json_fails_json_conditions(server):
    server.routes["/status"] = Reply(body="<html>oops</html>")
    outcome = http(server.url("/status"), json_conditions=[{"path": "a", "op": "exists"}])
    assert outcome.level == Level.DOWN
    assert outcome.error == outcome.public == "the response is not JSON"


def test_it_sends_the_method_headers_and_body_it_is_given(server):
    server.routes["/hook"] = Reply(status=201)
    outcome = http(
        server.url("/hook"),
        method="POST",
        request_headers={"Authorization": "Bearer s3cret"},
        request_body=json.dumps({"ping": 1}),
        expected_status_codes="201",
    )
    assert outcome.level == Level.UP
    (seen,) = server.seen
    assert seen.method == "POST"
    assert seen.headers["Authorization"] == "Bearer s3cret"
    assert json.loads(seen.body) == {"ping": 1}


def test_it_says_who_it_is(server):
    server.routes["/"] = Reply()
    http(server.url("/"))
    assert server.seen[0].headers["User-Agent"].startswith("statuspage-checker/")


def test_a_closed_port_refuses_the_connection():
    with closed_port() as port:
        outcome = http(f"http://127.0.0.1:{port}/")
    assert outcome.level == Level.DOWN
    assert outcome.error == "connection refused"


def test_a_429_is_inconclusive_and_asks_to_back_off(server):
    server.routes["/busy"] = Reply(status=429, headers={"Retry-After": "120"})
    outcome = http(server.url("/busy"))
    assert outcome.inconclusive
    assert outcome.rate_limited
    assert outcome.retry_after == 120


def test_a_503_with_retry_after_fails_and_carries_the_delay(server):
    server.routes["/maint"] = Reply(status=503, headers={"Retry-After": "30"})
    outcome = http(server.url("/maint"))
    assert outcome.level == Level.DOWN
    assert not outcome.rate_limited
    assert outcome.retry_after == 30


@pytest.fixture
def self_signed(tmp_path):
    now = dt.datetime.now(dt.UTC)
    return make_certificate(
        tmp_path, not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=90)
    )


def test_https_with_a_self_signed_certificate_fails_verification(self_signed):
    with local_server(certificate=self_signed) as server:
        server.routes["/"] = Reply()
        outcome = http(server.url("/"))
    assert outcome.level == Level.DOWN
    assert outcome.error == "TLS certificate not valid: self-signed certificate"
    assert outcome.public == "TLS certificate not valid"


def test_https_passes_when_verification_is_turned_off(self_signed):
    with local_server(certificate=self_signed) as server:
        server.routes["/"] = Reply()
        outcome = http(server.url("/"), tls_verify=False)
    assert outcome.level == Level.UP
