"""Helpers for the Manage API tests: keys for users with chosen permissions, and a client that
talks to the live server over real HTTP as a tool would."""

from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings
from django.contrib.auth.models import Permission, User

from manage.keys import api_key_create


def user_with(*permissions: str, username: str = "automation") -> User:
    user = User.objects.create_user(username=username, is_staff=True)
    for dotted in permissions:
        app_label, codename = dotted.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def key_for(user: User, name: str = "Tool") -> str:
    return api_key_create(name=name, owner=user)[1]


class ManageClient:
    """A plain HTTP client for /api/v1/pages/{page_id}/..., authenticated like Statuspage's."""

    def __init__(self, base_url: str, key: str | None) -> None:
        headers = {"Authorization": f"OAuth {key}"} if key is not None else {}
        self.http = httpx.Client(base_url=f"{base_url}/api/v1", headers=headers, timeout=30)
        self.page = f"/pages/{settings.STATUSPAGE_ID}"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(
            method, self.page + path if path.startswith("/") else path, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)
