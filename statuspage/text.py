"""Text staff type: names are one line, messages may have lines and tabs, and neither holds a
control character.

A vertical tab or an ESC cannot be written in an Atom or RSS feed (XML 1.0 forbids them), a
CR or LF in a name breaks an email's Subject header, and none of them shows on a page: they
are refused where staff type them (forms, model validation, the services), and the feeds drop
any that got in before.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models

# C0, DEL and C1.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same without tab and line feed.
_CONTROL_IN_MESSAGE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab"}


def _refuse(match: re.Match[str], *, one_line: bool) -> None:
    character = match.group()
    what = _NAMES.get(character) or f"the control character U+{ord(character):04X}"
    rule = (
        "this is one line of text, without control characters"
        if one_line
        else "a message may hold line breaks and tabs, but no other control characters"
    )
    raise ValidationError(
        "Remove %(what)s at character %(position)s: %(rule)s.",
        code="control_character",
        params={"what": what, "position": match.start() + 1, "rule": rule},
    )


def validate_one_line(value: str) -> None:
    """For names: no control character at all, line breaks and tabs included."""
    match = _CONTROL.search(value)
    if match:
        _refuse(match, one_line=True)


def normalize_newlines(value: str) -> str:
    """Browsers send a textarea's line breaks as CR LF; we store LF."""
    return value.replace("\r\n", "\n")


def validate_message(value: str) -> None:
    """For messages (after normalize_newlines): line breaks and tabs, no other control character."""
    match = _CONTROL_IN_MESSAGE.search(value)
    if match:
        _refuse(match, one_line=False)


def clean_one_line(value: str) -> str:
    validate_one_line(value)
    return value


def clean_message(value: str) -> str:
    value = normalize_newlines(value)
    validate_message(value)
    return value


def strip_control_characters(value: str) -> str:
    """What a feed can carry of text stored before it was validated: lines and tabs kept."""
    return _CONTROL_IN_MESSAGE.sub("", normalize_newlines(value))


class StaffTextModel(models.Model):
    """Model validation of the text fields staff type, named in `one_line_fields` and
    `message_fields` (message fields get their CR LF turned into LF)."""

    one_line_fields: ClassVar[tuple[str, ...]] = ()
    message_fields: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        errors: dict[str, list[ValidationError]] = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        skipped = set(exclude or ()) | set(errors)
        checks = [(name, clean_one_line) for name in self.one_line_fields]
        checks += [(name, clean_message) for name in self.message_fields]
        for name, clean in checks:
            if name in skipped:
                continue
            try:
                setattr(self, name, clean(getattr(self, name)))
            except ValidationError as error:
                errors[name] = error.error_list
        if errors:
            raise ValidationError(errors)
