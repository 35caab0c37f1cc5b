"""A real HTTP endpoint for webhooks: http.server on 127.0.0.1 in a thread. It checks each
request's signature the way a receiver would, and answers as the test tells it to (echoing sign-up
challenges when asked to)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


def signature_is_valid(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: HMAC-SHA256 of the raw body with the shared secret, compared in
    constant time with the header's value."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


class WebhookReceiver:
    def __init__(self) -> None:
        self.secret = ""
        self.received: list[Received] = []
        # Answers for the next requests, as (status, seconds to wait first); then 200 at once.
        self.answers: deque[tuple[int, float]] = deque()
        # Answer a sign-up challenge the way a real endpoint does, with the HMAC of the challenge
        # keyed with `secret`, as the body ("text") or as JSON ("json"); echo the challenge back
        # as it came ("echo", what a reflecting endpoint does); or say "ok" like to any other
        # message ("").
        self.echo_challenges = ""
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                valid = signature_is_valid(
                    receiver.secret, body, self.headers.get("X-Statuspage-Signature", "")
                )
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body, valid))
                    status, delay = receiver.answers.popleft() if receiver.answers else (200, 0.0)
                if delay:
                    time.sleep(delay)
                answer = receiver.answer_for(body) if status < 300 else b"not today"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def answer_for(self, body: bytes) -> bytes:
        try:
            challenge = json.loads(body).get("challenge")
        except (ValueError, AttributeError):
            challenge = None
        if not isinstance(challenge, str) or not self.echo_challenges:
            return b"ok"
        if self.echo_challenges == "echo":
            return body
        answer = hmac.new(self.secret.encode(), challenge.encode(), hashlib.sha256).hexdigest()
        if self.echo_challenges == "json":
            return json.dumps({"answer": answer}).encode()
        return f"{answer}\n".encode()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)
        return f"http://{host}:{port}/hooks/status"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
