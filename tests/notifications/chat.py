"""A chat service's incoming webhook on 127.0.0.1: http.server in a thread that checks each
message against the shape its service documents (a JSON Schema per service, with the limits
that make the real service refuse a message) and answers as that service does: a refusal (400)
for a message it would not post, and its own success answer otherwise."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jsonschema import Draft202012Validator

_TEXT = {"type": "string", "minLength": 1}
_URL = {"type": "string", "pattern": "^https?://"}
_HEX = {"type": "string", "pattern": "^#[0-9a-f]{6}$"}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
        "additionalProperties": False,
    }


_SLACK_TEXT = _object(
    {"type": {"enum": ["mrkdwn", "plain_text"]}, "text": {**_TEXT, "maxLength": 3000}}
)
_SLACK_BLOCK = {
    "oneOf": [
        _object({"type": {"const": "section"}, "text": _SLACK_TEXT}),
        _object(
            {
                "type": {"const": "section"},
                "fields": {"type": "array", "minItems": 1, "maxItems": 10, "items": _SLACK_TEXT},
            }
        ),
        _object(
            {
                "type": {"const": "actions"},
                "elements": {
                    "type": "array",
                    "maxItems": 25,
                    "items": _object(
                        {
                            "type": {"const": "button"},
                            "text": _object(
                                {
                                    "type": {"const": "plain_text"},
                                    "text": {**_TEXT, "maxLength": 75},
                                }
                            ),
                            "url": _URL,
                        }
                    ),
                },
            }
        ),
        _object(
            {
                "type": {"const": "context"},
                "elements": {"type": "array", "maxItems": 10, "items": _SLACK_TEXT},
            }
        ),
    ]
}
SLACK = _object(
    {
        "text": _TEXT,
        "attachments": {
            "type": "array",
            "minItems": 1,
            "items": _object(
                {
                    "color": _HEX,
                    "blocks": {"type": "array", "maxItems": 50, "items": _SLACK_BLOCK},
                }
            ),
        },
    }
)

MATTERMOST = _object(
    {
        "text": _TEXT,
        "attachments": {
            "type": "array",
            "items": _object(
                {
                    "fallback": _TEXT,
                    "color": _HEX,
                    "title": _TEXT,
                    "title_link": _URL,
                    "text": {"type": "string"},
                    "fields": {
                        "type": "array",
                        "items": _object(
                            {"short": {"type": "boolean"}, "title": _TEXT, "value": _TEXT}
                        ),
                    },
                    "footer": _TEXT,
                }
            ),
        },
    }
)

DISCORD = _object(
    {
        "content": {**_TEXT, "maxLength": 2000},
        "embeds": {
            "type": "array",
            "minItems": 1,
            "maxItems": 10,
            "items": _object(
                {
                    "title": {**_TEXT, "maxLength": 256},
                    "url": _URL,
                    "description": {**_TEXT, "maxLength": 4096},
                    "color": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFF},
                    "fields": {
                        "type": "array",
                        "maxItems": 25,
                        "items": _object(
                            {
                                "name": {**_TEXT, "maxLength": 256},
                                "value": {**_TEXT, "maxLength": 1024},
                                "inline": {"type": "boolean"},
                            }
                        ),
                    },
                    "footer": _object({"text": {**_TEXT, "maxLength": 2048}}),
                    "timestamp": {"type": "string", "format": "date-time"},
                }
            ),
        },
        "allowed_mentions": _object({"parse": {"type": "array", "maxItems": 0}}),
    }
)

_CARD_ELEMENT = {
    "oneOf": [
        _object(
            {"type": {"const": "TextBlock"}, "text": _TEXT},
            {
                "weight": {"enum": ["Default", "Lighter", "Bolder"]},
                "size": {"enum": ["Default", "Small", "Medium", "Large", "ExtraLarge"]},
                "color": {
                    "enum": ["Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention"]
                },
                "isSubtle": {"type": "boolean"},
                "wrap": {"type": "boolean"},
                "spacing": {"enum": ["None", "Small", "Default", "Medium", "Large"]},
            },
        ),
        _object(
            {
                "type": {"const": "FactSet"},
                "facts": {
                    "type": "array",
                    "minItems": 1,
                    "items": _object({"title": _TEXT, "value": _TEXT}),
                },
            }
        ),
    ]
}
TEAMS = _object(
    {
        "type": {"const": "message"},
        "attachments": {
            "type": "array",
            "minItems": 1,
            "items": _object(
                {
                    "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
                    "contentUrl": {"type": "null"},
                    "content": _object(
                        {
                            "$schema": {
                                "const": "http://adaptivecards.io/schemas/adaptive-card.json"
                            },
                            "type": {"const": "AdaptiveCard"},
                            "version": {"const": "1.4"},
                            "body": {"type": "array", "minItems": 1, "items": _CARD_ELEMENT},
                            "actions": {
                                "type": "array",
                                "items": _object(
                                    {
                                        "type": {"const": "Action.OpenUrl"},
                                        "title": _TEXT,
                                        "url": _URL,
                                    }
                                ),
                            },
                        }
                    ),
                }
            ),
        },
    }
)

_CHAT_WIDGET = {
    "oneOf": [
        _object({"textParagraph": _object({"text": _TEXT})}),
        _object({"decoratedText": _object({"topLabel": _TEXT, "text": _TEXT})}),
        _object(
            {
                "buttonList": _object(
                    {
                        "buttons": {
                            "type": "array",
                            "minItems": 1,
                            "items": _object(
                                {
                                    "text": _TEXT,
                                    "onClick": _object({"openLink": _object({"url": _URL})}),
                                }
                            ),
                        }
                    }
                )
            }
        ),
    ]
}
GOOGLE_CHAT = _object(
    {
        "text": _TEXT,
        "cardsV2": {
            "type": "array",
            "minItems": 1,
            "items": _object(
                {
                    "cardId": _TEXT,
                    "card": _object(
                        {
                            "header": _object({"title": _TEXT, "subtitle": _TEXT}),
                            "sections": {
                                "type": "array",
                                "minItems": 1,
                                "items": _object(
                                    {"widgets": {"type": "array", "items": _CHAT_WIDGET}},
                                    {"header": _TEXT},
                                ),
                            },
                        }
                    ),
                }
            ),
        },
    }
)

# Each service's schema, and what it answers to a message it takes.
SERVICES: dict[str, tuple[dict[str, Any], int, bytes]] = {
    "slack": (SLACK, 200, b"ok"),
    "mattermost": (MATTERMOST, 200, b"ok"),
    "discord": (DISCORD, 204, b""),
    "teams": (TEAMS, 202, b"1"),
    "google_chat": (GOOGLE_CHAT, 200, b'{"name": "spaces/AAA/messages/BBB"}'),
}


def shape_problems(service: str, payload: object) -> list[str]:
    """Why `service` would refuse this message (empty when it would post it)."""
    schema = SERVICES[service][0]
    problems = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in Draft202012Validator(schema).iter_errors(payload)
    ]
    if service == "discord" and not problems:
        # Discord also caps the characters of all of a message's embeds together.
        embed = payload["embeds"][0]  # type: ignore[index]  # checked by the schema
        total = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
        total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
        if total > 6000:
            problems.append(f"embeds: {total} characters, more than 6000")
    return problems


@dataclass(frozen=True)
class ChatPost:
    path: str
    headers: dict[str, str]
    payload: Any
    problems: list[str]


class ChatReceiver:
    def __init__(self, service: str) -> None:
        self.service = service
        self.received: list[ChatPost] = []
        # Answers for the next requests (statuses); then the service's success answer.
        self.answers: deque[int] = deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    payload = json.loads(body)
                    problems = shape_problems(receiver.service, payload)
                except ValueError as error:
                    payload, problems = None, [f"not JSON: {error}"]
                with receiver._lock:
                    receiver.received.append(
                        ChatPost(self.path, dict(self.headers), payload, problems)
                    )
                    forced = receiver.answers.popleft() if receiver.answers else None
                _, ok_status, ok_body = SERVICES[receiver.service]
                if forced is not None:
                    status, answer = forced, b"no_service"
                elif problems:
                    status, answer = 400, "; ".join(problems).encode()
                else:
                    status, answer = ok_status, ok_body
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)
        return f"http://{host}:{port}/hooks/{self.service}/T000/B000/XXXX"

    def start(self) -> ChatReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
