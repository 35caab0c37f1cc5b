"""How every Manage API request is answered: the key, the rate limit, the page, the permission,
the body, one transaction for a write, and errors in Statuspage's shapes (never a 500 for bad
input).

A route names a handler and the Django permission it needs for each method
(`endpoint(GET=(handler, "statuspage.view_component"), ...)`). A handler takes a `Call` and
returns the status and the object to answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from manage.bodies import MalformedBody, holds_nul, parse_body
from manage.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    Invalid,
    MethodNotAllowed,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from manage.keys import api_key_find, api_key_record_use
from manage.models import ApiKey
from notifications import ratelimit

logger = logging.getLogger(__name__)

Json = Any
Handler = Callable[["Call"], tuple[int, Json]]
RATE_LIMIT_SCOPE = "manage-api"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Call:
    """One authenticated request, as a handler sees it."""

    request: HttpRequest
    api_key: ApiKey
    body: dict[str, Any]
    kwargs: dict[str, str] = field(default_factory=dict)

    @property
    def user(self) -> AbstractBaseUser:
        return self.api_key.owner

    def section(self, name: str, *, required: bool = False) -> dict[str, Any]:
        """The body's `{"name": {...}}` object (empty when absent, unless `required`)."""
        value = self.body.get(name)
        if value is None:
            if required:
                raise Invalid(f"{name} is missing")
            return {}
        if not isinstance(value, dict):
            raise Invalid(f"{name} must be an object")
        return value

    def record(self, obj: models.Model, message: str, *, flag: int = CHANGE) -> None:
        """Write the admin history entry of a change made with this key, as its owner."""
        LogEntry.objects.log_actions(
            user_id=self.user.pk,
            queryset=[obj],
            action_flag=flag,
            change_message=f"Through the API (key “{self.api_key.name}”): {message}",
            single_object=True,
        )

    def added(self, obj: models.Model, message: str) -> None:
        self.record(obj, message, flag=ADDITION)

    def deleted(self, obj: models.Model, message: str) -> None:
        self.record(obj, message, flag=DELETION)


def json_answer(
    status: int, payload: Json, *, headers: dict[str, str] | None = None
) -> HttpResponse:
    response = HttpResponse(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json; charset=utf-8",
    )
    # Answers depend on the key: nothing in between may keep or share them.
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _error_answer(error: ApiError) -> HttpResponse:
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'OAuth realm="api"'
    return json_answer(error.status, error.payload(), headers=headers)


def presented_key(request: HttpRequest) -> str | None:
    """The key the client sent: `Authorization: OAuth <key>`, or `?api_key=<key>`."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "oauth" and credentials.strip():
            return credentials.strip()
        return ""
    return request.GET.get("api_key")


def authenticate(request: HttpRequest) -> ApiKey:
    key = presented_key(request)
    if key is None:
        raise Unauthorized("Missing API key: send Authorization: OAuth <key>")
    api_key = api_key_find(key)
    if api_key is None:
        raise Unauthorized("Invalid or revoked API key")
    return api_key


def throttle(api_key: ApiKey) -> None:
    verdict = ratelimit.hit(
        RATE_LIMIT_SCOPE,
        str(api_key.pk),
        limit=settings.MANAGE_API_RATE_LIMIT,
        window=settings.MANAGE_API_RATE_WINDOW,
    )
    if not verdict.allowed:
        raise TooManyRequests(
            f"Rate limit exceeded: {settings.MANAGE_API_RATE_LIMIT} requests per "
            f"{settings.MANAGE_API_RATE_WINDOW} seconds per key",
            retry_after=verdict.retry_after,
        )


def _check_permission(user: AbstractBaseUser, permission: str | tuple[str, ...] | None) -> None:
    if permission is None:
        return
    needed = (permission,) if isinstance(permission, str) else permission
    if not user.has_perms(needed):  # type: ignore[attr-defined]  # the project's users are auth's
        raise Forbidden("The key's owner is not allowed to do this")


def _validation_messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [
            f"{name} {message}" if name != "__all__" else message
            for name, messages in error.message_dict.items()
            for message in messages
        ]
    return list(error.messages)


Route = tuple[Handler, str | tuple[str, ...] | None]


def endpoint(**routes: Route) -> Callable[..., HttpResponse]:
    """A view answering each method in `routes` with its handler, after the common checks."""

    allowed = sorted(routes) + (["HEAD"] if "GET" in routes else [])

    @csrf_exempt  # key-authenticated only: no session, no cookie is ever read
    def view(request: HttpRequest, **kwargs: str) -> HttpResponse:
        try:
            api_key = authenticate(request)
            throttle(api_key)
            api_key_record_use(api_key=api_key)
            method = "GET" if request.method == "HEAD" else (request.method or "GET")
            if method not in routes:
                raise MethodNotAllowed(f"{request.method} is not allowed here")
            page_id = kwargs.pop("page_id", None)
            if page_id is not None and page_id != settings.STATUSPAGE_ID:
                raise NotFound()
            handler, permission = routes[method]
            _check_permission(api_key.owner, permission)
            try:
                body = parse_body(request.body, request.content_type or "")
            except MalformedBody as error:
                raise BadRequest(str(error)) from error
            texts = [*kwargs.values(), *(v for vs in request.GET.lists() for v in vs[1])]
            if holds_nul(body) or holds_nul(texts):
                raise Invalid("no field or parameter may hold the NUL character (U+0000)")
            call = Call(request=request, api_key=api_key, body=body, kwargs=kwargs)
            if method in WRITE_METHODS:
                with transaction.atomic():
                    status, payload = handler(call)
            else:
                status, payload = handler(call)
        except ApiError as error:
            response = _error_answer(error)
        except ValidationError as error:
            response = _error_answer(Invalid(*_validation_messages(error)))
        except ObjectDoesNotExist:
            response = _error_answer(NotFound())
        except (models.ProtectedError, models.RestrictedError):
            response = _error_answer(
                Invalid("it is still referenced by incidents or other rows; it cannot be deleted")
            )
        except IntegrityError as error:
            logger.info("Manage API write refused by the database: %s", error)
            response = _error_answer(Invalid("the change conflicts with existing data"))
        else:
            response = json_answer(status, payload)
        if isinstance(response, HttpResponse) and response.status_code == 405:
            response["Allow"] = ", ".join(allowed)
        if request.method == "HEAD":
            response.content = b""
        return response

    view.manage_routes = routes  # type: ignore[attr-defined]  # read by the OpenAPI document's test
    return view


@csrf_exempt
def not_found(request: HttpRequest) -> HttpResponse:
    return _error_answer(NotFound())
