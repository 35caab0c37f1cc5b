"""The probes, one module per check kind, each with `async def probe(spec, context) -> Outcome`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from checker.models import CheckKind
from checker.probes import http, tcp, tls, upstream
from checker.probes.base import Outcome, ProbeContext, ProbeSpec

Probe = Callable[[ProbeSpec, ProbeContext], Awaitable[Outcome]]

PROBES: dict[str, Probe] = {
    CheckKind.HTTP: http.probe,
    CheckKind.TCP: tcp.probe,
    CheckKind.TLS: tls.probe,
    CheckKind.UPSTREAM: upstream.probe,
}

__all__ = ["PROBES", "Outcome", "Probe", "ProbeContext", "ProbeSpec"]
