"""Reading fields of a request body: JSON values or their form-encoded text, checked against
the values Statuspage allows. Every refusal is an `Invalid` (422) naming the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from manage.errors import Invalid

# Times a status page can mean: anything else is a typo, and would overflow date arithmetic.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
TIME_RANGE_TEXT = "from 1970 to 8999"
_TRUE = {"true", "1", "yes", "on", "t"}
_FALSE = {"false", "0", "no", "off", "f", ""}


def text(data: dict[str, Any], name: str, *, blank: bool = True) -> str | None:
    """A string field; None when absent. `null` reads as empty."""
    if name not in data:
        return None
    value = data[name]
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    if not blank and not value.strip():
        raise Invalid(f"{name} can't be blank")
    return value


def boolean(data: dict[str, Any], name: str) -> bool | None:
    if name not in data or data[name] is None:
        return None
    value = data[name]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise Invalid(f"{name} must be true or false")


def integer(data: dict[str, Any], name: str, *, minimum: int = 0) -> int | None:
    if name not in data or data[name] is None:
        return None
    value = data[name]
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise Invalid(f"{name} must be a whole number")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # 1e999 reads as an infinite float
        raise Invalid(f"{name} must be a whole number") from None
    if number < minimum or number > 2**31 - 1:
        raise Invalid(f"{name} is out of range")
    return number


def choice(data: dict[str, Any], name: str, allowed: Iterable[str]) -> str | None:
    if name not in data or data[name] is None:
        return None
    allowed = list(allowed)
    value = data[name]
    if not isinstance(value, str) or value not in allowed:
        raise Invalid(f"{name} is not included in the list ({', '.join(allowed)})")
    return value


def timestamp(data: dict[str, Any], name: str) -> dt.datetime | None:
    """An ISO 8601 time (a time without offset is in the page's zone; a date is its midnight)."""
    if name not in data or data[name] in (None, ""):
        return None
    value = data[name]
    if not isinstance(value, str):
        raise Invalid(f"{name} must be an ISO 8601 time")
    try:
        parsed = parse_datetime(value.strip())
        if parsed is None:
            day = parse_date(value.strip())
            if day is None:
                raise ValueError(value)
            parsed = dt.datetime.combine(day, dt.time.min)
    except ValueError:
        raise Invalid(f"{name} must be an ISO 8601 time") from None
    try:
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        in_utc = parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):  # year 1 or 9999 moved across an offset
        raise Invalid(f"{name} is out of range ({TIME_RANGE_TEXT})") from None
    if not EARLIEST <= in_utc < LATEST:
        raise Invalid(f"{name} is out of range ({TIME_RANGE_TEXT})")
    return parsed


def id_list(data: dict[str, Any], name: str) -> list[str] | None:
    """A list of ids; a form's `name[]` and a comma-separated string both read as a list."""
    if name not in data or data[name] is None:
        return None
    value = data[name]
    if isinstance(value, str):
        value = [part for part in (p.strip() for p in value.split(",")) if part]
    if isinstance(value, dict):  # a form's name[0]=a&name[1]=b
        value = list(value.values())
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid(f"{name} must be a list of ids")
    return value


def json_object(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    if name not in data or data[name] is None:
        return None
    value = data[name]
    if not isinstance(value, dict):
        raise Invalid(f"{name} must be an object")
    return value


def query_int(value: str | None, name: str, *, default: int, maximum: int) -> int:
    """A paging parameter from the query string."""
    if value in (None, ""):
        return default
    try:
        number = int(value)  # type: ignore[arg-type]  # None is handled above
    except ValueError:
        raise Invalid(f"{name} must be a whole number") from None
    if number < 1:
        raise Invalid(f"{name} must be at least 1")
    return min(number, maximum)
