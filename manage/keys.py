"""Making, finding and revoking API keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from manage.models import ApiKey

# Keys look like "sp_" + 40 URL-safe characters: 240 random bits.
KEY_PREFIX = "sp_"
_PREFIX_SHOWN = 8
# Last use is written at most this often per key, so a busy tool costs no write per request.
LAST_USE_RESOLUTION = dt.timedelta(seconds=60)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, owner: User, created_by: User | None = None) -> tuple[ApiKey, str]:
    """Make a key for `owner`; returns the row and the key itself, which is never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(30)
    row = ApiKey.objects.create(
        name=name.strip(),
        owner=owner,
        prefix=key[:_PREFIX_SHOWN],
        digest=key_digest(key),
        created_by=created_by,
    )
    return row, key


def api_key_revoke(*, api_key: ApiKey) -> bool:
    """Revoke a key for good; False if it already was."""
    now = timezone.now()
    revoked = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
    if revoked:
        api_key.revoked_at = now
    return bool(revoked)


def api_key_find(key: str) -> ApiKey | None:
    """The usable key (not revoked, owner active) that `key` is, with its owner; None if none."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    return ApiKey.objects.usable().select_related("owner").filter(digest=key_digest(key)).first()


def api_key_record_use(*, api_key: ApiKey, now: dt.datetime | None = None) -> None:
    """Note that the key was used now (to the minute; one conditional update at most)."""
    now = now or timezone.now()
    last = api_key.last_used_at
    if last is not None and now - last < LAST_USE_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
