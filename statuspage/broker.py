"""The embedded broker: Celery's queues kept as files under VAR_DIR/broker, for an installation
without Redis or RabbitMQ (production uses one of those).

kombu's own file transport creates a message file and then writes into it, reads a file
without taking its lock, deletes a message as soon as it reads it and lists the whole folder
for every message it takes. A reader that races a writer reads half a message, a full disk
leaves an empty one, either kills the worker (a JSONDecodeError nobody catches) and keeps
killing it after a restart, and a worker killed mid-task loses what it had taken. This
transport keeps kombu's channel and its routing and changes how messages are stored:

- a message is written whole under tmp/ and then renamed into queues/<queue>/, so a reader
  never sees part of one; a write that fails (disk full) removes its part and raises to the
  publisher instead of leaving an empty message;
- a consumer takes a message by renaming it into processing/<host>.<pid>/ and deletes it only
  when the task is acknowledged; a message left there by a process that is gone (killed,
  crashed) is put back in its queue by the next consumer that looks;
- a message that cannot be decoded is moved to quarantine/ and logged, never delivered and
  never fatal;
- each queue has its folder, listed once per batch of messages rather than once per message,
  so a backlog in one queue costs the others nothing;
- the exchange tables under control/ are rewritten whole (a new file renamed over the old one)
  under a lock of their own.

Messages from kombu's layout (one folder, queue/, with every queue's files) are moved into
their queue's folder by the first consumer.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from kombu.exceptions import ChannelError
from kombu.transport import virtual
from kombu.transport.filesystem import Channel as FileChannel
from kombu.transport.filesystem import exchange_queue_t

logger = logging.getLogger("statuspage.broker")

#: Transport option naming the broker's folder.
FOLDER_OPTION = "folder"
#: How often (seconds) a consumer looks for messages left by processes that are gone.
RECOVER_EVERY_SECONDS = 30.0
#: The shortest pause of an idle consumer before it looks again (see Transport.drain_events).
MIN_PAUSE_SECONDS = 0.01
_SUFFIX = ".msg"


def _queue_folder_name(queue: str) -> str:
    # Every character that could leave the folder or name a special one is quoted ("." too).
    return quote(queue, safe="@-_")


def _consumer_name() -> str:
    return f"{socket.gethostname()}.{os.getpid()}"


def _process_is_gone(folder_name: str) -> bool:
    host, _, pid = folder_name.rpartition(".")
    if host != socket.gethostname() or not pid.isdigit():
        # Another machine's consumer (a shared folder): only that machine can tell.
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _message_queue(filename: str) -> str:
    """The queue a message file belongs to: its name is <time>_<uuid>.<quoted queue>.msg."""
    return unquote(filename.removesuffix(_SUFFIX).partition(".")[2])


def _write_whole(path: Path, data: bytes, tmp_folder: Path) -> None:
    """Write `data` to `path` so that readers see either nothing or all of it."""
    tmp_folder.mkdir(parents=True, exist_ok=True)
    partial = tmp_folder / f"{uuid.uuid4().hex}.part"
    try:
        with open(partial, "wb") as file:
            file.write(data)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise


class Channel(FileChannel):
    """kombu's file channel with whole writes, acknowledged takes and quarantine."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listed: dict[str, collections.deque[str]] = {}
        self._taken: dict[str, Path] = {}
        self._recovered_at = float("-inf")
        self._made: set[str] = set()

    # Folders -------------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        options = self.transport_options
        return Path(options.get(FOLDER_OPTION) or "broker")

    def _folder(self, name: str) -> Path:
        folder = self.root / name
        if name not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(name)
        return folder

    def _queue_folder(self, queue: str) -> Path:
        return self._folder("queues") / _queue_folder_name(queue)

    @property
    def control_folder(self) -> Path:
        return self._folder("control")

    # Messages ------------------------------------------------------------------------------

    def _put(  # type: ignore[override]  # kombu's file channel takes options its base does not
        self, queue: str, payload: Any, **kwargs: Any
    ) -> None:
        folder = self._queue_folder(queue)
        folder.mkdir(exist_ok=True)
        name = f"{time.time_ns():020d}_{uuid.uuid4().hex}.{_queue_folder_name(queue)}{_SUFFIX}"
        try:
            _write_whole(folder / name, json.dumps(payload).encode(), self._folder("tmp"))
        except OSError as error:
            raise ChannelError(f"cannot add a message to the queue {queue!r}: {error}") from error

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        now = time.monotonic()
        if now - self._recovered_at >= RECOVER_EVERY_SECONDS:
            self._recovered_at = now
            self.recover()
        folder = self._queue_folder(queue)
        listed = self._listed.get(queue)
        if not listed:
            try:
                names = sorted(n for n in os.listdir(folder) if n.endswith(_SUFFIX))
            except FileNotFoundError:
                names = []
            listed = self._listed[queue] = collections.deque(names)
        mine = self._folder("processing") / _consumer_name()
        mine.mkdir(exist_ok=True)
        while listed:
            name = listed.popleft()
            taken = mine / name
            try:
                os.rename(folder / name, taken)
            except FileNotFoundError:
                continue  # another consumer took it first
            try:
                payload = json.loads(taken.read_bytes())
                tag = payload["properties"]["delivery_tag"]
            except (ValueError, KeyError, TypeError) as error:
                self._quarantine(taken, queue, error)
                continue
            self._taken[tag] = taken
            return payload
        raise virtual.Empty()

    def _quarantine(self, path: Path, queue: str, error: Exception) -> None:
        destination = self._folder("quarantine") / path.name
        os.replace(path, destination)
        logger.error(
            "event=broker.quarantined queue=%s file=%s size=%d error=%s",
            queue,
            destination,
            destination.stat().st_size,
            type(error).__name__,
        )

    def _forget(self, delivery_tag: str) -> None:
        taken = self._taken.pop(delivery_tag, None)
        if taken is not None:
            with contextlib.suppress(FileNotFoundError):
                taken.unlink()

    def basic_ack(self, delivery_tag: str, multiple: bool = False) -> None:
        super().basic_ack(delivery_tag, multiple=multiple)
        self._forget(delivery_tag)

    def basic_reject(self, delivery_tag: str, requeue: bool = False) -> None:
        # A requeue writes the message again (kombu's _restore) before the taken copy goes.
        super().basic_reject(delivery_tag, requeue=requeue)
        self._forget(delivery_tag)

    def _restore(self, message: Any) -> None:
        super()._restore(message)
        self._forget(message.delivery_tag)

    def recover(self) -> int:
        """Put back in their queues the messages taken by processes that are gone, and those
        left in kombu's single folder. Returns how many were put back."""
        count = 0
        for path in self._orphans():
            queue = _message_queue(path.name)
            destination = self._queue_folder(queue)
            destination.mkdir(exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                os.rename(path, destination / path.name)
                count += 1
        if count:
            self._listed.clear()
            logger.warning("event=broker.recovered messages=%d", count)
        return count

    def _orphans(self) -> Iterator[Path]:
        processing = self._folder("processing")
        for consumer in os.listdir(processing):
            if consumer == _consumer_name() or not _process_is_gone(consumer):
                continue
            folder = processing / consumer
            yield from (folder / name for name in os.listdir(folder))
            with contextlib.suppress(OSError):
                folder.rmdir()
        legacy = self.root / "queue"
        if legacy.is_dir():
            yield from (legacy / name for name in os.listdir(legacy) if name.endswith(_SUFFIX))

    def _size(self, queue: str) -> int:
        try:
            return sum(1 for n in os.listdir(self._queue_folder(queue)) if n.endswith(_SUFFIX))
        except FileNotFoundError:
            return 0

    def _purge(self, queue: str) -> int:
        count = 0
        folder = self._queue_folder(queue)
        self._listed.pop(queue, None)
        for name in os.listdir(folder) if folder.is_dir() else []:
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
                count += 1
        return count

    # Exchange tables -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _table_lock(self, exchange: str) -> Iterator[Path]:
        file = self._table_file(exchange)
        with open(file.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield file
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _table_file(self, exchange: str) -> Path:
        # Quoted like a queue's folder, so no exchange name can point outside control/.
        return self.control_folder / f"{_queue_folder_name(exchange)}.exchange"

    def get_table(  # type: ignore[override]  # the stubs of kombu disagree with themselves
        self, exchange: str
    ) -> list[exchange_queue_t]:
        file = self._table_file(exchange)
        try:
            table = json.loads(file.read_bytes())
        except FileNotFoundError:
            return []
        except ValueError as error:
            # Only kombu's own transport could have left it so: the consumers bind their queues
            # again when they start.
            self._quarantine(file, f"exchange:{exchange}", error)
            return []
        except OSError as error:
            raise ChannelError(f"cannot read the exchange table {file}") from error
        return [exchange_queue_t(*row) for row in table]

    def _rewrite_table(self, exchange: str, change: Any) -> None:
        with self._table_lock(exchange) as file:
            rows = self.get_table(exchange)
            changed = change(rows)
            if changed is not None:
                data = json.dumps([list(row) for row in changed]).encode()
                _write_whole(file, data, self._folder("tmp"))

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str | None, queue: str) -> None:
        row = exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._rewrite_table(exchange, lambda rows: None if row in rows else [row, *rows])

    def _delete(
        self, queue: str, exchange: str, routing_key: str, pattern: str, *args: Any, **kwargs: Any
    ) -> None:
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        row = exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._rewrite_table(
            exchange, lambda rows: [r for r in rows if r != row] if row in rows else None
        )


_STATES: dict[str, virtual.BrokerState] = {}


class Transport(virtual.Transport):
    """The embedded file broker (see the module's docstring)."""

    Channel = Channel
    implements = virtual.Transport.implements.extend(
        asynchronous=False, exchange_type=frozenset(["direct", "topic", "fanout"])
    )
    default_port = 0
    driver_type = "filesystem"
    driver_name = "statuspage-files"

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        # What this process has declared, per broker folder: a queue bound in one folder is not
        # bound in another (kombu keeps one state for every file broker of the process).
        folder = str(Path(client.transport_options.get(FOLDER_OPTION) or "broker").resolve())
        self.state = _STATES.setdefault(folder, virtual.BrokerState())

    def drain_events(  # type: ignore[override]  # kombu's virtual transport takes timeout so too
        self, connection: Any, timeout: float | None = None
    ) -> None:
        """kombu's loop sleeps the whole polling interval whenever nothing can be taken, which
        includes the moment a worker is busy with its one prefetched task: one task per
        interval. This one looks again after 10 ms, doubling the pause up to the interval while
        nothing comes."""
        started = time.monotonic()
        pause = MIN_PAUSE_SECONDS
        cycle = self.cycle
        assert cycle is not None, "made by kombu's Transport.__init__"
        while True:
            try:
                cycle.get(self._deliver, timeout=timeout)
            except virtual.Empty:
                waited = time.monotonic() - started
                if timeout is not None and waited >= timeout:
                    raise TimeoutError() from None
                limit = timeout - waited if timeout is not None else pause
                time.sleep(max(0.0, min(pause, limit)))
                pause = min(pause * 2, self.polling_interval or MIN_PAUSE_SECONDS)
            else:
                return

    def driver_version(self) -> str:
        return "1"
