"""The send journal: which deliveries of a claim the other side has already accepted.

A worker appends a delivery to its claim's journal the moment the mail server or webhook
endpoint accepts it, and writes the outcomes of the whole batch to the database once, at the
end. A worker killed half-way leaves the journal behind; when the sweeper takes its claim back
it reads the journal first, records those deliveries as sent and retries only the rest. So the
database sees a handful of queries per batch instead of one per message, and a crash still
sends nothing twice.

Two stores, chosen by `NOTIFY_JOURNAL_URL`:

- `redis://host:port/db`: one list per claim, expiring after a day. Any worker and any sweeper
  reading the same Redis see each other's journals, wherever they run.
- `file:///path`: one append-only file per claim in that folder. An append is one `write()` to
  the kernel, so it survives the process being killed (not the machine losing power); the
  sweeper must run on a machine that sees the folder.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import time
from abc import ABC, abstractmethod
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# A claim token is a uuid4 in hex; nothing else may become a file name or a key.
_TOKEN = re.compile(r"[0-9a-f]{32}")
# How long a journal of a claim nobody came back for is kept.
RETENTION_SECONDS = 24 * 3600


class JournalError(Exception):
    """The journal could not be written or read."""


def _checked(token: str) -> str:
    if not _TOKEN.fullmatch(token):
        raise ValueError(f"Not a claim token: {token!r}")
    return token


def _entry(delivery_id: int, sent_at: dt.datetime) -> str:
    return f"{delivery_id} {sent_at.timestamp():.6f}"


def _parse(lines: list[str]) -> dict[int, dt.datetime]:
    sent: dict[int, dt.datetime] = {}
    for line in lines:
        delivery_id, _, stamp = line.partition(" ")
        try:
            sent[int(delivery_id)] = dt.datetime.fromtimestamp(float(stamp), tz=dt.UTC)
        except ValueError:
            continue  # a line cut short by a crash names no delivery
    return sent


class JournalWriter(ABC):
    """Appends for one claim; `close()` when the batch is over."""

    @abstractmethod
    def append(self, delivery_id: int, sent_at: dt.datetime) -> None: ...

    def close(self) -> None:  # noqa: B027 - most writers hold nothing
        pass


class Journal(ABC):
    @abstractmethod
    def writer(self, token: str) -> JournalWriter: ...

    @abstractmethod
    def read(self, token: str) -> dict[int, dt.datetime]:
        """The deliveries recorded for a claim, with the moment each was accepted."""

    @abstractmethod
    def discard(self, token: str) -> None: ...

    def prune(self, *, now: float | None = None) -> int:
        """Remove journals older than the retention; stores that expire them return 0."""
        return 0


class FileJournal(Journal):
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, token: str) -> Path:
        return self.folder / f"{_checked(token)}.sent"

    def writer(self, token: str) -> JournalWriter:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path(token), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as error:
            raise JournalError(f"Cannot open the send journal in {self.folder}: {error}") from error
        return _FileWriter(fd)

    def read(self, token: str) -> dict[int, dt.datetime]:
        try:
            text = self._path(token).read_text()
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise JournalError(f"Cannot read the send journal: {error}") from error
        complete = text[: text.rfind("\n") + 1]
        return _parse(complete.splitlines())

    def discard(self, token: str) -> None:
        self._path(token).unlink(missing_ok=True)

    def prune(self, *, now: float | None = None) -> int:
        cutoff = (now if now is not None else time.time()) - RETENTION_SECONDS
        removed = 0
        for path in self.folder.glob("*.sent"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


class _FileWriter(JournalWriter):
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def append(self, delivery_id: int, sent_at: dt.datetime) -> None:
        try:
            os.write(self.fd, f"{_entry(delivery_id, sent_at)}\n".encode())
        except OSError as error:
            raise JournalError(f"Cannot write the send journal: {error}") from error

    def close(self) -> None:
        os.close(self.fd)


class RedisJournal(Journal):
    PREFIX = "statuspage:notify:sent:"

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)

    def _key(self, token: str) -> str:
        return self.PREFIX + _checked(token)

    def writer(self, token: str) -> JournalWriter:
        return _RedisWriter(self, self._key(token))

    def read(self, token: str) -> dict[int, dt.datetime]:
        import redis

        try:
            raw = self.redis.lrange(self._key(token), 0, -1)
        except redis.RedisError as error:
            raise JournalError(f"Cannot read the send journal: {error}") from error
        return _parse([item if isinstance(item, str) else item.decode() for item in raw])

    def discard(self, token: str) -> None:
        import redis

        try:
            self.redis.delete(self._key(token))
        except redis.RedisError as error:
            raise JournalError(f"Cannot discard the send journal: {error}") from error


class _RedisWriter(JournalWriter):
    def __init__(self, journal: RedisJournal, key: str) -> None:
        self.journal = journal
        self.key = key
        self.expiring = False

    def append(self, delivery_id: int, sent_at: dt.datetime) -> None:
        import redis

        entry = _entry(delivery_id, sent_at)
        try:
            if self.expiring:
                self.journal.redis.rpush(self.key, entry)
            else:  # the first entry creates the list: give it its expiry in the same trip
                pipe = self.journal.redis.pipeline(transaction=True)
                pipe.rpush(self.key, entry)
                pipe.expire(self.key, RETENTION_SECONDS)
                pipe.execute()
                self.expiring = True
        except redis.RedisError as error:
            raise JournalError(f"Cannot write the send journal: {error}") from error


@functools.lru_cache(maxsize=8)
def journal_at(url: str) -> Journal:
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss"):
        return RedisJournal(url)
    if scheme == "file":
        return FileJournal(Path(url.removeprefix("file://")))
    raise ImproperlyConfigured(
        f"NOTIFY_JOURNAL_URL scheme {scheme!r} is not supported (use redis:// or file://)"
    )


def journal() -> Journal:
    """The journal `NOTIFY_JOURNAL_URL` names (one per process and URL)."""
    return journal_at(settings.NOTIFY_JOURNAL_URL)
