"""The TLS probe: complete a handshake and read how many days the certificate has left.

An untrusted or expired certificate is down; one expiring within the check's threshold is
degraded, so staff hear of it before visitors do.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math

from cryptography import x509

from checker.probes.base import Outcome, ProbeContext, ProbeSpec, describe_error, milliseconds


async def probe(spec: ProbeSpec, context: ProbeContext) -> Outcome:
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        async with asyncio.timeout(spec.timeout):
            _, writer = await asyncio.open_connection(
                spec.host,
                spec.port,
                ssl=context.ssl_context(verify=spec.tls_verify),
                server_hostname=spec.host,
            )
    except TimeoutError:
        return Outcome.down(f"TLS handshake did not finish within {spec.timeout:g} s")
    except Exception as exc:  # refused, untrusted, expired (when verifying)
        return Outcome.failed(describe_error(exc, timeout=spec.timeout))
    latency = milliseconds(loop.time() - started)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(1):
                await writer.wait_closed()
    if not der:
        return Outcome.down("the server sent no certificate", latency)
    return judge_expiry(
        x509.load_der_x509_certificate(der).not_valid_after_utc,
        threshold_days=spec.tls_days_left_threshold,
        latency_ms=latency,
    )


def judge_expiry(
    not_after: dt.datetime, *, threshold_days: int, latency_ms: int | None = None
) -> Outcome:
    left = (not_after - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    day = f"{not_after:%Y-%m-%d}"
    if left < 0:
        ago = math.ceil(-left)
        return Outcome.down(
            f"the TLS certificate expired on {day} ({ago} day{'s' if ago != 1 else ''} ago)",
            latency_ms,
        )
    if left < threshold_days:
        days = math.floor(left)
        return Outcome.degraded(
            f"the TLS certificate expires on {day}, in {days} day{'s' if days != 1 else ''}",
            latency_ms,
        )
    return Outcome.up(latency_ms)
