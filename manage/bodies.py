"""Request bodies: JSON, or form encoding with Rails-style brackets, read into the same shape.

`incident[name]=Down&incident[component_ids][]=a&incident[components][a]=major_outage` reads
as `{"incident": {"name": "Down", "component_ids": ["a"], "components": {"a": "major_outage"}}}`.
Form values stay strings; the fields that expect booleans or numbers accept their text.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
MAX_BODY_BYTES = 1_000_000


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
        return _json_body(body)
    if media_type in ("", "application/x-www-form-urlencoded"):
        # Tools that send JSON without saying so are common; a form never starts with "{".
        if body.lstrip().startswith(b"{"):
            return _json_body(body)
        return _form_body(body)
    raise MalformedBody(f"unsupported content type {media_type}")


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedBody("the body is not valid JSON") from error
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
