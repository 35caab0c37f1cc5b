"""The public version: one number naming the current state of everything visitors can see.

Every write that changes something public (the services, and any save or delete of a public
model) moves it once its transaction commits, and sends `public_version_moved`. The public site
(`website.publishing`) listens and publishes the new state; the domain only says "something
changed", never what to redo.

The number lives in the shared cache so that every process and host sees it, but nothing here
depends on that cache being up: when it is down, a change still sends the signal and readers
get a number from the clock.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.db import transaction
from django.dispatch import Signal

VERSION_KEY = "statuspage:public-version"

logger = logging.getLogger(__name__)

# Sent after a public change has committed (in the process that made it), with `version`.
public_version_moved = Signal()


def public_version() -> int:
    """The current public version (nanoseconds since the epoch of the last public change)."""
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            version = time.time_ns()
            if not cache.add(VERSION_KEY, version, timeout=None):
                version = cache.get(VERSION_KEY, version)
    except Exception:  # noqa: BLE001 - any cache backend failure: the page must still answer
        logger.warning("cache unavailable while reading the public version", exc_info=True)
        return time.time_ns()
    return int(version)


def bump_public_version() -> None:
    version = time.time_ns()
    try:
        cache.set(VERSION_KEY, version, timeout=None)
    except Exception:  # noqa: BLE001 - the publishers hear of the change through the signal
        logger.warning("cache unavailable while moving the public version", exc_info=True)
    public_version_moved.send(sender=None, version=version)


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
