"""Log lines for machines and people alike: one line per event, `key=value` (or JSON).

Every line has the time, the level, an `event` (what happened: `task.failed`, `checker.tick`,
`broker.quarantined`; records that name none get `<logger>.<level>`), the message, the fields a
caller passed with `extra={...}` and, for an error, its traceback folded into one `exc` field,
so a log shipper or `grep event=task.failed` sees each event whole.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

# The attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_BARE = re.compile(r"^[^\s\"=]+$")


def event_fields(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, Any]:
    message = record.getMessage()
    event = getattr(record, "event", None)
    if event is None:
        # A message that starts with event=... (the broker, the supervisor) names its own.
        head, _, rest = message.partition(" ")
        if head.startswith("event="):
            event, message = head.removeprefix("event="), rest
        else:
            event = f"{record.name}.{record.levelname.lower()}"
    fields: dict[str, Any] = {
        "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
            timespec="milliseconds"
        ),
        "level": record.levelname.lower(),
        "event": event,
        "logger": record.name,
    }
    if message:
        fields["msg"] = message
    fields |= {k: v for k, v in vars(record).items() if k not in _STANDARD and k != "event"}
    if record.exc_info:
        fields["exc"] = formatter.formatException(record.exc_info)
    return fields


def _value(value: Any) -> str:
    text = str(value)
    if _BARE.match(text):
        return text
    return json.dumps(text, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    """`ts=… level=error event=task.failed logger=… msg="…" task=… exc="Traceback…"`."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_value(v)}" for k, v in event_fields(record, self).items())


class JsonFormatter(logging.Formatter):
    """The same fields as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(event_fields(record, self), default=str, ensure_ascii=False)
