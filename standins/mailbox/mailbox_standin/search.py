"""Mailpit's search syntax (https://mailpit.axllent.org/docs/usage/search-filters/), the subset
the stand-in supports: plain words and quoted phrases (all must match, case-insensitively, as
substrings of the addresses, subject and body), `subject:` `from:` `to:` `cc:` `bcc:`
`reply-to:` `addressed:` `message-id:` filters, `is:read` `is:unread` `has:attachment`
`is:tagged` `tag:` `before:` `after:`, and `-`/`!` to exclude a term.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mailbox_standin.parse import Address, clean

logger = logging.getLogger(__name__)

_HAS_WORD = re.compile(r"[a-zA-Z0-9]")
_DATE_FORMATS = ("%Y/%m/%d", "%Y-%m-%d", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")


class Searchable(Protocol):
    """What a stored message offers to the matcher (store.Record satisfies it)."""

    @property
    def subject(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def sender(self) -> Address: ...
    @property
    def to(self) -> list[Address]: ...
    @property
    def cc(self) -> list[Address]: ...
    @property
    def bcc(self) -> list[Address]: ...
    @property
    def reply_to(self) -> list[Address]: ...
    @property
    def read(self) -> bool: ...
    @property
    def attachments(self) -> int: ...
    @property
    def created(self) -> float: ...
    @property
    def search_text(self) -> str: ...


Predicate = Callable[[Searchable], bool]


@dataclass(frozen=True)
class Query:
    predicates: tuple[Predicate, ...]

    def matches(self, item: Searchable) -> bool:
        return all(predicate(item) for predicate in self.predicates)


def tokenize(query: str) -> list[str]:
    """Split on whitespace outside double quotes; the quotes themselves are dropped."""
    tokens: list[str] = []
    current: list[str] = []
    quoted = False
    for char in query:
        if char == '"':
            quoted = not quoted
        elif char.isspace() and not quoted:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        tokens.append("".join(current))
    return tokens


def _addresses_text(addresses: list[Address]) -> str:
    return clean(" ".join(f"{a.name} <{a.address}>" for a in addresses))


_ADDRESS_FIELDS: dict[str, Callable[[Searchable], list[Address]]] = {
    "from:": lambda m: [m.sender],
    "to:": lambda m: m.to,
    "cc:": lambda m: m.cc,
    "bcc:": lambda m: m.bcc,
    "reply-to:": lambda m: m.reply_to,
    "addressed:": lambda m: [m.sender, *m.to, *m.cc, *m.bcc, *m.reply_to],
}


def _parse_date(value: str) -> float | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).timestamp()  # local time, as Mailpit's default
        except ValueError:
            continue
    logger.warning("ignoring search date %r: use YYYY/MM/DD", value)
    return None


def _address_filter(field: Callable[[Searchable], list[Address]], needle: str) -> Predicate:
    return lambda m: needle in _addresses_text(field(m))


def _date_filter(*, after: bool, when: float | None) -> Predicate | None:
    if when is None:
        return None
    return (lambda m: m.created >= when) if after else (lambda m: m.created <= when)


def _negate(predicate: Predicate) -> Predicate:
    return lambda m: not predicate(m)


def _term(token: str) -> Predicate | None:
    lower = token.lower()
    for prefix, field in _ADDRESS_FIELDS.items():
        if lower.startswith(prefix):
            needle = clean(token[len(prefix) :])
            return _address_filter(field, needle) if needle else None
    if lower.startswith("subject:"):
        needle = token[len("subject:") :].lower()
        return (lambda m: needle in m.subject.lower()) if needle else None
    if lower.startswith("message-id:"):
        needle = clean(token[len("message-id:") :])
        return (lambda m: needle in m.message_id.lower()) if needle else None
    if lower.startswith("tag:") or lower == "is:tagged":
        return lambda m: False  # the stand-in never tags messages
    if lower == "is:read":
        return lambda m: m.read
    if lower == "is:unread":
        return lambda m: not m.read
    if lower in ("has:attachment", "has:attachments"):
        return lambda m: m.attachments > 0
    if lower.startswith(("after:", "before:")):
        keyword, _, value = token.partition(":")
        return _date_filter(after=keyword.lower() == "after", when=_parse_date(value.strip()))
    needle = clean(token)
    return (lambda m: needle in m.search_text) if needle else None


def parse_query(query: str) -> Query:
    predicates: list[Predicate] = []
    for token in tokenize(query):
        exclude = len(token) > 1 and token[0] in "-!"
        if exclude:
            token = token[1:]
        if not _HAS_WORD.search(token):
            continue  # as Mailpit: a term without a letter or digit is ignored
        predicate = _term(token)
        if predicate is None:
            continue
        predicates.append(_negate(predicate) if exclude else predicate)
    return Query(predicates=tuple(predicates))
