"""What a visitor may subscribe: an email address or a webhook URL, checked before anything is
stored. Each error names the field and what was wrong with it, as the 400 answer says it."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

Channel = Literal["email", "webhook"]
FIELDS: tuple[Channel, ...] = ("email", "webhook")
MAX_EMAIL = 254  # RFC 5321's path limit, less the angle brackets
MAX_URL = 2048
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_LOCAL_HOSTS = ("localhost", "localhost.localdomain")


class SignUpError(Exception):
    """A sign-up the page refuses as given (HTTP 400); the message names the field."""


@dataclass(frozen=True)
class SignUpRequest:
    kind: Channel
    address: str  # the email address in lower case, or the webhook URL as given


def parse_signup(data: Any, *, allow_private: bool) -> SignUpRequest:
    """`{"email": "..."}` or `{"webhook": "https://..."}`: exactly one of them."""
    if not isinstance(data, dict):
        raise SignUpError('body: expected a JSON object such as {"email": "you@example.com"}')
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise SignUpError(f'{unknown[0]}: unknown field; give "email" or "webhook"')
    given = [f for f in FIELDS if f in data]
    if len(given) != 1:
        what = "not both" if given else "one of them"
        raise SignUpError(f'give either "email" (an address) or "webhook" (an http(s) URL), {what}')
    field = given[0]
    value = data[field]
    if not isinstance(value, str):
        raise SignUpError(f"{field}: expected a string, got {type(value).__name__}")
    if field == "email":
        return SignUpRequest("email", email_address(value))
    return SignUpRequest("webhook", webhook_url(value, allow_private=allow_private))


def _shown(value: str) -> str:
    return repr(value if len(value) <= 120 else value[:117] + "...")


def email_address(value: str) -> str:
    """The address, lower-cased (mail providers ignore case; one subscriber per mailbox)."""
    text = value.strip()
    local, at, domain = text.rpartition("@")
    problem = None
    if not at or len(text) > MAX_EMAIL:
        problem = "is not an email address"
    elif not _LOCAL_PART.fullmatch(local) or ".." in local or local[0] == "." or local[-1] == ".":
        problem = "is not an email address (the part before @)"
    elif not _domain(domain):
        problem = "is not an email address (the domain after @)"
    if problem:
        raise SignUpError(f"email: {_shown(value)} {problem}, e.g. name@example.com")
    return text.lower()


def _domain(domain: str) -> bool:
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_domain.split(".")
    return len(labels) >= 2 and all(_LABEL.fullmatch(label) for label in labels)


def webhook_url(value: str, *, allow_private: bool) -> str:
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (a port that is not a number raises here)
    except ValueError:
        parts = None
    if parts is None or not parts.hostname or len(text) > MAX_URL or any(c.isspace() for c in text):
        raise SignUpError(f"webhook: {_shown(value)} is not a URL, e.g. https://example.com/hook")
    if parts.scheme not in ("http", "https"):
        raise SignUpError(f"webhook: {_shown(value)} is not an http(s) URL")
    if not allow_private:
        host = parts.hostname
        if host in _LOCAL_HOSTS or host.endswith(".localhost") or _private_literal(host):
            raise SignUpError(
                f"webhook: {_shown(value)} points at a loopback or private address; this page "
                "delivers to public addresses only"
            )
    return text


def _private_literal(host: str) -> bool:
    try:
        return private_address(host)
    except ValueError:  # a name, not an address: judged again when it is resolved
        return False


def private_address(ip: str) -> bool:
    """Not a public unicast address: loopback, private, link-local, shared, multicast, ..."""
    address = ipaddress.ip_address(ip.split("%", 1)[0])  # an IPv6 zone id is not the address
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast
