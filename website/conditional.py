"""Entity tags and conditional requests, for every public answer: the API, the feeds and badges,
the cache middleware and the published site all name a body and compare If-None-Match here."""

from __future__ import annotations

import hashlib

from django.utils.http import parse_etags, quote_etag


def etag_for(body: bytes) -> str:
    """A strong entity tag naming these exact bytes."""
    return quote_etag(hashlib.blake2b(body, digest_size=16).hexdigest())


def encoded_etag(etag: str, encoding: str) -> str:
    """The tag of another representation (gzip, br) of the body that `etag` names."""
    return f'{etag[:-1]}-{encoding}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match uses the weak comparison: a proxy that compresses may have added W/."""
    if not if_none_match:
        return False
    wanted = parse_etags(if_none_match)
    return "*" in wanted or any(tag.removeprefix("W/") == etag for tag in wanted)
