"""The public version: one number naming the current state of everything visitors can see.

Every write that changes something public (the services, and any save or delete of a public
model) moves it once its transaction commits. The public site (`website.caching`) keys what it
serves on this number, so the domain only has to say "something changed", never what to redo.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "statuspage:public-version"


def public_version() -> int:
    """The current public version (nanoseconds since the epoch of the last public change)."""
    version = cache.get(VERSION_KEY)
    if version is None:
        version = time.time_ns()
        if not cache.add(VERSION_KEY, version, timeout=None):
            version = cache.get(VERSION_KEY, version)
    return int(version)


def bump_public_version() -> None:
    cache.set(VERSION_KEY, time.time_ns(), timeout=None)


def public_changed() -> None:
    """Call inside a write: the public version moves once the transaction commits.

    However many rows a transaction writes, it moves the version once.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        entry[1] is bump_public_version for entry in connection.run_on_commit
    ):
        return
    transaction.on_commit(bump_public_version, robust=True)
