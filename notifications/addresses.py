"""The one spelling we keep of an email address, and the addresses we refuse to mail.

A mailbox has many spellings: a quoted local part (`"ada"@example.org`), backslash escapes
inside the quotes, a domain in capitals, in Unicode or in punycode. If each spelling counted as
a new address, the per-address rate limit and the one-row-per-address rule would count nothing,
so every address is turned into its canonical spelling once, when it comes in, and that is what
is limited, looked up, stored and compared.

The canonical spelling: the local part as a plain dot-atom (quotes taken off when what they
enclose needs none; anything that really needs quotes is refused, since mail servers disagree on
how to read it), the domain in lower-case ASCII (IDNA 2008 with the UTS 46 mapping, the way
browsers and mail clients read a typed domain) without a trailing dot. The case of the local
part is kept: it belongs to the mailbox's owner, and the unique constraint ignores it.

Addresses that cannot receive mail from the public internet are refused: address literals
(`a@[127.0.0.1]`), names without a dot (`a@localhost`, `a@intranet`), special-use names and
numeric top-level labels (`a@127.0.0.1`).
"""

from __future__ import annotations

import re

import idna

from notifications.endpoints import is_local_name

# RFC 5322 atext: what a local part may hold without quotes.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"{_ATOM}(?:\.{_ATOM})*\Z")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")

MAX_LENGTH = 254
_MAX_LOCAL_LENGTH = 64


class EmailRefused(ValueError):
    """An address we will not store; the message is meant for the person who typed it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


INVALID_ADDRESS = "Enter a valid email address, like name@example.com."


def _unquoted(local: str) -> str:
    """The local part without its quotes and escapes, when it is quoted as a whole."""
    if not (len(local) >= 2 and local.startswith('"') and local.endswith('"')):
        return local
    chars: list[str] = []
    escaped = False
    for char in local[1:-1]:
        if escaped:
            chars.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            raise EmailRefused(INVALID_ADDRESS)
        else:
            chars.append(char)
    if escaped:
        raise EmailRefused(INVALID_ADDRESS)
    return "".join(chars)


def _canonical_domain(domain: str) -> str:
    if domain.startswith("["):
        raise EmailRefused(
            "Addresses at a bare IP address cannot receive our emails: use a domain name."
        )
    name = domain[:-1] if domain.endswith(".") else domain
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        raise EmailRefused(INVALID_ADDRESS) from None
    labels = ascii_name.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise EmailRefused(INVALID_ADDRESS)
    if len(labels) < 2 or labels[-1].isdigit() or is_local_name(ascii_name):
        raise EmailRefused(
            f"{ascii_name} is not a domain on the public internet, so it cannot receive our emails."
        )
    return ascii_name


def canonical_email(email: str) -> str:
    """The canonical spelling of `email`, or EmailRefused saying why we will not mail it."""
    text = email.strip()
    if not text or any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in text):
        raise EmailRefused(INVALID_ADDRESS)
    raw_local, at, raw_domain = text.rpartition("@")
    if not at or not raw_local or not raw_domain:
        raise EmailRefused(INVALID_ADDRESS)
    local = _unquoted(raw_local)
    if not _DOT_ATOM.match(local):
        raise EmailRefused(
            "We cannot send to addresses with quotes or special characters before the @. "
            "Please use a plain address, like name@example.com."
        )
    if len(local) > _MAX_LOCAL_LENGTH:
        raise EmailRefused("The part before the @ is too long: 64 characters at most.")
    address = f"{local}@{_canonical_domain(raw_domain)}"
    if len(address) > MAX_LENGTH:
        raise EmailRefused("This email address is too long.")
    return address


def email_domain(address: str) -> str:
    """The domain of a canonical address."""
    return address.rpartition("@")[2]
