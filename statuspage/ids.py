"""Stable opaque public ids: 12 lowercase letters and digits, like Statuspage's."""

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits
PUBLIC_ID_LENGTH = 12


def new_public_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))
