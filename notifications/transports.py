"""The wires a message leaves by: a batch's SMTP connection and its HTTP clients.

A transport either returns (the other side took the message) or raises TransportError, with the
other side's answer code when there was one. Whether trying again could help is the channel's
call (notifications/channels/), since it knows what the codes mean for its subscribers.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import smtplib
import time
from collections.abc import Callable
from types import TracebackType

import httpx
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

from notifications.endpoints import PublicOnlyTransport, private_addresses_allowed

# How much of a webhook receiver's answer is read (for error messages).
_MAX_ANSWER_BYTES = 4096


class TransportError(Exception):
    """The other side did not take the message. `code` is its answer (an HTTP status or an SMTP
    reply code), None when none came: no connection, a timeout, a dropped line."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _smtp_text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


class EmailTransport:
    """Sends a batch of messages over one connection of the configured EMAIL_BACKEND.

    The connection opens with the first message. A recipient the server refuses fails that
    message only; a broken connection fails the rest of the batch at once (the deliveries are
    retried later) instead of waiting for a dead server once per message.
    """

    def __init__(self) -> None:
        self._backend = get_connection(fail_silently=False)
        self._opened = False
        self._broken: TransportError | None = None

    def __enter__(self) -> EmailTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def speaks_smtp(self) -> bool:
        """True when messages go to an SMTP server, which takes ready-made bytes."""
        return isinstance(self._backend, SmtpBackend)

    def send(self, message: EmailMessage) -> None:
        self._guarded(lambda: self._backend.send_messages([message]))

    def send_bytes(self, *, sender: str, recipient: str, data: bytes) -> None:
        """Send a serialized message (SMTP only), as Django's SMTP backend would."""
        self._guarded(lambda: self._backend.connection.sendmail(sender, [recipient], data))

    def _guarded(self, action: Callable[[], object]) -> None:
        if self._broken is not None:
            raise self._broken
        try:
            if not self._opened:
                self._backend.open()
                self._opened = True
            action()
        except smtplib.SMTPRecipientsRefused as error:
            code, reason = next(iter(error.recipients.values()))
            raise TransportError(
                f"The mail server refused the recipient: {code} {_smtp_text(reason)}", code=code
            ) from None
        except smtplib.SMTPResponseException as error:
            answer = _smtp_text(error.smtp_error)
            raise TransportError(
                f"The mail server refused the message: {error.smtp_code} {answer}",
                code=error.smtp_code,
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            self._broken = TransportError(
                f"Could not talk to the mail server: {error or type(error).__name__}"
            )
            self.close()
            raise self._broken from None

    def close(self) -> None:
        if self._opened:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._backend.close()
            self._opened = False


def webhook_signature(secret: str, body: bytes) -> str:
    """The X-Statuspage-Signature header: HMAC-SHA256 of the raw body, hex, with its scheme."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookTransport:
    """POSTs JSON over one HTTP client (connections are reused per host) for a batch.

    A 2xx answer within the timeout counts as delivered; any other answer, a timeout or a
    connection error raises TransportError (with the status when there was an answer).
    Endpoints signed up on the public page go through a second client that connects to public
    addresses only (notifications.endpoints); staff-added ones may be on the internal network.
    """

    def __init__(self) -> None:
        self.timeout = float(settings.NOTIFY_WEBHOOK_TIMEOUT)
        self._client = self._new_client()
        self._public_client: httpx.Client | None = None

    def _new_client(self, transport: httpx.BaseTransport | None = None) -> httpx.Client:
        return httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
            headers={"User-Agent": f"{settings.STATUSPAGE_NAME} webhooks"},
            transport=transport,
        )

    def _client_for(self, *, public_only: bool) -> httpx.Client:
        if not public_only or private_addresses_allowed():
            return self._client
        if self._public_client is None:
            self._public_client = self._new_client(PublicOnlyTransport())
        return self._public_client

    def __enter__(self) -> WebhookTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def post(
        self, *, url: str, body: bytes, headers: dict[str, str], public_only: bool = False
    ) -> bytes:
        """POST `body`; returns the start of a 2xx answer's body (at most 4 KiB)."""
        client = self._client_for(public_only=public_only)
        deadline = time.monotonic() + self.timeout
        try:
            with client.stream(
                "POST", url, content=body, headers={"Content-Type": "application/json", **headers}
            ) as response:
                answer = b""
                for chunk in response.iter_bytes():
                    answer += chunk
                    if len(answer) >= _MAX_ANSWER_BYTES or time.monotonic() > deadline:
                        break
        except httpx.TimeoutException:
            raise TransportError(f"No answer within {self.timeout:g} s") from None
        except httpx.HTTPError as error:
            raise TransportError(
                f"Could not reach the endpoint: {error or type(error).__name__}"
            ) from None
        if time.monotonic() > deadline:
            raise TransportError(f"No complete answer within {self.timeout:g} s")
        status = response.status_code
        if 200 <= status < 300:
            return answer
        excerpt = answer[:200].decode(errors="replace").strip()
        message = f"HTTP {status} {response.reason_phrase}".strip()
        raise TransportError(f"{message}: {excerpt}" if excerpt else message, code=status)

    def close(self) -> None:
        self._client.close()
        if self._public_client is not None:
            self._public_client.close()
