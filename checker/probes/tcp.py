"""The TCP probe: does a connection open within the timeout? (To add a check type, copy this.)"""

from __future__ import annotations

import asyncio
import contextlib

from checker.probes.base import Outcome, ProbeContext, ProbeSpec, describe_error, milliseconds


async def probe(spec: ProbeSpec, context: ProbeContext) -> Outcome:
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        async with asyncio.timeout(spec.timeout):
            _, writer = await asyncio.open_connection(spec.host, spec.port)
    except TimeoutError:
        return Outcome.down(f"connection timed out after {spec.timeout:g} s")
    except Exception as exc:  # refused, unreachable, unknown host: the target's failure
        return Outcome.failed(describe_error(exc, timeout=spec.timeout))
    latency = milliseconds(loop.time() - started)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return Outcome.up(latency)
