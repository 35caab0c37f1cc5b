"""The errors the Manage API answers, in Statuspage's shapes."""

from __future__ import annotations


class ApiError(Exception):
    """An answer other than success: `messages` become `{"error": [...]}`, or `{"error": "..."}`
    for the statuses whose error Statuspage gives as one string (401, 403, 404)."""

    status = 400

    def __init__(self, *messages: str, retry_after: int | None = None) -> None:
        super().__init__(*messages)
        self.messages = list(messages)
        self.retry_after = retry_after

    def payload(self) -> dict[str, object]:
        if self.status in (401, 403, 404):
            return {"error": self.messages[0] if self.messages else "Not found"}
        return {"error": self.messages}


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404

    def __init__(self, *messages: str) -> None:
        super().__init__(*(messages or ("Not found",)))


class MethodNotAllowed(ApiError):
    status = 405


class Invalid(ApiError):
    status = 422


class TooManyRequests(ApiError):
    status = 429
