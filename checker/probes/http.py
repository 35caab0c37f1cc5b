"""The HTTP(S) probe: one request, then the status code, the body, JSON fields and the latency.

The public wording of a failure names the status code but never the reason phrase, the text
looked for or a JSON value: those go to the detail staff see (see checker.probes.base).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from checker.probes.base import (
    MAX_BODY_BYTES,
    Outcome,
    ProbeContext,
    ProbeSpec,
    describe_error,
    milliseconds,
    parse_retry_after,
)

_MISSING = object()


async def probe(spec: ProbeSpec, context: ProbeContext) -> Outcome:
    client = context.http_client(verify=spec.tls_verify)
    loop = asyncio.get_running_loop()
    started = loop.time()
    needs_body = bool(spec.body_contains or spec.json_conditions)
    try:
        async with asyncio.timeout(spec.timeout):
            async with client.stream(
                spec.method,
                spec.url,
                headers=dict(spec.headers),
                content=spec.body.encode() if spec.body else None,
                follow_redirects=spec.follow_redirects,
                timeout=spec.timeout,
            ) as response:
                body = await _read_body(response) if spec.method != "HEAD" else b""
    except Exception as exc:  # every failure of the request is the target's failure
        return Outcome.failed(describe_error(exc, timeout=spec.timeout))
    latency = milliseconds(loop.time() - started)
    return evaluate(spec, response, body if needs_body else b"", latency)


async def _read_body(response: httpx.Response) -> bytes:
    """Read the body up to MAX_BODY_BYTES (read to the end, it lets the connection be reused)."""
    chunks = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_BYTES:
            break
    return b"".join(chunks)[:MAX_BODY_BYTES]


def evaluate(spec: ProbeSpec, response: httpx.Response, body: bytes, latency: int) -> Outcome:
    code = response.status_code
    if code == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return Outcome.unknown(
            "rate limited (HTTP 429): backing off", rate_limited=True, retry_after=retry_after
        )
    if not any(low <= code <= high for low, high in spec.expected_status_codes):
        phrase = f" {response.reason_phrase}" if response.reason_phrase else ""
        retry_after = None
        if code == 503:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return Outcome.down(
            f"HTTP {code}",
            latency,
            detail=f"HTTP {code}{phrase} (expected {spec.expected_status_text})",
            retry_after=retry_after,
        )
    if spec.body_contains:
        text = body.decode(response.encoding or "utf-8", errors="replace")
        if spec.body_contains not in text:
            return Outcome.down(
                "the response lacks the expected text",
                latency,
                detail=f"the response does not contain “{spec.body_contains}”",
            )
    if spec.json_conditions:
        try:
            document = json.loads(body)
        except ValueError:
            return Outcome.down("the response is not JSON", latency)
        for condition in spec.json_conditions:
            failure = json_condition_failure(document, condition)
            if failure:
                return Outcome.down(
                    "a field of the JSON response is not as expected", latency, detail=failure
                )
    if spec.degraded_latency_ms is not None and latency > spec.degraded_latency_ms:
        return Outcome.degraded(
            f"responded in {latency:,} ms (slower than {spec.degraded_latency_ms:,} ms)", latency
        )
    return Outcome.up(latency)


def resolve_path(document: Any, path: str) -> Any:
    """The value at a dotted path ("components.0.status"), or _MISSING."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            if -len(current) <= index < len(current):
                current = current[index]
            else:
                return _MISSING
        else:
            return _MISSING
    return current


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op == "==":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if op == "contains":
        if isinstance(actual, str) and isinstance(expected, str):
            return expected in actual
        if isinstance(actual, list):
            return expected in actual
        return False
    numbers = (int, float)
    comparable = (
        isinstance(actual, numbers)
        and isinstance(expected, numbers)
        and not isinstance(actual, bool)
        or isinstance(actual, str)
        and isinstance(expected, str)
    )
    if not comparable:
        return False
    return {
        "<": actual < expected,
        "<=": actual <= expected,
        ">": actual > expected,
        ">=": actual >= expected,
    }[op]


def json_condition_failure(document: Any, condition: dict[str, Any]) -> str:
    """Why the document fails the condition, or "" when it holds."""
    path = condition["path"]
    op = condition.get("op", "==")
    actual = resolve_path(document, path)
    if op == "exists":
        return "" if actual is not _MISSING else f"the JSON field {path} is missing"
    if op == "not exists":
        return "" if actual is _MISSING else f"the JSON field {path} is present"
    expected = condition.get("value")
    if actual is _MISSING:
        return f"the JSON field {path} is missing"
    if _compare(actual, op, expected):
        return ""
    shown = json.dumps(actual, ensure_ascii=False)
    if len(shown) > 80:
        shown = shown[:77] + "…"
    return (
        f"the JSON field {path} is {shown}, expected {op} "
        f"{json.dumps(expected, ensure_ascii=False)}"
    )
