"""Request bodies: JSON, or form encoding with Rails-style brackets, read into the same shape.

`incident[name]=Down&incident[component_ids][]=a&incident[components][a]=major_outage` reads
as `{"incident": {"name": "Down", "component_ids": ["a"], "components": {"a": "major_outage"}}}`.
Form values stay strings; the fields that expect booleans or numbers accept their text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
MAX_BODY_BYTES = 1_000_000
# No field of the API nests deeper than a few levels (metadata included); a deeper body is a
# mistake or an attack, and storing it could exhaust the stack when it is written out again.
MAX_DEPTH = 32


class MalformedBody(Exception):
    """The body cannot be read at all."""


def parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    """The body as a dict (empty for an empty body)."""
    if len(body) > MAX_BODY_BYTES:
        raise MalformedBody("the body is too large")
    if not body.strip():
        return {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        parsed = _json_body(body)
    elif media_type in ("", "application/x-www-form-urlencoded"):
        # Tools that send JSON without saying so are common; a form never starts with "{".
        parsed = _json_body(body) if body.lstrip().startswith(b"{") else _form_body(body)
    else:
        raise MalformedBody(f"unsupported content type {media_type}")
    _check_depth(parsed)
    return parsed


def _walk(value: Any) -> Iterator[tuple[Any, int]]:
    """Every value of a parsed body (dict keys included) with its depth, without recursion."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        yield node, depth
        if isinstance(node, dict):
            pending.extend((key, depth + 1) for key in node)
            pending.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            pending.extend((child, depth + 1) for child in node)


def _check_depth(value: Any) -> None:
    """Refuse a body nested deeper than MAX_DEPTH."""
    if any(depth > MAX_DEPTH for _, depth in _walk(value)):
        raise MalformedBody(f"the body is nested too deeply (at most {MAX_DEPTH} levels)")


def holds_nul(value: Any) -> bool:
    """Whether any text of a parsed body holds U+0000, which no field may (PostgreSQL cannot
    store it in text, nor in JSON)."""
    return any(isinstance(node, str) and "\x00" in node for node, _ in _walk(value))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedBody("the body is not valid JSON") from error
    except RecursionError as error:  # arrays or objects nested thousands deep
        raise MalformedBody("the body is nested too deeply") from error
    if not isinstance(parsed, dict):
        raise MalformedBody("the body must be a JSON object")
    return parsed


def _form_body(body: bytes) -> dict[str, Any]:
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedBody("the body is not valid form encoding") from error
    result: dict[str, Any] = {}
    for name, value in pairs:
        _place(result, name, value)
    return result


def _place(target: dict[str, Any], name: str, value: str) -> None:
    head, _, rest = name.partition("[")
    if not head:
        raise MalformedBody(f"bad field name {name!r}")
    keys = [head]
    if rest:
        rest = "[" + rest
        segments = _SEGMENT.findall(rest)
        if "".join(f"[{s}]" for s in segments) != rest:
            raise MalformedBody(f"bad field name {name!r}")
        keys += segments
    node: Any = target
    for index, key in enumerate(keys):
        last = index == len(keys) - 1
        following = None if last else keys[index + 1]
        if key == "":
            if not isinstance(node, list):
                raise MalformedBody(f"bad field name {name!r}")
            if last:
                node.append(value)
                return
            child: Any = [] if following == "" else {}
            node.append(child)
            node = child
            continue
        if not isinstance(node, dict):
            raise MalformedBody(f"bad field name {name!r}")
        if last:
            node[key] = value
            return
        empty: Any = [] if following == "" else {}
        node = node.setdefault(key, empty)
        if type(node) is not type(empty):
            raise MalformedBody(f"field {name!r} mixes a list and an object")
