"""The batch runner: probes start at their own time, within a global and a per-host cap,
and a host that answers 429 is left alone."""

from __future__ import annotations

import datetime as dt

import pytest

from checker.models import Check, CheckKind, Level
from checker.probes import ProbeSpec
from checker.runner import Job, run_batch
from tests.checker.servers import Gauge, Reply, local_server


def spec(url: str, pk: int, **fields) -> ProbeSpec:
    fields.setdefault("timeout_seconds", 5.0)
    check = Check(kind=CheckKind.HTTP, url=url, **fields)
    check.pk = pk
    return ProbeSpec.from_check(check)


@pytest.fixture
def server():
    with local_server() as running:
        running.routes["/slow"] = Reply(delay=0.15)
        running.routes["/fast"] = Reply()
        yield running


def test_no_more_than_the_per_host_cap_hit_one_host_at_once(server):
    jobs = [Job(spec(server.url("/slow"), pk), 0.0) for pk in range(12)]
    outcomes = run_batch(jobs, max_concurrency=50, max_per_host=3)
    assert all(o.level == Level.UP for o in outcomes)
    assert server.gauge.most == 3


def test_no_more_than_the_global_cap_run_at_once():
    gauge = Gauge()
    with local_server(gauge=gauge) as one, local_server(gauge=gauge) as two:
        for running in (one, two):
            running.routes["/slow"] = Reply(delay=0.15)
        # Two hosts: 127.0.0.1 and localhost name the same machine but count as two hosts.
        jobs = [Job(spec(one.url("/slow"), pk), 0.0) for pk in range(6)]
        jobs += [Job(spec(f"http://localhost:{two.port}/slow", 100 + pk), 0.0) for pk in range(6)]
        outcomes = run_batch(jobs, max_concurrency=4, max_per_host=4)
    assert [o.level for o in outcomes] == [Level.UP] * 12
    assert gauge.most == 4


def test_outcomes_come_back_in_the_jobs_order_with_their_check(server):
    jobs = [Job(spec(server.url("/slow" if pk % 2 else "/fast"), pk), 0.0) for pk in range(6)]
    outcomes = run_batch(jobs, max_concurrency=10, max_per_host=10)
    assert [o.check_id for o in outcomes] == list(range(6))
    assert all(o.at is not None for o in outcomes)


def test_each_probe_starts_at_its_own_moment(server):
    jobs = [Job(spec(server.url("/fast"), 1), 0.0), Job(spec(server.url("/fast"), 2), 0.3)]
    run_batch(jobs, max_concurrency=10, max_per_host=10)
    first, second = server.seen
    assert second.at - first.at >= 0.28


def test_a_429_pauses_the_host_for_the_rest_of_the_batch(server):
    server.routes["/busy"] = Reply(status=429, headers={"Retry-After": "300"})
    jobs = [Job(spec(server.url("/busy"), 1), 0.0)]
    jobs += [Job(spec(server.url("/fast"), pk), 0.2) for pk in range(2, 6)]
    outcomes = run_batch(jobs, max_concurrency=10, max_per_host=10)
    assert outcomes[0].rate_limited and outcomes[0].retry_after == 300
    assert all(o.inconclusive and o.error.startswith("not probed") for o in outcomes[1:])
    assert len(server.seen) == 1


def test_hosts_paused_before_the_batch_are_not_contacted(server):
    until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    outcomes = run_batch(
        [Job(spec(server.url("/fast"), 1), 0.0)],
        max_concurrency=10,
        max_per_host=10,
        paused_hosts={"127.0.0.1": until},
    )
    assert outcomes[0].inconclusive
    assert server.seen == []


def test_an_internal_fault_is_never_taken_for_an_outage(server):
    broken = ProbeSpec(check_id=7, kind="carrier-pigeon", host="127.0.0.1", timeout=1.0)
    (outcome,) = run_batch([Job(broken, 0.0)], max_concurrency=1, max_per_host=1)
    assert outcome.inconclusive
    assert "checker failed" in outcome.error
