"""A real SMTP server in the test process: aiosmtpd on 127.0.0.1 and a free port, keeping every
message it accepts, and able to refuse recipients or run a hook when a recipient is given or a
message is kept (before the sender hears it was accepted)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

# aiosmtpd logs every SMTP command at INFO; the tests read what arrived instead.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Received:
    mail_from: str
    recipient: str
    message: EmailMessage


class _Controller(Controller):
    """Listens on port 0 and learns the port the system picked."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpSink:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.sessions = 0
        # Recipient address -> SMTP answer to its RCPT TO (e.g. "550 5.1.1 No such user").
        self.refuse: dict[str, str] = {}
        # Called with each recipient before it is accepted; may return an SMTP answer.
        self.on_recipient: Callable[[str], str | None] | None = None
        # Called with each message once it is kept, before the sender hears it was accepted.
        self.on_message: Callable[[Received], None] | None = None
        self._changed = threading.Condition()
        self._controller = _Controller(self, hostname="127.0.0.1", port=0)

    # aiosmtpd handler hooks

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: ANN001
        session.host_name = hostname
        with self._changed:
            self.sessions += 1
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001
        if self.on_recipient is not None:
            answer = self.on_recipient(address)
            if answer:
                return answer
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        message = message_from_bytes(envelope.content, policy=policy.default)
        kept = [Received(envelope.mail_from, recipient, message) for recipient in envelope.rcpt_tos]
        with self._changed:
            self.received.extend(kept)
            self._changed.notify_all()
        if self.on_message is not None:
            for received in kept:
                self.on_message(received)
        return "250 Message accepted for delivery"

    # Test side

    @property
    def port(self) -> int:
        return self._controller.port

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def messages_to(self, address: str) -> list[EmailMessage]:
        with self._changed:
            return [r.message for r in self.received if r.recipient == address]

    def counts(self) -> Counter[str]:
        with self._changed:
            return Counter(r.recipient for r in self.received)

    def wait_for(
        self, condition: Callable[[], bool], *, timeout: float = 20, what: str = ""
    ) -> None:
        """Wait until `condition()` holds (checked whenever a message arrives, and every 0.2 s)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"Timed out after {timeout} s waiting for {what or 'mail'}; "
                        f"received {len(self.received)} messages"
                    )
                self._changed.wait(min(remaining, 0.2))

    def wait_for_count(self, count: int, *, timeout: float = 20) -> None:
        self.wait_for(
            lambda: len(self.received) >= count, timeout=timeout, what=f"{count} messages"
        )
